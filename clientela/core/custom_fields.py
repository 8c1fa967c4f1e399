"""Custom fields: turning definitions into form fields, and checking values the same way everywhere.

Pages, the API and imports all validate custom field values with ``custom_fields_clean``, which runs
each value through the same Django form field the page shows, so a value the page would refuse is
refused by the API with the same message.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext as _

from clientela.core.models import CustomFieldDefinition, CustomFieldsModel, CustomFieldType


def record_type_of(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def custom_field_record_types() -> dict[str, str]:
    """Every record type that can carry custom fields: {"parties.contact": "contact", ...}."""
    return {
        record_type_of(model): str(model._meta.verbose_name)
        for model in apps.get_models()
        if issubclass(model, CustomFieldsModel)
    }


def custom_field_form_field(definition: CustomFieldDefinition) -> forms.Field:
    """The form field that edits, and validates, one custom field."""
    common: dict[str, Any] = {
        "label": definition.label,
        "required": definition.is_required,
        "help_text": definition.help_text,
    }
    choices = [(choice, choice) for choice in definition.choices]
    match definition.field_type:
        case CustomFieldType.NUMBER:
            return forms.DecimalField(
                min_value=_plain(definition.min_value),
                max_value=_plain(definition.max_value),
                **common,
            )
        case CustomFieldType.DATE:
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        case CustomFieldType.CHOICE:
            return forms.ChoiceField(choices=[("", "—"), *choices], **common)
        case CustomFieldType.MULTI_CHOICE:
            return forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        case CustomFieldType.BOOLEAN:
            # A required yes/no field must be answered, not ticked: "no" is an answer.
            return forms.NullBooleanField(
                widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
                **common,
            )
        case CustomFieldType.URL:
            return forms.URLField(max_length=definition.max_length or 500, **common)
        case _:
            return forms.CharField(max_length=definition.max_length or 500, **common)


def _plain(value: Decimal | None) -> Decimal | None:
    """A limit as people write it: 0 rather than 0.000000, 2.5 rather than 2.500000."""
    if value is None:
        return None
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _stored(value: Any) -> Any:
    """The JSON form a cleaned value is stored in."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def custom_fields_clean(
    definitions: Iterable[CustomFieldDefinition],
    values: dict[str, Any] | None,
    *,
    current: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validated custom field values, merged over ``current``.

    Keys that no definition names are refused. Raises ``ValidationError`` whose dict maps each
    offending key to its messages; nothing is stored unless every value is valid.
    """
    by_key = {definition.key: definition for definition in definitions}
    values = values or {}
    if not isinstance(values, dict):
        raise ValidationError(_("Custom fields must be an object of field keys and values."))
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(values) - set(by_key))
    for key in unknown:
        errors[key] = [_("There is no custom field with the key “%(key)s”.") % {"key": key}]
    result = {key: value for key, value in (current or {}).items() if key in by_key}
    for key, definition in by_key.items():
        if key not in values:
            if definition.is_required and _is_empty(result.get(key)):
                errors[key] = [_("This field is required.")]
            continue
        field = custom_field_form_field(definition)
        raw = values[key]
        if definition.field_type == CustomFieldType.BOOLEAN and isinstance(raw, bool):
            raw = "true" if raw else "false"
        try:
            cleaned = field.clean(raw)
        except ValidationError as error:
            errors[key] = list(error.messages)
            continue
        if _is_empty(cleaned):
            result.pop(key, None)
        else:
            result[key] = _stored(cleaned)
    if errors:
        raise ValidationError(errors)
    return result


def custom_field_display(definition: CustomFieldDefinition, value: Any) -> str:
    """A value as a person reads it."""
    if _is_empty(value):
        return ""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if definition.field_type == CustomFieldType.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)
