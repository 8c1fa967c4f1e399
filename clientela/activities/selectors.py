"""Reads of activities, tasks, My day, the calendar and notifications, scoped to the person asking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clientela.activities.choices import ActivityKind, TaskStatus
from clientela.activities.models import Activity, CalendarFeed, Task
from clientela.core.permissions import Perm, has_perm
from clientela.core.selectors import visible_to

# How many activities a record's timeline shows at first.
RECORD_ACTIVITIES_SHOWN = 50
# My day: how many days ahead "upcoming" looks, and at most how many rows each part shows.
UPCOMING_DAYS = 7
MY_DAY_LIMIT = 200


def activities_visible_to(actor: Any) -> QuerySet[Activity]:
    """Activities ``actor`` may see, with their author and related ids loaded for lists and the API."""
    if not has_perm(actor, Perm.ACTIVITIES_VIEW):
        return Activity.objects.none()
    return (
        visible_to(Activity.objects.all(), actor)
        .select_related("owner")
        .prefetch_related("attendees", "contacts", "organizations", "deals", "leads")
    )


def activity_get(actor: Any, pk: Any) -> Activity:
    return get_object_or_404(activities_visible_to(actor), pk=pk)


def activities_for(actor: Any, record: Any, limit: int = RECORD_ACTIVITIES_SHOWN) -> list[Activity]:
    """The latest activities on ``record`` (a contact, organization, deal or lead ``actor`` can see),
    newest first; a fixed number of queries whatever their number."""
    if not has_perm(actor, Perm.ACTIVITIES_VIEW):
        return []
    queryset = visible_to(record.activities.all(), actor).select_related("owner")
    return list(queryset.prefetch_related("attendees").order_by("-occurred_at", "-id")[:limit])


def tasks_visible_to(actor: Any) -> QuerySet[Task]:
    """Tasks ``actor`` may see, with their assignee and the record they are about."""
    if not has_perm(actor, Perm.ACTIVITIES_VIEW):
        return Task.objects.none()
    return visible_to(Task.objects.all(), actor).select_related(
        "owner", "contact", "organization", "deal", "lead"
    )


def task_get(actor: Any, pk: Any) -> Task:
    return get_object_or_404(tasks_visible_to(actor), pk=pk)


def tasks_for(actor: Any, record: Any, limit: int = RECORD_ACTIVITIES_SHOWN) -> list[Task]:
    """Open tasks about ``record``, soonest due first."""
    if not has_perm(actor, Perm.ACTIVITIES_VIEW):
        return []
    queryset = visible_to(record.tasks.filter(status=TaskStatus.OPEN), actor)
    return list(queryset.select_related("owner")[:limit])


def _local_midnight(day: dt.date) -> dt.datetime:
    zone = timezone.get_current_timezone()
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


@dataclass
class MyDay:
    """A person's open tasks by when they are due, in their own time zone, and their deals that
    need a next step."""

    today: dt.date
    overdue: list[Task] = field(default_factory=list)
    due_today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    deals: list[Any] = field(default_factory=list)


def my_day(actor: Any, now: dt.datetime | None = None) -> MyDay:
    """``actor``'s day in the current time zone (the middleware sets the person's own): two queries."""
    from clientela.sales.choices import DealStatus
    from clientela.sales.models import Deal

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    start = _local_midnight(today)
    tomorrow = _local_midnight(today + dt.timedelta(days=1))
    horizon = _local_midnight(today + dt.timedelta(days=UPCOMING_DAYS + 1))
    result = MyDay(today=today)
    if not has_perm(actor, Perm.ACTIVITIES_VIEW):
        return result
    tasks = (
        Task.objects.filter(owner=actor, status=TaskStatus.OPEN, due_at__lt=horizon)
        .select_related("contact", "organization", "deal", "lead")
        .order_by("due_at", "id")[:MY_DAY_LIMIT]
    )
    for task in tasks:
        if task.due_at is None:  # excluded by the filter; for the type checker
            continue
        if task.due_at < start:
            result.overdue.append(task)
        elif task.due_at < tomorrow:
            result.due_today.append(task)
        else:
            result.upcoming.append(task)
    if has_perm(actor, Perm.SALES_VIEW):
        result.deals = list(
            Deal.objects.filter(owner=actor, status=DealStatus.OPEN)
            .filter(Q(next_step="") | Q(next_step_date__lt=today))
            .select_related("stage", "organization")
            .order_by("next_step_date", "-created_at", "-id")[:MY_DAY_LIMIT]
        )
    return result


@dataclass(frozen=True)
class CalendarItem:
    """A meeting or a task on a day of the calendar."""

    kind: str  # "meeting" or "task"
    start: dt.datetime
    title: str
    record: Any


def calendar_meetings_of(user: Any) -> QuerySet[Activity]:
    """Meetings ``user`` owns or attends."""
    attends = Activity.attendees.through.objects.filter(user=user).values("activity_id")
    return Activity.objects.filter(kind=ActivityKind.MEETING).filter(
        Q(owner=user) | Q(pk__in=attends)
    )


def calendar_tasks_of(user: Any) -> QuerySet[Task]:
    """Tasks ``user`` is assigned that have a due time."""
    return Task.objects.filter(owner=user, due_at__isnull=False)


def calendar_items(
    user: Any, start: dt.datetime, end: dt.datetime
) -> dict[dt.date, list[CalendarItem]]:
    """``user``'s meetings and tasks from ``start`` until ``end``, by day in the current time zone."""
    days: dict[dt.date, list[CalendarItem]] = {}
    meetings = calendar_meetings_of(user).filter(occurred_at__gte=start, occurred_at__lt=end)
    for meeting in meetings.order_by("occurred_at", "id"):
        local = timezone.localtime(meeting.occurred_at)
        days.setdefault(local.date(), []).append(
            CalendarItem("meeting", local, str(meeting), meeting)
        )
    tasks = calendar_tasks_of(user).filter(due_at__gte=start, due_at__lt=end)
    for task in tasks.order_by("due_at", "id"):
        if task.due_at is None:  # excluded by the filter; for the type checker
            continue
        local = timezone.localtime(task.due_at)
        days.setdefault(local.date(), []).append(CalendarItem("task", local, task.title, task))
    for items in days.values():
        items.sort(key=lambda item: item.start)
    return days


