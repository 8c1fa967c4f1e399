"""Writes on activities, tasks, reminders and calendar feeds.

Every function checks the actor's role and what they may see, validates everything before writing
anything, writes in one transaction and records an event. Pages, the API, the CLI and the background
jobs all come through here.
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clientela.activities.choices import (
    ActivityKind,
    CallOutcome,
    Direction,
    TaskPriority,
    TaskStatus,
)
from clientela.activities.events import ActivityEvent, TaskEvent
from clientela.activities.models import Activity, CalendarFeed, Task
from clientela.core.events import changes, event_record, snapshot
from clientela.core.exceptions import ConflictError
from clientela.core.permissions import Perm, Role, Scope, has_perm, require_perm, scope_of
from clientela.core.selectors import is_visible_to, visible_to
from clientela.core.services import notification_send

# The tags of simple rich text that a note keeps; everything else is removed (its text stays).
BODY_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code"})
BODY_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# Which fields each kind of activity uses; the others are cleared.
_KIND_FIELDS: dict[str, frozenset[str]] = {
    ActivityKind.CALL: frozenset({"direction", "duration_seconds", "call_outcome"}),
    ActivityKind.MEETING: frozenset({"ends_at", "location", "attendees"}),
    ActivityKind.EMAIL: frozenset({"direction"}),
    ActivityKind.NOTE: frozenset(),
}
_EMPTY: dict[str, Any] = {
    "direction": "",
    "duration_seconds": None,
    "call_outcome": "",
    "ends_at": None,
    "location": "",
}
ACTIVITY_TRACKED = (
    "kind",
    "subject",
    "body",
    "occurred_at",
    "ends_at",
    "direction",
    "duration_seconds",
    "call_outcome",
    "location",
)
RELATIONS = ("contacts", "organizations", "deals", "leads")
TASK_FIELDS = ("title", "description", "due_at", "remind_at", "priority")
TASK_RECORDS = ("contact", "organization", "deal", "lead")


def body_sanitize(html: str) -> str:
    """``html`` reduced to simple rich text: paragraphs, emphasis, lists, quotes, code and links
    (which open without telling the target where they came from)."""
    return nh3.clean(
        html or "",
        tags=set(BODY_TAGS),
        attributes={"a": {"href"}},
        link_rel="noopener noreferrer",
        url_schemes=set(BODY_URL_SCHEMES),
    ).strip()


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _check_version(record: Any, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != record.version:
        raise ConflictError(current_version=record.version)


def _is_manager(actor: Any) -> bool:
    return getattr(actor, "role", None) in (Role.MANAGER, Role.ADMINISTRATOR)


def related_querysets(actor: Any) -> dict[str, models.QuerySet[Any]]:
    """The records an activity or a task may concern, as ``actor`` sees them."""
    from clientela.parties.models import Contact, Organization
    from clientela.sales.models import Deal, Lead

    return {
        "contacts": visible_to(Contact.objects.all(), actor),
        "organizations": visible_to(Organization.objects.all(), actor),
        "deals": visible_to(Deal.objects.all(), actor),
        "leads": visible_to(Lead.objects.all(), actor),
    }


def _pk(item: Any) -> Any:
    return item.pk if isinstance(item, models.Model) else item


def _visible_records(
    queryset: models.QuerySet[Any],
    items: Iterable[Any] | None,
    field: str,
    errors: dict[str, list[str]],
) -> list[Any]:
    """The records ``items`` (instances or ids) names, each one visible to the actor, else an error."""
    wanted = []
    for item in items or ():
        try:
            wanted.append(int(_pk(item)))
        except (TypeError, ValueError):
            errors.setdefault(field, []).append(_("Choose records you can see."))
            return []
    if not wanted:
        return []
    found = {record.pk: record for record in queryset.filter(pk__in=set(wanted))}
    if len(found) != len(set(wanted)):
        errors.setdefault(field, []).append(_("Choose records you can see."))
        return []
    return [found[pk] for pk in dict.fromkeys(wanted)]


def _attendees(actor: Any, items: Iterable[Any] | None, errors: dict[str, list[str]]) -> list[Any]:
    from clientela.identity.selectors import users_visible_to

    users = users_visible_to(actor).filter(is_active=True).prefetch_related(None)
    return _visible_records(users, items, "attendees", errors)


# -- activities --------------------------------------------------------------------------------


def _activity_validate(activity: Activity, errors: dict[str, list[str]]) -> None:
    kind = activity.kind
    if kind not in ActivityKind.values:
        errors.setdefault("kind", []).append(_("Choose a call, a meeting, an email or a note."))
        return
    for name, empty in _EMPTY.items():
        if name not in _KIND_FIELDS[kind]:
            setattr(activity, name, empty)
    activity.subject = (activity.subject or "").strip()
    activity.location = (activity.location or "").strip()
    activity.body = body_sanitize(activity.body)
    if len(activity.subject) > 200:
        errors.setdefault("subject", []).append(_("A subject has at most 200 characters."))
    if activity.occurred_at is None:
        errors.setdefault("occurred_at", []).append(_("Say when it happened."))
    if kind in (ActivityKind.CALL, ActivityKind.EMAIL) and (
        activity.direction not in Direction.values
    ):
        errors.setdefault("direction", []).append(_("Say whether it was inbound or outbound."))
    if kind == ActivityKind.CALL:
        duration = activity.duration_seconds
        if duration is None or isinstance(duration, bool) or int(duration) < 0:
            errors.setdefault("duration_seconds", []).append(_("Say how long the call took."))
        if activity.call_outcome not in CallOutcome.values:
            errors.setdefault("call_outcome", []).append(_("Say how the call ended."))
    if kind == ActivityKind.MEETING:
        if activity.ends_at is None:
            errors.setdefault("ends_at", []).append(_("Say when the meeting ends."))
        elif activity.occurred_at is not None and activity.ends_at <= activity.occurred_at:
            errors.setdefault("ends_at", []).append(_("A meeting ends after it starts."))
        if len(activity.location) > 200:
            errors.setdefault("location", []).append(_("A place has at most 200 characters."))
    if kind == ActivityKind.NOTE and not activity.body:
        errors.setdefault("body", []).append(_("A note needs some text."))


def _leads_first_activity(leads: Iterable[Any], moment: datetime) -> None:
    """Lead response time: a lead's first activity is the earliest one logged on it (not in the future)."""
    from clientela.sales.models import Lead

    ids = [lead.pk for lead in leads]
    if ids:
        Lead.objects.filter(pk__in=ids).filter(
            Q(first_activity_at__isnull=True) | Q(first_activity_at__gt=moment)
        ).update(first_activity_at=moment)


