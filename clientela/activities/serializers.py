"""The JSON form of activities and tasks in the API. Serializers check shapes and types; the services
validate values and write."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clientela.activities.models import Activity, Task
from clientela.core.api import ScopedPrimaryKeyRelatedField, StrictModelSerializer
from clientela.core.selectors import visible_to
from clientela.identity.models import User
from clientela.identity.selectors import users_visible_to
from clientela.parties.models import Contact, Organization
from clientela.sales.models import Deal, Lead

_READ_ONLY = ["id", "owner", "version", "created_at", "updated_at"]


def _scoped(model: Any) -> Any:
    return lambda actor: visible_to(model.objects.all(), actor)


def _active_users(actor: Any) -> Any:
    return users_visible_to(actor).filter(is_active=True).prefetch_related(None)


def _records(model: Any, help_text: Any, **kwargs: Any) -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(
        selector=_scoped(model), queryset=model.objects.all(), help_text=help_text, **kwargs
    )


class ActivitySerializer(StrictModelSerializer):
    """A call, meeting, email or note, on the records it concerns."""

    url = serializers.HyperlinkedIdentityField(view_name="activity-detail")
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_(
            "HTML. Only p, br, strong, em, ul, ol, li, blockquote, code and a[href] are kept."
        ),
    )
    attendees = ScopedPrimaryKeyRelatedField(
        selector=_active_users,
        queryset=User.objects.all(),
        many=True,
        required=False,
        help_text=_("Ids of the users at a meeting."),
    )
    contacts = _records(Contact, _("Ids of the contacts it concerns."), many=True, required=False)
    organizations = _records(
        Organization, _("Ids of the organizations it concerns."), many=True, required=False
    )
    deals = _records(Deal, _("Ids of the deals it concerns."), many=True, required=False)
    leads = _records(Lead, _("Ids of the leads it concerns."), many=True, required=False)

    class Meta:
        model = Activity
        fields = [
            "id",
            "url",
            "kind",
            "subject",
            "body",
            "occurred_at",
            "ends_at",
            "direction",
            "duration_seconds",
            "call_outcome",
            "location",
            "attendees",
            "contacts",
            "organizations",
            "deals",
            "leads",
            "owner",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = _READ_ONLY
        extra_kwargs = {
            "kind": {"required": True},
            "occurred_at": {"required": False, "help_text": _("Default: now.")},
        }


class ActivityUpdateSerializer(ActivitySerializer):
    kind = serializers.CharField(read_only=True)


class TaskSerializer(StrictModelSerializer):
    """Something to do by a time, for its assignee (``owner``), perhaps about one record."""

    url = serializers.HyperlinkedIdentityField(view_name="task-detail")
    owner = ScopedPrimaryKeyRelatedField(
        selector=_active_users,
        queryset=User.objects.all(),
        required=False,
        help_text=_("The assignee's id. Default: the caller."),
    )
    contact = _records(Contact, _("The contact it is about."), required=False, allow_null=True)
    organization = _records(
        Organization, _("The organization it is about."), required=False, allow_null=True
    )
    deal = _records(Deal, _("The deal it is about."), required=False, allow_null=True)
    lead = _records(Lead, _("The lead it is about."), required=False, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "url",
            "title",
            "description",
            "due_at",
            "remind_at",
            "reminded_at",
            "priority",
            "status",
            "completed_at",
            "owner",
            "contact",
            "organization",
            "deal",
            "lead",
            "created_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "reminded_at",
            "status",
            "completed_at",
            "created_by",
            "version",
            "created_at",
            "updated_at",
        ]
