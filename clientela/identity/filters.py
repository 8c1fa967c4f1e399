"""Filters of the user directory (the administration page; the API can use the same FilterSet)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.filters import SortFilter
from clientela.core.permissions import Role
from clientela.identity.models import Team, User


class UserStatus:
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    choices = [(ACTIVE, _("Active")), (DEACTIVATED, _("Deactivated"))]


USER_SORTS: dict[str, tuple[Any, ...]] = {
    "name": (Lower("full_name"),),
    "email": ("email",),
    "role": ("role",),
    "last_login": ("last_login",),
}


class UserFilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_sort(self) -> str:
        """An unknown sort is an error of the form, so the page lists by name instead of failing."""
        value = (self.cleaned_data.get("sort") or "").strip()
        if value and value.removeprefix("-") not in USER_SORTS:
            raise forms.ValidationError(
                _("Sort by one of: %(keys)s.") % {"keys": ", ".join(USER_SORTS)}, code="invalid"
            )
        return value


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or email"), method="search")
    role = django_filters.ChoiceFilter(
        label=_("Role"), choices=Role.choices, empty_label=_("Any role")
    )
    team = django_filters.ModelChoiceFilter(
        label=_("Team"),
        field_name="teams",
        queryset=Team.objects.all(),
        empty_label=_("Any team"),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=UserStatus.choices,
        empty_label=_("Active and deactivated"),
        method="by_status",
    )
    sort = SortFilter(options=USER_SORTS, default="name")

    class Meta:
        model = User
        form = UserFilterForm
        fields: list[str] = []

    def search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        value = value.strip()
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))

    def by_status(self, queryset: QuerySet[User], name: str, value: Any) -> QuerySet[User]:
        return queryset.filter(is_active=value == UserStatus.ACTIVE)
