"""Forms of the activity, task and calendar pages: they parse what a person typed (times in their own
time zone); the services validate and write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clientela.activities.choices import ActivityKind, CallOutcome, Direction, TaskPriority
from clientela.activities.selectors import RECORD_TYPES
from clientela.core.permissions import Perm, Scope, has_perm, scope_of

_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _local_datetime(label: Any, **kwargs: Any) -> forms.DateTimeField:
    """A date and time typed in the person's own time zone (the current one), stored in UTC."""
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL_FORMAT),
        **kwargs,
    )


class _ServiceErrorsMixin:
    # Service field names that a form shows under another name.
    service_field_names: dict[str, str] = {}

    def add_service_errors(self, error: ValidationError) -> None:
        form: Any = self
        if not hasattr(error, "error_dict"):
            form.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            name = self.service_field_names.get(name, name)
            form.add_error(name if name in form.fields else None, messages)


class RecordFieldsMixin(forms.Form):
    """The record a new activity or task concerns: its type and id, carried in hidden fields."""

    record_type = forms.ChoiceField(
        choices=[(name, name) for name in RECORD_TYPES], required=False, widget=forms.HiddenInput
    )
    record_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class ActivityForm(_ServiceErrorsMixin, RecordFieldsMixin):
    """Log (or change) a call, meeting, email or note; ``kind`` decides which fields are shown."""

    kind = forms.ChoiceField(choices=ActivityKind.choices, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    occurred_at = _local_datetime(_("When"))
    ends_at = _local_datetime(_("Ends"), required=False)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, required=False, widget=forms.RadioSelect
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=0, max_value=24 * 60, required=False
    )
    call_outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *CallOutcome.choices], required=False
    )
    location = forms.CharField(label=_("Place"), max_length=200, required=False)
    attendees: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Attendees"), queryset=None, required=False
    )
    body = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Simple formatting is kept: paragraphs, bold, italics, lists, links."),
    )

    service_field_names = {"duration_seconds": "duration_minutes"}
    kind_fields = {
        ActivityKind.CALL: (
            "subject",
            "occurred_at",
            "direction",
            "duration_minutes",
            "call_outcome",
            "body",
        ),
        ActivityKind.MEETING: (
            "subject",
            "occurred_at",
            "ends_at",
            "location",
            "attendees",
            "body",
        ),
        ActivityKind.EMAIL: ("subject", "occurred_at", "direction", "body"),
        ActivityKind.NOTE: ("subject", "occurred_at", "body"),
    }

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, actor: Any, kind: str, **kwargs: Any
    ) -> None:
        from clientela.identity.selectors import users_visible_to

        kind = kind if kind in ActivityKind.values else ActivityKind.NOTE
        now = timezone.localtime().replace(second=0, microsecond=0)
        initial = {"kind": kind, "occurred_at": now, **kwargs.pop("initial", {})}
        super().__init__(data, initial=initial, **kwargs)
        self.actor = actor
        self.activity_kind = kind
        attendees = self.fields["attendees"]
        assert isinstance(attendees, forms.ModelMultipleChoiceField)
        attendees.queryset = (
            users_visible_to(actor)
            .filter(is_active=True)
            .prefetch_related(None)
            .order_by(Lower("full_name"), "id")
        )

    def shown_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.kind_fields[ActivityKind(self.activity_kind)]]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        values: dict[str, Any] = {
            "kind": self.activity_kind,
            "subject": data.get("subject", ""),
            "body": data.get("body", ""),
            "occurred_at": data.get("occurred_at"),
            "ends_at": data.get("ends_at"),
            "direction": data.get("direction", ""),
            "duration_seconds": None if minutes is None else minutes * 60,
            "call_outcome": data.get("call_outcome", ""),
            "location": data.get("location", ""),
        }
        if self.activity_kind == ActivityKind.MEETING:
            values["attendees"] = list(data.get("attendees") or [])
        return values

    @staticmethod
    def initial_from(activity: Any) -> dict[str, Any]:
        return {
            "kind": activity.kind,
            "subject": activity.subject,
            "body": activity.body,
            "occurred_at": activity.occurred_at,
            "ends_at": activity.ends_at,
            "direction": activity.direction,
            "duration_minutes": None
            if activity.duration_seconds is None
            else round(activity.duration_seconds / 60),
            "call_outcome": activity.call_outcome,
            "location": activity.location,
            "attendees": list(activity.attendees.all()),
        }


class TaskForm(_ServiceErrorsMixin, RecordFieldsMixin):
    """A task: what, by when, reminded when (times in the person's own zone), for whom."""

    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = _local_datetime(_("Due"), required=False)
    remind_at = _local_datetime(
        _("Remind me at"),
        required=False,
        help_text=_("An email and a notification arrive at this time."),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL
    )
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Assignee"), queryset=None, required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, actor: Any, task: Any = None, **kwargs: Any
    ) -> None:
        from clientela.identity.models import User

        if task is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": task.title,
                    "due_at": task.due_at,
                    "remind_at": task.remind_at,
                    "priority": task.priority,
                    "owner": task.owner_id,
                    "description": task.description,
                },
            )
        super().__init__(data, **kwargs)
        self.actor = actor
        self.task = task
        self.may_assign = has_perm(actor, Perm.SALES_ASSIGN)
        if self.may_assign:
            owners = User.objects.filter(is_active=True)
            if scope_of(actor) != Scope.ALL:
                team_mates = User.objects.filter(teams__in=actor.teams.values("pk")).values("pk")
                owners = owners.filter(pk__in=team_mates) | User.objects.filter(pk=actor.pk)
            owner = self.fields["owner"]
            assert isinstance(owner, forms.ModelChoiceField)
            owner.queryset = owners.order_by(Lower("full_name"), "id")
            owner.empty_label = _("Me")
        else:
            del self.fields["owner"]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {name: data.get(name) for name in ("title", "due_at", "remind_at", "priority")}
        values["description"] = data.get("description", "")
        if self.task is not None:
            # The form shows minutes: an unchanged time keeps its seconds (and a sent reminder stays sent).
            for name in ("due_at", "remind_at"):
                current = getattr(self.task, name)
                if current is not None and values[name] == current.replace(second=0, microsecond=0):
                    values[name] = current
        if self.may_assign:
            values["owner"] = data.get("owner") or (self.actor if self.task is None else None)
            if values["owner"] is None:
                del values["owner"]
        return values


class QuickTaskForm(TaskForm):
    """My day's quick add: a title and perhaps a due time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("remind_at", "description", "owner"):
            self.fields.pop(name, None)
        self.may_assign = False
