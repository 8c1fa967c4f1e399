"""The one event log: recording events, and what each kind is called.

Each domain declares its event kinds as ``TextChoices`` in its own ``events.py`` and registers them in
its ``AppConfig.ready``; ``event_kind_label`` then names any kind in the reader's language.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from clientela.core.models import Event

_KIND_LABELS: dict[str, Any] = {}


class CoreEvent(models.TextChoices):
    TAG_CREATED = "tag.created", _("Tag created")
    TAG_DELETED = "tag.deleted", _("Tag deleted")
    CUSTOM_FIELD_CREATED = "custom_field.created", _("Custom field created")
    CUSTOM_FIELD_CHANGED = "custom_field.changed", _("Custom field changed")
    CUSTOM_FIELD_DELETED = "custom_field.deleted", _("Custom field deleted")


def register_event_kinds(*choices: type[models.TextChoices]) -> None:
    for choice_class in choices:
        for value, label in choice_class.choices:
            _KIND_LABELS[value] = label


def event_kinds() -> dict[str, str]:
    """Every registered event kind and its label in the current language, sorted by kind."""
    return {kind: str(label) for kind, label in sorted(_KIND_LABELS.items())}


def event_kind_label(kind: str) -> str:
    return str(_KIND_LABELS.get(kind, kind))


def json_value(value: Any) -> Any:
    """A JSON-safe form of a field value, for an event's old/new data."""
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of ``fields`` (foreign keys as {id, label}), ready for ``changes``."""
    return {name: json_value(getattr(instance, name)) for name in fields}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"old": ..., "new": ...}} for every field whose value differs."""
    return {
        name: {"old": before.get(name), "new": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def event_record(
    *,
    actor: Any,
    record: models.Model,
    kind: str,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event to ``record``'s history. Called by services inside their transaction."""
    payload = {"label": str(record), **(data or {})}
    return Event.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        record_type=ContentType.objects.get_for_model(record, for_concrete_model=False),
        record_id=record.pk,
        kind=kind,
        data=payload,
    )


def events_bulk_record(
    *, actor: Any, records: Iterable[models.Model], kind: str, data: dict[str, Any] | None = None
) -> int:
    """The same event for many records at once, in one INSERT (bulk paths: demo, imports)."""
    rows = [
        Event(
            actor=actor if getattr(actor, "pk", None) else None,
            record_type=ContentType.objects.get_for_model(record, for_concrete_model=False),
            record_id=record.pk,
            kind=kind,
            data={"label": str(record), **(data or {})},
        )
        for record in records
    ]
    Event.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
