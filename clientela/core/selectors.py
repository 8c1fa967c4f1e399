"""Reads that every domain shares: the visibility scope of owned records, timelines, the audit trail."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from clientela.core.models import CustomFieldDefinition, Event, Tag
from clientela.core.permissions import Perm, Scope, has_perm, scope_of

M = TypeVar("M", bound=models.Model)


def _team_ids_of(user: Any) -> QuerySet[Any]:
    from clientela.identity.models import Team

    return Team.objects.filter(members=user).values("id")


def scope_filter(user: Any, through: str = "") -> Q | None:
    """The condition an owned record meets when ``user`` may see it; None means nothing is visible.

    ``through`` names a relation to apply it across ("organization__": the affiliation's organization),
    so that a related record's visibility is a condition on the join rather than an IN over every
    visible id.
    """
    scope = scope_of(user)
    if scope is None:
        return None
    if scope == Scope.ALL:
        return Q()
    owner = Q(**{f"{through}owner": user})
    if scope == Scope.TEAMS:
        return owner | Q(**{f"{through}team__in": _team_ids_of(user)})
    return owner | Q(
        **{f"{through}team__in": _team_ids_of(user), f"{through}is_shared_with_team": True}
    )


def visible_to[M: models.Model](queryset: QuerySet[M], user: Any) -> QuerySet[M]:
    """``queryset`` narrowed to the owned records ``user`` may see (none for anonymous or inactive)."""
    condition = scope_filter(user)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition) if condition else queryset


def is_visible_to(record: Any, user: Any) -> bool:
    """The same rule as ``visible_to``, for one loaded record (no query for ALL and OWN scopes)."""
    scope = scope_of(user)
    if scope is None:
        return False
    if scope == Scope.ALL or record.owner_id == user.pk:
        return True
    if record.team_id is None:
        return False
    if scope == Scope.OWN_AND_SHARED and not record.is_shared_with_team:
        return False
    return user.teams.filter(pk=record.team_id).exists()


def is_editable_by(record: Any, user: Any, change_perm: Perm) -> bool:
    return has_perm(user, change_perm) and is_visible_to(record, user)


def events_of(record: models.Model) -> QuerySet[Event]:
    """A record's timeline, newest first, with the actor loaded."""
    return Event.objects.filter(
        record_type=ContentType.objects.get_for_model(record, for_concrete_model=False),
        record_id=record.pk,
    ).select_related("actor")


def events_visible_to(user: Any) -> QuerySet[Event]:
    """The audit trail: every event, for those whose role may read it; nothing for others."""
    if not has_perm(user, Perm.AUDIT_VIEW):
        return Event.objects.none()
    return Event.objects.select_related("actor", "record_type")


def tags_all() -> QuerySet[Tag]:
    return Tag.objects.all()


def custom_field_definitions_for(record_type: str) -> list[CustomFieldDefinition]:
    """The custom fields defined for ``record_type`` (``"parties.contact"``), in display order."""
    return list(CustomFieldDefinition.objects.filter(record_type=record_type))


def custom_field_definition_get(pk: Any) -> CustomFieldDefinition:
    """One custom field definition, or Http404. Callers check CUSTOM_FIELDS_MANAGE first."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(CustomFieldDefinition, pk=pk)


def custom_field_definitions_visible_to(actor: Any) -> QuerySet[CustomFieldDefinition]:
    """Every custom field definition, for anyone logged in (forms, imports and API clients need them)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return CustomFieldDefinition.objects.none()
    return CustomFieldDefinition.objects.all()


def notifications_of(user: Any) -> QuerySet[Any]:
    """``user``'s own notifications, newest first (nobody sees anyone else's)."""
    from clientela.core.models import Notification

    return Notification.objects.filter(user=user).order_by("-created_at", "-id")
