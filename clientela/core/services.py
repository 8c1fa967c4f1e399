"""Writes that every domain shares: tags and custom field definitions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clientela.core.custom_fields import custom_field_record_types
from clientela.core.events import CoreEvent, changes, event_record, snapshot
from clientela.core.models import CustomFieldDefinition, CustomFieldType, Tag
from clientela.core.permissions import Perm, has_perm, require_perm


def tag_get_or_create(*, name: str, actor: Any) -> Tag:
    """The tag called ``name`` (any case), created when it does not exist yet."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("A tag needs a name.")})
    if len(name) > 60:
        raise ValidationError({"name": _("A tag name has at most 60 characters.")})
    existing = Tag.objects.filter(name__iexact=name).first()
    if existing:
        return existing
    if not any(
        has_perm(actor, perm) for perm in (Perm.PARTIES_ADD, Perm.PARTIES_CHANGE, Perm.TAGS_MANAGE)
    ):
        raise PermissionDenied(_("Your role does not allow creating tags."))
    with transaction.atomic():
        tag = Tag.objects.create(name=name)
        event_record(actor=actor, record=tag, kind=CoreEvent.TAG_CREATED)
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, actor: Any) -> None:
    require_perm(actor, Perm.TAGS_MANAGE)
    event_record(actor=actor, record=tag, kind=CoreEvent.TAG_DELETED)
    tag.delete()


_DEFINITION_FIELDS = (
    "label",
    "field_type",
    "choices",
    "is_required",
    "min_value",
    "max_value",
    "max_length",
    "help_text",
    "position",
)


def _definition_validate(definition: CustomFieldDefinition) -> None:
    errors: dict[str, str] = {}
    if definition.record_type not in custom_field_record_types():
        errors["record_type"] = _("Custom fields cannot be added to this record type.")
    needs_choices = definition.field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE)
    cleaned_choices = [
        str(choice).strip() for choice in definition.choices or [] if str(choice).strip()
    ]
    if needs_choices and not cleaned_choices:
        errors["choices"] = _("A choice field needs at least one choice.")
    if len(set(cleaned_choices)) != len(cleaned_choices):
        errors["choices"] = _("Each choice may appear only once.")
    definition.choices = cleaned_choices if needs_choices else []
    if (
        definition.min_value is not None
        and definition.max_value is not None
        and definition.min_value > definition.max_value
    ):
        errors["max_value"] = _("The maximum must not be below the minimum.")
    if errors:
        raise ValidationError(errors)
    definition.full_clean(exclude=["choices"], validate_unique=False, validate_constraints=False)
    clash = CustomFieldDefinition.objects.filter(
        record_type=definition.record_type, key=definition.key
    ).exclude(pk=definition.pk)
    if clash.exists():
        raise ValidationError({"key": _("This record type already has a field with this key.")})


@transaction.atomic
def custom_field_definition_create(
    *, actor: Any, record_type: str, key: str, label: str, field_type: str, **options: Any
) -> CustomFieldDefinition:
    require_perm(actor, Perm.CUSTOM_FIELDS_MANAGE)
    definition = CustomFieldDefinition(
        record_type=record_type, key=key, label=label, field_type=field_type
    )
    for name, value in options.items():
        if name not in _DEFINITION_FIELDS:
            raise TypeError(name)
        setattr(definition, name, value)
    _definition_validate(definition)
    definition.save()
    event_record(actor=actor, record=definition, kind=CoreEvent.CUSTOM_FIELD_CREATED)
    return definition


@transaction.atomic
def custom_field_definition_update(
    *, actor: Any, definition: CustomFieldDefinition, **values: Any
) -> CustomFieldDefinition:
    """Change a definition; its key, record type and type stay as they were (stored values use them)."""
    require_perm(actor, Perm.CUSTOM_FIELDS_MANAGE)
    before = snapshot(definition, _DEFINITION_FIELDS)
    for name, value in values.items():
        if name not in _DEFINITION_FIELDS or name == "field_type":
            raise TypeError(name)
        setattr(definition, name, value)
    _definition_validate(definition)
    definition.save()
    diff = changes(before, snapshot(definition, _DEFINITION_FIELDS))
    if diff:
        event_record(
            actor=actor,
            record=definition,
            kind=CoreEvent.CUSTOM_FIELD_CHANGED,
            data={"changes": diff},
        )
    return definition


@transaction.atomic
def custom_field_definition_delete(*, actor: Any, definition: CustomFieldDefinition) -> None:
    """Delete a definition. Stored values stay in the records' JSON but are no longer shown."""
    require_perm(actor, Perm.CUSTOM_FIELDS_MANAGE)
    event_record(actor=actor, record=definition, kind=CoreEvent.CUSTOM_FIELD_DELETED)
    definition.delete()


# -- notifications (issue 4) ---------------------------------------------------------------------


def notification_send(*, user: Any, kind: str, title: str, body: str = "", url: str = "") -> Any:
    """Leave ``user`` a message in Clientela (the bell in the header). ``kind`` is the event kind it
    is about ("lead.assigned", "task.reminded"); ``title`` is already in the user's language."""
    from clientela.core.models import Notification

    return Notification.objects.create(
        user=user, kind=kind, title=title[:200], body=body, url=url[:500]
    )


def notifications_mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    """Mark ``user``'s notifications read (only ``ids`` when given); returns how many changed."""
    from django.utils import timezone

    from clientela.core.models import Notification

    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
