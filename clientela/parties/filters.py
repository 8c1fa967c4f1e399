"""The filters of the organization and contact lists; the pages and the API use the same FilterSets."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.filters import (
    CustomFieldFilterSetMixin,
    PageFilterSetMixin,
    SortFilter,
    TagsFilter,
)
from clientela.core.locale import country_choices
from clientela.identity.models import Team, User
from clientela.identity.selectors import teams_visible_to, users_visible_to
from clientela.parties.choices import ContactSource, Industry, LifecycleStage, SizeBand
from clientela.parties.models import Contact, Organization
from clientela.parties.selectors import (
    contacts_search,
    organizations_search,
    organizations_visible_to,
)


class _CountryFilter(django_filters.MultipleChoiceFilter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            field_name="country", label=_("Country"), choices=country_choices, **kwargs
        )


class _PartyFilterSet(PageFilterSetMixin, CustomFieldFilterSetMixin, django_filters.FilterSet):
    owner = django_filters.ModelMultipleChoiceFilter(queryset=User.objects.all(), label=_("Owner"))
    team = django_filters.ModelMultipleChoiceFilter(queryset=Team.objects.all(), label=_("Team"))
    tags = TagsFilter()
    country = _CountryFilter()
    created_after = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label=_("Created from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label=_("Created until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices come from what the person asking may see, for the page's form and the API alike:
        # an id outside their scope is refused as an invalid choice, like one that does not exist.
        actor = getattr(self.request, "user", None)
        self.filters["owner"].queryset = users_visible_to(actor).prefetch_related(None)
        self.filters["team"].queryset = teams_visible_to(actor).prefetch_related(None)
        if "organization" in self.filters:
            self.filters["organization"].queryset = organizations_visible_to(
                actor
            ).prefetch_related(None)

    @property
    def qs(self) -> QuerySet[Any]:
        queryset = super().qs
        # Without an explicit sort the default one applies (a filter's method runs only when given).
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            queryset = self.filters["sort"].sort(queryset, "sort", "")
        return queryset


class OrganizationFilterSet(_PartyFilterSet):
    custom_field_record_type = "parties.organization"

    q = django_filters.CharFilter(method="search", label=_("Search"))
    industry = django_filters.MultipleChoiceFilter(choices=Industry.choices, label=_("Industry"))
    size_band = django_filters.MultipleChoiceFilter(choices=SizeBand.choices, label=_("Size"))
    sort = SortFilter(
        {
            "name": (Lower("name"),),
            "domain": ("domain",),
            "industry": ("industry",),
            "city": (Lower("city"),),
            "country": ("country",),
            "owner": (Lower("owner__full_name"),),
            "created": ("created_at",),
            "updated": ("updated_at",),
        },
        default="name",
    )

    class Meta:
        model = Organization
        fields: list[str] = []

    def search(
        self, queryset: QuerySet[Organization], name: str, value: str
    ) -> QuerySet[Organization]:
        return organizations_search(queryset, value)


class ContactFilterSet(_PartyFilterSet):
    custom_field_record_type = "parties.contact"

    q = django_filters.CharFilter(method="search", label=_("Search"))
    lifecycle_stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices, label=_("Lifecycle stage")
    )
    source = django_filters.MultipleChoiceFilter(choices=ContactSource.choices, label=_("Source"))
    organization = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.all(),
        field_name="affiliations__organization",
        label=_("Organization"),
        widget=forms.HiddenInput,
    )
    sort = SortFilter(
        {
            "name": (Lower("last_name"), Lower("first_name")),
            "first_name": (Lower("first_name"), Lower("last_name")),
            "email": ("primary_email",),
            "phone": ("primary_phone",),
            "job_title": (Lower("job_title"),),
            "stage": ("lifecycle_stage",),
            "city": (Lower("city"),),
            "country": ("country",),
            "owner": (Lower("owner__full_name"),),
            "created": ("created_at",),
            "updated": ("updated_at",),
        },
        default="name",
    )

    class Meta:
        model = Contact
        fields: list[str] = []

    def search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return contacts_search(queryset, value)
