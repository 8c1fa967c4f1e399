"""A person's private iCalendar feed (RFC 5545): their meetings and their tasks with a due time.

Every item has a UID that stays the same for as long as the item exists, so a calendar client updates
it in place; times are written in UTC. Tasks are events at their due time (rather than VTODOs, which
the common calendar clients do not show), marked with the TASK category.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

import clientela
from clientela.activities.choices import TaskPriority, TaskStatus
from clientela.activities.selectors import calendar_meetings_of, calendar_tasks_of

# How far back the feed reaches; everything ahead is in it.
FEED_PAST_DAYS = 365
_PRIORITIES: dict[str, int] = {TaskPriority.HIGH: 1, TaskPriority.NORMAL: 5, TaskPriority.LOW: 9}


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def _uid(kind: str, pk: int) -> str:
    host = settings.CLIENTELA_BASE_URL.split("//")[-1].split("/")[0].split(":")[0] or "clientela"
    return f"{kind}-{pk}@{host}"


def _plain(body: str) -> str:
    return html.unescape(strip_tags(body.replace("<br>", "\n").replace("</p>", "\n\n"))).strip()


def calendar_feed_render(user: Any, *, now: dt.datetime | None = None) -> bytes:
    """The feed of ``user`` as iCalendar text, in their language."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=FEED_PAST_DAYS)
    calendar = Calendar()
    calendar.add("prodid", f"-//Clientela//Clientela {clientela.__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    with translation.override(user.language or settings.LANGUAGE_CODE):
        calendar.add("x-wr-calname", _("Clientela: %(name)s") % {"name": user})
        meetings = calendar_meetings_of(user).filter(occurred_at__gte=since)
        for meeting in meetings.order_by("occurred_at", "id"):
            event = Event()
            event.add("uid", _uid("activity", meeting.pk))
            event.add("dtstamp", _utc(meeting.updated_at))
            event.add("dtstart", _utc(meeting.occurred_at))
            if meeting.ends_at is not None:
                event.add("dtend", _utc(meeting.ends_at))
            event.add("summary", meeting.subject or _("Meeting"))
            if meeting.location:
                event.add("location", meeting.location)
            if meeting.body:
                event.add("description", _plain(meeting.body))
            event.add("sequence", meeting.version - 1)
            calendar.add_component(event)
        tasks = calendar_tasks_of(user).filter(due_at__gte=since)
        for task in tasks.order_by("due_at", "id"):
            if task.due_at is None:  # calendar_tasks_of has due times only; for the type checker
                continue
            event = Event()
            event.add("uid", _uid("task", task.pk))
            event.add("dtstamp", _utc(task.updated_at))
            event.add("dtstart", _utc(task.due_at))
            done = task.status == TaskStatus.DONE
            event.add(
                "summary",
                (_("Done: %(title)s") if done else _("Task: %(title)s")) % {"title": task.title},
            )
            if task.description:
                event.add("description", task.description)
            event.add("categories", ["TASK"])
            event.add("priority", _PRIORITIES.get(task.priority, 5))
            event.add("transp", "TRANSPARENT")
            event.add("sequence", task.version - 1)
            calendar.add_component(event)
    return calendar.to_ical()
