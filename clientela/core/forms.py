"""Forms of the shared pages: custom field definitions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from clientela.core.custom_fields import custom_field_record_types
from clientela.core.models import CustomFieldDefinition, CustomFieldType

# What can change once a field exists: its key, record type and type stay (stored values use them).
_CHANGEABLE = (
    "label",
    "choices",
    "is_required",
    "min_value",
    "max_value",
    "max_length",
    "help_text",
    "position",
)


class CustomFieldDefinitionForm(forms.Form):
    record_type = forms.ChoiceField(label=_("Record type"))
    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_(
            "Lowercase letters, digits, hyphens and underscores. Used in the API, imports and exports."
        ),
    )
    label = forms.CharField(label=_("Label"), max_length=100)
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For choice fields: one choice per line."),
    )
    is_required = forms.BooleanField(label=_("Required"), required=False)
    min_value = forms.DecimalField(
        label=_("Minimum"),
        required=False,
        max_digits=20,
        decimal_places=6,
        help_text=_("For numbers."),
    )
    max_value = forms.DecimalField(
        label=_("Maximum"),
        required=False,
        max_digits=20,
        decimal_places=6,
        help_text=_("For numbers."),
    )
    max_length = forms.IntegerField(
        label=_("Maximum length"), required=False, min_value=1, help_text=_("For text and URLs.")
    )
    help_text = forms.CharField(label=_("Help text"), max_length=200, required=False)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        initial=0,
        help_text=_("Fields are shown from the lowest position up."),
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        definition: CustomFieldDefinition | None = None,
        **kwargs: Any,
    ) -> None:
        self.definition = definition
        if definition is not None:
            kwargs.setdefault(
                "initial",
                {
                    **{name: getattr(definition, name) for name in _CHANGEABLE},
                    "choices": "\n".join(definition.choices or []),
                },
            )
        super().__init__(data, **kwargs)
        self.fields["record_type"].choices = [
            (record_type, capfirst(label))
            for record_type, label in custom_field_record_types().items()
        ]
        if definition is not None:
            for name in ("record_type", "key", "field_type"):
                del self.fields[name]

    def clean_choices(self) -> list[str]:
        return [
            line.strip()
            for line in self.cleaned_data.get("choices", "").splitlines()
            if line.strip()
        ]

    def service_values(self) -> dict[str, Any]:
        """Keyword arguments for custom_field_definition_create / _update (after ``is_valid``)."""
        return dict(self.cleaned_data)

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)
