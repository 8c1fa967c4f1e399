"""Activities (calls, meetings, emails, notes) on the records they concern, tasks with reminders, and
each person's private calendar feed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clientela.activities.choices import (
    ActivityKind,
    CallOutcome,
    Direction,
    TaskPriority,
    TaskStatus,
)
from clientela.core.models import OwnedModel, TimestampedModel, VersionedModel


class Activity(TimestampedModel, VersionedModel, OwnedModel):
    """Something that happened with customers: a call, a meeting, an email or a note. It appears on the
    timeline of every contact, organization, deal and lead it concerns."""

    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    # Sanitized HTML (activities.services): only the tags of simple rich text survive.
    body = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, blank=True
    )
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    call_outcome = models.CharField(
        _("outcome"), max_length=20, choices=CallOutcome.choices, blank=True
    )
    location = models.CharField(_("place"), max_length=200, blank=True)
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("attendees"), blank=True, related_name="+"
    )
    contacts = models.ManyToManyField(
        "parties.Contact", verbose_name=_("contacts"), blank=True, related_name="activities"
    )
    organizations = models.ManyToManyField(
        "parties.Organization",
        verbose_name=_("organizations"),
        blank=True,
        related_name="activities",
    )
    deals = models.ManyToManyField(
        "sales.Deal", verbose_name=_("deals"), blank=True, related_name="activities"
    )
    leads = models.ManyToManyField(
        "sales.Lead", verbose_name=_("leads"), blank=True, related_name="activities"
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="activities_activity_time_idx"),
            models.Index(fields=["owner", "-occurred_at"], name="activities_activity_owner_idx"),
            models.Index(fields=["kind", "occurred_at"], name="activities_activity_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gte=models.F("occurred_at")),
                name="activities_activity_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()


class Task(TimestampedModel, VersionedModel, OwnedModel):
    """Something to do by a time, for its owner (the assignee), perhaps about one record."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True, editable=False)
    # SET_NULL: the task stays (for its owner) when the person who created it is deleted.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The record the task is about, at most one. CASCADE: a task about a deleted record goes with it.
    contact = models.ForeignKey(
        "parties.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
    )
    organization = models.ForeignKey(
        "parties.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
    )
    deal = models.ForeignKey(
        "sales.Deal",
        verbose_name=_("deal"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("lead"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
    )

    class Meta:
        ordering = [models.F("due_at").asc(nulls_last=True), "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="activities_task_owner_idx"),
            # The reminder job: open tasks whose reminder time has come and was not sent.
            models.Index(fields=["status", "remind_at"], name="activities_task_remind_idx"),
            models.Index(fields=["due_at", "id"], name="activities_task_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(contact__isnull=True, organization__isnull=True, deal__isnull=True)
                    | models.Q(contact__isnull=True, organization__isnull=True, lead__isnull=True)
                    | models.Q(contact__isnull=True, deal__isnull=True, lead__isnull=True)
                    | models.Q(organization__isnull=True, deal__isnull=True, lead__isnull=True)
                ),
                name="activities_task_one_record",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CalendarFeed(TimestampedModel):
    """A person's private iCalendar feed: its address holds a secret; only a hash of it is kept."""

    # CASCADE: the feed is the person's own.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64)
    last_fetched_at = models.DateTimeField(_("last fetched"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.prefix}"
