"""Filters of the activity and task lists (the API and pages use the same FilterSets)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.activities.choices import ActivityKind, TaskPriority, TaskStatus
from clientela.activities.models import Activity, Task
from clientela.core.filters import PageFilterSetMixin, SortFilter
from clientela.identity.models import User
from clientela.identity.selectors import users_visible_to


class _SortedFilterSet(PageFilterSetMixin, django_filters.FilterSet):
    @property
    def qs(self) -> QuerySet[Any]:
        queryset = super().qs
        # Without an explicit sort the default one applies (a filter's method runs only when given).
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            queryset = self.filters["sort"].sort(queryset, "sort", "")
        return queryset


class ActivityFilterSet(_SortedFilterSet):
    # One id each: an activity concerns a given record at most once, so no row comes out twice.
    contact = django_filters.NumberFilter(field_name="contacts", label=_("Contact"))
    organization = django_filters.NumberFilter(field_name="organizations", label=_("Organization"))
    deal = django_filters.NumberFilter(field_name="deals", label=_("Deal"))
    lead = django_filters.NumberFilter(field_name="leads", label=_("Lead"))
    kind = django_filters.MultipleChoiceFilter(choices=ActivityKind.choices, label=_("Kind"))
    owner = django_filters.ModelMultipleChoiceFilter(queryset=User.objects.all(), label=_("Author"))
    occurred_after = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label=_("From")
    )
    occurred_before = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label=_("Until")
    )
    sort = SortFilter(
        {"occurred": ("occurred_at",), "created": ("created_at",), "kind": ("kind",)},
        default="-occurred",
    )

    class Meta:
        model = Activity
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor = getattr(self.request, "user", None)
        self.filters["owner"].queryset = users_visible_to(actor).prefetch_related(None)


class TaskFilterSet(_SortedFilterSet):
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices, label=_("Status"))
    priority = django_filters.MultipleChoiceFilter(
        choices=TaskPriority.choices, label=_("Priority")
    )
    owner = django_filters.ModelMultipleChoiceFilter(
        queryset=User.objects.all(), label=_("Assignee")
    )
    due_after = django_filters.IsoDateTimeFilter(
        field_name="due_at", lookup_expr="gte", label=_("Due from")
    )
    due_before = django_filters.IsoDateTimeFilter(
        field_name="due_at", lookup_expr="lt", label=_("Due before")
    )
    contact = django_filters.NumberFilter(field_name="contact", label=_("Contact"))
    organization = django_filters.NumberFilter(field_name="organization", label=_("Organization"))
    deal = django_filters.NumberFilter(field_name="deal", label=_("Deal"))
    lead = django_filters.NumberFilter(field_name="lead", label=_("Lead"))
    sort = SortFilter(
        {
            "due": ("due_at",),
            "created": ("created_at",),
            "title": (Lower("title"),),
        },
        default="due",
    )

    class Meta:
        model = Task
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor = getattr(self.request, "user", None)
        self.filters["owner"].queryset = users_visible_to(actor).prefetch_related(None)
