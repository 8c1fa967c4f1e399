"""How recorded events read to a person: on a record's timeline and in the audit trail.

An event's ``data["changes"]`` holds raw old/new values keyed by field name (see ``core.events``). This
module names each field as the reader knows it (the model field's verbose name, the custom field's
label) and writes each value as pages show it (choice labels, country names, phone numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clientela.core import events as core_events
from clientela.core.custom_fields import custom_field_display, record_type_of
from clientela.core.locale import country_name
from clientela.core.models import CustomFieldDefinition, Event
from clientela.core.phones import phone_display
from clientela.core.selectors import custom_field_definitions_for

# Keys that services record beside model fields (lists of child rows).
_LIST_LABELS = {
    "emails": gettext_lazy("Email addresses"),
    "phones": gettext_lazy("Phone numbers"),
    "organizations": gettext_lazy("Organizations"),
    "tags": gettext_lazy("Tags"),
    "teams": gettext_lazy("Teams"),
}


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class EventEntry:
    """One event as a page shows it."""

    event: Event
    kind_label: str
    changes: list[FieldChange] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def event_kind_choices() -> list[tuple[str, str]]:
    """(kind, "label (kind)") for every registered event kind, sorted by kind."""
    # core.events keeps the registry private; reading it here keeps the one place that does.
    kinds = list(core_events.event_kinds())
    return [(kind, f"{core_events.event_kind_label(kind)} ({kind})") for kind in kinds]


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        if "label" in value:
            return str(value["label"])
        return ", ".join(f"{key}: {_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return str(value)


def _organization_text(value: Any) -> str:
    if not isinstance(value, list):
        return _text(value)
    parts = []
    for item in value:
        if isinstance(item, dict) and item.get("role"):
            parts.append(
                _("%(organization)s (%(role)s)")
                % {"organization": item.get("label", ""), "role": item["role"]}
            )
        else:
            parts.append(_text(item))
    return ", ".join(parts)


def _phones_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(phone_display(str(item)) for item in value)
    return phone_display(str(value)) if value else ""


def _model_field_formatter(model_field: models.Field) -> Callable[[Any], str]:
    if model_field.choices:
        labels = {str(key): str(label) for key, label in model_field.flatchoices}
        return lambda value: labels.get(str(value), _text(value)) if value not in (None, "") else ""
    if model_field.name == "country":
        return lambda value: country_name(value) if value else ""
    if model_field.name == "phone":
        return lambda value: phone_display(value) if value else ""
    return _text


class _Describer:
    """Describes the changes of events, caching custom field definitions per record type."""

    def __init__(self) -> None:
        self._definitions: dict[str, dict[str, CustomFieldDefinition]] = {}

    def definitions(self, model: type[models.Model]) -> dict[str, CustomFieldDefinition]:
        record_type = record_type_of(model)
        if record_type not in self._definitions:
            self._definitions[record_type] = {
                definition.key: definition
                for definition in custom_field_definitions_for(record_type)
            }
        return self._definitions[record_type]

    def custom_field_changes(
        self, model: type[models.Model] | None, old: Any, new: Any
    ) -> list[FieldChange]:
        old = old if isinstance(old, dict) else {}
        new = new if isinstance(new, dict) else {}
        definitions = self.definitions(model) if model is not None else {}
        keys = [key for key in definitions if key in old or key in new]
        keys += sorted((set(old) | set(new)) - set(definitions))
        lines = []
        for key in keys:
            if old.get(key) == new.get(key):
                continue
            definition = definitions.get(key)
            if definition is None:
                lines.append(FieldChange(key, _text(old.get(key)), _text(new.get(key))))
            else:
                lines.append(
                    FieldChange(
                        definition.label,
                        custom_field_display(definition, old.get(key)),
                        custom_field_display(definition, new.get(key)),
                    )
                )
        return lines

    def changes(self, model: type[models.Model] | None, diff: Any) -> list[FieldChange]:
        if not isinstance(diff, dict):
            return []
        lines: list[FieldChange] = []
        for key, values in diff.items():
            values = values if isinstance(values, dict) else {}
            old, new = values.get("old"), values.get("new")
            if key == "custom_fields":
                lines.extend(self.custom_field_changes(model, old, new))
                continue
            model_field = None
            if model is not None:
                try:
                    model_field = model._meta.get_field(key)
                except FieldDoesNotExist:
                    model_field = None
            if isinstance(model_field, models.Field) and not model_field.many_to_many:
                label = str(capfirst(model_field.verbose_name))
                formatter = _model_field_formatter(model_field)
            else:
                label = str(capfirst(_LIST_LABELS.get(key, key)))
                formatter = {"phones": _phones_text, "organizations": _organization_text}.get(
                    key, _text
                )
            lines.append(FieldChange(label, formatter(old), formatter(new)))
        return lines


def event_entries(
    events: Iterable[Event], *, model: type[models.Model] | None = None
) -> list[EventEntry]:
    """``events`` as pages show them. ``model`` is the record's model when all events are about one
    record (a timeline); otherwise each event's record type is used (load it with select_related)."""
    describer = _Describer()
    entries = []
    for event in events:
        event_model = model or event.record_type.model_class()
        data = event.data if isinstance(event.data, dict) else {}
        tags = data.get("tags")
        entries.append(
            EventEntry(
                event=event,
                kind_label=core_events.event_kind_label(event.kind),
                changes=describer.changes(event_model, data.get("changes")),
                tags=[str(tag) for tag in tags] if isinstance(tags, list) else [],
            )
        )
    return entries
