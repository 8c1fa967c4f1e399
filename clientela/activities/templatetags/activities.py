"""Template tags that load what the activity snippets need, so that any record page can include them
without its view knowing about activities: a record's activities and log form, the notification bell."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from clientela.activities.choices import ActivityKind
from clientela.activities.forms import ActivityForm
from clientela.activities.selectors import (
    activities_for,
    notifications_unread_count,
    record_type_name,
    tasks_for,
)
from clientela.core.permissions import Perm, Role, has_perm

register = template.Library()


def record_url(record: Any) -> str:
    """The detail page of a contact, organization, deal or lead ("" while a page does not exist)."""
    name = record_type_name(record)
    app = "parties" if name in ("contact", "organization") else "sales"
    try:
        return reverse(f"{app}:{name}_detail", args=[record.pk])
    except NoReverseMatch:
        return ""


@register.inclusion_tag("activities/_record_activities_block.html", takes_context=True)
def record_activities(context: template.Context, record: Any) -> dict[str, Any]:
    """The activities on ``record`` (newest first), its open tasks, and the "Log activity" form."""
    request = context.get("request")
    user = getattr(request, "user", None)
    record_type = record_type_name(record)
    form = context.get("activity_form")
    if form is None and has_perm(user, Perm.ACTIVITIES_ADD):
        kind = request.GET.get("kind", ActivityKind.NOTE) if request is not None else "note"
        form = ActivityForm(
            actor=user,
            kind=kind,
            initial={"record_type": record_type, "record_id": record.pk},
        )
    activities = activities_for(user, record)
    # The activities are visible already (activities_for): no query per row to ask again.
    may_change_any = has_perm(user, Perm.ACTIVITIES_ADD) and getattr(user, "role", None) in (
        Role.MANAGER,
        Role.ADMINISTRATOR,
    )
    may_change_own = has_perm(user, Perm.ACTIVITIES_ADD)
    user_id = getattr(user, "pk", None)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "record": record,
        "record_type": record_type,
        # Where edit and delete return to (the record's page, also after an htmx post elsewhere).
        "back": record_url(record) or (request.get_full_path() if request is not None else ""),
        "activities": [
            (activity, may_change_any or (may_change_own and activity.owner_id == user_id))
            for activity in activities
        ],
        "tasks": tasks_for(user, record),
        "form": form,
        "kinds": ActivityKind.choices,
    }


@register.simple_tag(takes_context=True)
def notifications_unread(context: template.Context) -> int:
    request = context.get("request")
    return notifications_unread_count(getattr(request, "user", None))


@register.filter
def duration(seconds: int | None) -> str:
    """A call's length as m:ss or h:mm:ss."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