def calendar_feed_of(user: Any) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def notifications_unread_count(user: Any, limit: int = 99) -> int:
    """How many unread notifications ``user`` has, counting at most ``limit`` + 1 ("99+")."""
    from clientela.core.selectors import notifications_of

    if not getattr(user, "is_authenticated", False):
        return 0
    return notifications_of(user).filter(read_at__isnull=True).order_by()[: limit + 1].count()


# The kinds of record activities and tasks concern, by the name forms and URLs use.
RECORD_TYPES = ("contact", "organization", "deal", "lead")


def _record_models() -> dict[str, Any]:
    from clientela.parties.models import Contact, Organization
    from clientela.sales.models import Deal, Lead

    return {"contact": Contact, "organization": Organization, "deal": Deal, "lead": Lead}


def record_type_name(record: Any) -> str:
    """ "contact", "organization", "deal" or "lead" for ``record``."""
    for name, model in _record_models().items():
        if isinstance(record, model):
            return name
    raise ValueError(f"Activities do not concern {type(record).__name__} records")


def record_get(actor: Any, record_type: str, pk: Any) -> Any:
    """One record of ``record_type`` that ``actor`` may see, or Http404."""
    from django.http import Http404

    model = _record_models().get(record_type)
    if model is None or not str(pk or "").isdigit():
        raise Http404
    return get_object_or_404(visible_to(model.objects.all(), actor), pk=pk)
