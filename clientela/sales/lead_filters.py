"""The filters of the lead list; the page and /api/v1/leads/ use the same FilterSet."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.filters import PageFilterSetMixin, SortFilter
from clientela.core.locale import country_choices
from clientela.identity.models import Team, User
from clientela.identity.selectors import teams_visible_to, users_visible_to
from clientela.parties.choices import ContactSource
from clientela.sales.choices import LeadStatus
from clientela.sales.leads import leads_search
from clientela.sales.models import Lead


class LeadFilterSet(PageFilterSetMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices, label=_("Status"))
    source = django_filters.MultipleChoiceFilter(choices=ContactSource.choices, label=_("Source"))
    owner = django_filters.ModelMultipleChoiceFilter(queryset=User.objects.all(), label=_("Owner"))
    team = django_filters.ModelMultipleChoiceFilter(queryset=Team.objects.all(), label=_("Team"))
    country = django_filters.MultipleChoiceFilter(
        field_name="country", label=_("Country"), choices=country_choices
    )
    sort = SortFilter(
        {
            "created": ("created_at",),
            "name": (Lower("last_name"), Lower("first_name")),
            "company": (Lower("company_name"),),
            "email": ("email",),
            "status": ("status",),
            "owner": (Lower("owner__full_name"),),
            "country": ("country",),
        },
        default="-created",
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices from what the person asking may see: someone else's id is an invalid choice.
        actor = getattr(self.request, "user", None)
        self.filters["owner"].queryset = users_visible_to(actor).prefetch_related(None)
        self.filters["team"].queryset = teams_visible_to(actor).prefetch_related(None)

    @property
    def qs(self) -> QuerySet[Any]:
        queryset = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            queryset = self.filters["sort"].sort(queryset, "sort", "")
        return queryset

    def search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return leads_search(queryset, value)