def _relations_resolve(
    actor: Any, values: Mapping[str, Any], errors: dict[str, list[str]]
) -> dict[str, list[Any]]:
    querysets = related_querysets(actor)
    return {
        name: _visible_records(querysets[name], values[name], name, errors)
        for name in RELATIONS
        if values.get(name) is not None
    }


@transaction.atomic
def activity_log(
    *,
    actor: Any,
    kind: str,
    subject: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
    ends_at: datetime | None = None,
    direction: str = "",
    duration_seconds: int | None = None,
    call_outcome: str = "",
    location: str = "",
    attendees: Iterable[Any] | None = None,
    contacts: Iterable[Any] | None = None,
    organizations: Iterable[Any] | None = None,
    deals: Iterable[Any] | None = None,
    leads: Iterable[Any] | None = None,
    now: datetime | None = None,
) -> Activity:
    """Log a call, meeting, email or note on the records it concerns (each visible to ``actor``)."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    now = now or timezone.now()
    activity = Activity(
        kind=kind,
        subject=subject or "",
        body=body or "",
        occurred_at=occurred_at or now,
        ends_at=ends_at,
        direction=direction or "",
        duration_seconds=duration_seconds,
        call_outcome=call_outcome or "",
        location=location or "",
        owner=actor,
        team=actor.teams.order_by("name").first(),
    )
    errors: dict[str, list[str]] = {}
    _activity_validate(activity, errors)
    relations = _relations_resolve(
        actor,
        {"contacts": contacts, "organizations": organizations, "deals": deals, "leads": leads},
        errors,
    )
    people = _attendees(actor, attendees, errors) if kind == ActivityKind.MEETING else []
    _raise_if(errors)
    activity.created_at = activity.updated_at = now
    activity.save()
    for name, records in relations.items():
        getattr(activity, name).set(records)
    activity.attendees.set(people)
    _leads_first_activity(relations.get("leads", []), min(activity.occurred_at, now))
    event_record(
        actor=actor,
        record=activity,
        kind=ActivityEvent.LOGGED,
        data={
            "kind": activity.kind,
            **{name: [record.pk for record in records] for name, records in relations.items()},
        },
    )
    return activity


def activity_may_change(actor: Any, activity: Activity) -> bool:
    """Its owner changes an activity, and so do managers and administrators who can see it."""
    if not has_perm(actor, Perm.ACTIVITIES_ADD) or not is_visible_to(activity, actor):
        return False
    return activity.owner_id == actor.pk or _is_manager(actor)


def _activity_locked(activity: Activity, actor: Any) -> Activity:
    fresh = Activity.objects.select_for_update(of=("self",)).get(pk=activity.pk)
    if not is_visible_to(fresh, actor):
        raise Activity.DoesNotExist
    if not activity_may_change(actor, fresh):
        raise PermissionDenied(_("Only its author or a manager can change this activity."))
    return fresh


@transaction.atomic
def activity_update(
    *,
    actor: Any,
    activity: Activity,
    expected_version: int | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Activity:
    """Change an activity; only the given fields change (relations are replaced when given)."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    activity = _activity_locked(activity, actor)
    _check_version(activity, expected_version)
    allowed = {*ACTIVITY_TRACKED, *RELATIONS, "attendees"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be set.") for name in unknown})
    before = snapshot(activity, ACTIVITY_TRACKED)
    for name in ACTIVITY_TRACKED:
        if name in fields:
            value = fields[name]
            if value is None and name not in ("duration_seconds", "ends_at", "occurred_at"):
                value = ""
            setattr(activity, name, value)
    errors: dict[str, list[str]] = {}
    _activity_validate(activity, errors)
    relations = _relations_resolve(actor, fields, errors)
    before_people = sorted(activity.attendees.values_list("pk", flat=True))
    people = None
    if activity.kind == ActivityKind.MEETING and fields.get("attendees") is not None:
        people = _attendees(actor, fields["attendees"], errors)
    elif activity.kind != ActivityKind.MEETING and before_people:
        people = []
    _raise_if(errors)
    before_relations = {
        name: sorted(getattr(activity, name).values_list("pk", flat=True)) for name in relations
    }
    diff = changes(before, snapshot(activity, ACTIVITY_TRACKED))
    relation_diff = {
        name: {"old": before_relations[name], "new": sorted(record.pk for record in records)}
        for name, records in relations.items()
        if before_relations[name] != sorted(record.pk for record in records)
    }
    if people is not None and sorted(user.pk for user in people) != before_people:
        relation_diff["attendees"] = {
            "old": before_people,
            "new": sorted(user.pk for user in people),
        }
    else:
        people = None
    if not diff and not relation_diff:
        return activity
    activity.version += 1
    activity.updated_at = now or timezone.now()
    activity.save()
    for name, records in relations.items():
        getattr(activity, name).set(records)
    if people is not None:
        activity.attendees.set(people)
    _leads_first_activity(
        relations.get("leads", []), min(activity.occurred_at, activity.updated_at)
    )
    event_record(
        actor=actor,
        record=activity,
        kind=ActivityEvent.CHANGED,
        data={"changes": {**diff, **relation_diff}},
    )
    return activity


@transaction.atomic
def activity_delete(*, actor: Any, activity: Activity, expected_version: int | None = None) -> None:
    """Delete an activity (its author, or a manager): it leaves every timeline it was on."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    activity = _activity_locked(activity, actor)
    _check_version(activity, expected_version)
    event_record(actor=actor, record=activity, kind=ActivityEvent.DELETED)
    activity.delete()


# -- tasks -------------------------------------------------------------------------------------


def _assignee_check(actor: Any, owner: Any) -> None:
    """Giving a task to someone else needs the sales assign permission, within one's scope."""
    if owner.pk == actor.pk:
        return
    if not has_perm(actor, Perm.SALES_ASSIGN):
        raise PermissionDenied(
            _("Your role does not allow giving tasks to %(name)s.") % {"name": owner}
        )
    if not owner.is_active:
        raise PermissionDenied(
            _("%(name)s is deactivated and cannot own records.") % {"name": owner}
        )
    if scope_of(actor) == Scope.ALL:
        return
    shares_a_team = owner.teams.filter(pk__in=actor.teams.values("pk")).exists()
    if not shares_a_team:
        raise PermissionDenied(
            _("Your role does not allow giving tasks to %(name)s.") % {"name": owner}
        )


def task_may_change(actor: Any, task: Task) -> bool:
    """Its assignee and its creator change a task, and so do managers and administrators who see it."""
    if not has_perm(actor, Perm.ACTIVITIES_ADD) or not is_visible_to(task, actor):
        return False
    return actor.pk in (task.owner_id, task.created_by_id) or _is_manager(actor)


def _task_locked(task: Task, actor: Any) -> Task:
    fresh = Task.objects.select_for_update(of=("self",)).select_related("owner").get(pk=task.pk)
    if not is_visible_to(fresh, actor):
        raise Task.DoesNotExist
    if not task_may_change(actor, fresh):
        raise PermissionDenied(
            _("Only its assignee, its author or a manager can change this task.")
        )
    return fresh


def _task_validate(task: Task, errors: dict[str, list[str]]) -> None:
    task.title = " ".join((task.title or "").split())
    task.description = (task.description or "").strip()
    if not task.title:
        errors.setdefault("title", []).append(_("A task needs a title."))
    elif len(task.title) > 200:
        errors.setdefault("title", []).append(_("A title has at most 200 characters."))
    if task.priority not in TaskPriority.values:
        errors.setdefault("priority", []).append(_("Choose low, normal or high."))
    for name in ("due_at", "remind_at"):
        value = getattr(task, name)
        if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
            errors.setdefault(name, []).append(_("Enter a date and time."))


def _task_record(
    actor: Any, values: Mapping[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any] | None:
    """The one record a task is about ({"contact": …, "organization": None, …}); None: unchanged."""
    if not any(name in values for name in TASK_RECORDS):
        return None
    given = {name: values.get(name) for name in TASK_RECORDS if values.get(name) is not None}
    if len(given) > 1:
        errors.setdefault("non_field_errors", []).append(_("A task is about one record at most."))
        return None
    result: dict[str, Any] = dict.fromkeys(TASK_RECORDS)
    querysets = related_querysets(actor)
    for name, item in given.items():
        found = _visible_records(querysets[f"{name}s"], [item], name, errors)
        result[name] = found[0] if found else None
    return result


def _reminder_enqueue(task_id: int, remind_at: datetime) -> None:
    """Enqueue the job that sends ``task_id``'s reminder at ``remind_at`` (it re-checks the row).

    Backends that cannot defer a job (the immediate one of tests and small setups) send a due
    reminder at once and leave later ones to the sweep (``clientela reminders send``).
    """
    from clientela.activities.tasks import task_reminder_send_task

    if remind_at <= timezone.now():
        task_reminder_send_task.enqueue(task_id=task_id)
    elif task_reminder_send_task.get_backend().supports_defer:
        task_reminder_send_task.using(run_after=remind_at).enqueue(task_id=task_id)


def _reminder_schedule(task: Task) -> None:
    if task.remind_at is not None and task.reminded_at is None and task.status == TaskStatus.OPEN:
        task_id, remind_at = task.pk, task.remind_at
        transaction.on_commit(lambda: _reminder_enqueue(task_id, remind_at))


@transaction.atomic
def task_create(
    *,
    actor: Any,
    title: str,
    description: str = "",
    due_at: datetime | None = None,
    remind_at: datetime | None = None,
    priority: str = TaskPriority.NORMAL,
    owner: Any = None,
    contact: Any = None,
    organization: Any = None,
    deal: Any = None,
    lead: Any = None,
    now: datetime | None = None,
) -> Task:
    """A new task for ``owner`` (the actor unless given), perhaps about one visible record."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    now = now or timezone.now()
    owner = owner or actor
    task = Task(
        title=title,
        description=description,
        due_at=due_at,
        remind_at=remind_at,
        priority=priority or TaskPriority.NORMAL,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    errors: dict[str, list[str]] = {}
    _task_validate(task, errors)
    record = _task_record(
        actor,
        {"contact": contact, "organization": organization, "deal": deal, "lead": lead},
        errors,
    )
    _raise_if(errors)
    _assignee_check(actor, owner)
    task.owner = owner
    task.team = owner.teams.order_by("name").first()
    for name, value in (record or {}).items():
        setattr(task, name, value)
    task.save()
    event_record(actor=actor, record=task, kind=TaskEvent.CREATED)
    if owner.pk != actor.pk:
        with translation.override(owner.language or settings.LANGUAGE_CODE):
            notification_send(
                user=owner,
                kind=TaskEvent.CREATED,
                title=_("%(name)s gave you a task: %(title)s")
                % {"name": actor, "title": task.title},
                url=reverse("activities:task_edit", args=[task.pk]),
            )
    _reminder_schedule(task)
    return task


@transaction.atomic
def task_update(
    *,
    actor: Any,
    task: Task,
    expected_version: int | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Task:
    """Change a task; only the given fields change. A new reminder time sends the reminder again."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    task = _task_locked(task, actor)
    _check_version(task, expected_version)
    allowed = {*TASK_FIELDS, *TASK_RECORDS, "owner"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be set.") for name in unknown})
    tracked = (*TASK_FIELDS, *TASK_RECORDS, "owner")
    before = snapshot(task, tracked)
    for name in TASK_FIELDS:
        if name in fields:
            value = fields[name]
            setattr(task, name, "" if value is None and name in ("title", "description") else value)
    errors: dict[str, list[str]] = {}
    _task_validate(task, errors)
    record = _task_record(actor, fields, errors)
    _raise_if(errors)
    owner = fields.get("owner")
    if owner is not None and owner.pk != task.owner_id:
        _assignee_check(actor, owner)
        task.owner = owner
        task.team = owner.teams.order_by("name").first()
    for name, value in (record or {}).items():
        setattr(task, name, value)
    diff = changes(before, snapshot(task, tracked))
    if not diff:
        return task
    if "remind_at" in diff:
        task.reminded_at = None
    task.version += 1
    task.updated_at = now or timezone.now()
    task.save()
    event_record(actor=actor, record=task, kind=TaskEvent.CHANGED, data={"changes": diff})
    if "remind_at" in diff:
        _reminder_schedule(task)
    return task


@transaction.atomic
def task_complete(
    *, actor: Any, task: Task, expected_version: int | None = None, now: datetime | None = None
) -> Task:
    """Mark a task done (nothing happens to one already done)."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    task = _task_locked(task, actor)
    _check_version(task, expected_version)
    if task.status == TaskStatus.DONE:
        return task
    task.status = TaskStatus.DONE
    task.completed_at = now or timezone.now()
    task.version += 1
    task.updated_at = task.completed_at
    task.save()
    event_record(actor=actor, record=task, kind=TaskEvent.COMPLETED)
    return task


@transaction.atomic
def task_reopen(
    *, actor: Any, task: Task, expected_version: int | None = None, now: datetime | None = None
) -> Task:
    """Open a done task again (its reminder, if not sent yet, goes out at its time)."""
    require_perm(actor, Perm.ACTIVITIES_ADD)
    task = _task_locked(task, actor)
    _check_version(task, expected_version)
    if task.status == TaskStatus.OPEN:
        return task
    task.status = TaskStatus.OPEN
    task.completed_at = None
    task.version += 1
    task.updated_at = now or timezone.now()
    task.save()
    event_record(actor=actor, record=task, kind=TaskEvent.REOPENED)
    _reminder_schedule(task)
    return task


@transaction.atomic
def task_delete(*, actor: Any, task: Task, expected_version: int | None = None) -> None:
    require_perm(actor, Perm.ACTIVITIES_ADD)
    task = _task_locked(task, actor)
    _check_version(task, expected_version)
    event_record(actor=actor, record=task, kind=TaskEvent.DELETED)
    task.delete()


# -- reminders ---------------------------------------------------------------------------------


def _zone_of(user: Any) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _reminder_deliver(task: Task) -> None:
    """The reminder email and notification, in the assignee's language and time zone."""
    user = task.owner
    language = user.language or settings.LANGUAGE_CODE
    base_url = settings.CLIENTELA_BASE_URL.rstrip("/")
    path = reverse("activities:task_edit", args=[task.pk])
    with translation.override(language), timezone.override(_zone_of(user)):
        context = {"task": task, "user": user, "link": f"{base_url}{path}"}
        subject = " ".join(
            render_to_string("activities/email/task_reminder_subject.txt", context).split()
        )
        body = render_to_string("activities/email/task_reminder_body.txt", context)
        if task.due_at is not None:
            from django.utils import formats

            due = formats.date_format(timezone.localtime(task.due_at), "DATETIME_FORMAT")
            text = _("Due %(due)s") % {"due": due}
        else:
            text = ""
        notification_send(
            user=user,
            kind=TaskEvent.REMINDED,
            title=_("Reminder: %(title)s") % {"title": task.title},
            body=text,
            url=path,
        )
    EmailMessage(subject, body, to=[user.email], headers={"Content-Language": language}).send()


def task_reminder_send(*, task_id: int, now: datetime | None = None) -> bool:
    """Send the reminder of one task if it is due, open and not sent yet; True when sent.

    Safe to run any number of times, by any number of workers at once: the row is locked (others skip
    it) and ``reminded_at`` is set in the same transaction as the sending, so a reminder goes out once;
    if sending fails, the transaction rolls back and a later run tries again.
    """
    now = now or timezone.now()
    due = Q(pk=task_id, status=TaskStatus.OPEN, remind_at__lte=now, reminded_at__isnull=True)
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .filter(due)
            .first()
        )
        # The conditional UPDATE claims the row on SQLite too, which has no row locks.
        if task is None or Task.objects.filter(due).update(reminded_at=now) != 1:
            return False
        task.reminded_at = now
        if not task.owner.is_active:
            return False
        event_record(actor=None, record=task, kind=TaskEvent.REMINDED)
        _reminder_deliver(task)
    return True


def task_reminders_send(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Send every reminder whose time has come (at most ``limit``); returns how many were sent."""
    now = now or timezone.now()
    ids = list(
        Task.objects.filter(status=TaskStatus.OPEN, remind_at__lte=now, reminded_at__isnull=True)
        .order_by("remind_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(task_reminder_send(task_id=task_id, now=now) for task_id in ids)


# -- calendar feeds ----------------------------------------------------------------------------


def _feed_hash(token: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is safe and lookups stay cheap.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedFeed:
    feed: CalendarFeed
    token: str  # "<prefix>_<secret>": shown once, never stored


@transaction.atomic
def calendar_feed_create(*, actor: Any) -> IssuedFeed:
    """A new private feed address for ``actor``; an older one stops working."""
    require_perm(actor, Perm.ACTIVITIES_VIEW)
    prefix = secrets.token_hex(6)
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    feed, _created = CalendarFeed.objects.update_or_create(
        user=actor,
        defaults={
            "prefix": prefix,
            "key_hash": _feed_hash(token),
            "last_fetched_at": None,
            "updated_at": timezone.now(),
        },
    )
    return IssuedFeed(feed=feed, token=token)


@transaction.atomic
def calendar_feed_revoke(*, actor: Any) -> bool:
    """Stop ``actor``'s feed address from working; False when there was none."""
    deleted, _kinds = CalendarFeed.objects.filter(user=actor).delete()
    return bool(deleted)


def calendar_feed_authenticate(token: str, *, now: datetime | None = None) -> Any:
    """The active user whose feed ``token`` opens, or None. Records when it was last fetched."""
    prefix, separator, secret = (token or "").partition("_")
    if not separator or not secret or len(prefix) != 12:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(prefix=prefix).first()
    if feed is None or not secrets.compare_digest(feed.key_hash, _feed_hash(token)):
        return None
    if not feed.user.is_active:
        return None
    now = now or timezone.now()
    # Calendar clients poll often: write at most once a minute.
    if feed.last_fetched_at is None or (now - feed.last_fetched_at).total_seconds() > 60:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
    return feed.user
