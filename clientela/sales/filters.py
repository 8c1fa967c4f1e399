"""The filters of the deal list and the board; the pages and the API use the same FilterSets."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.filters import PageFilterSetMixin, SortFilter, TagsFilter
from clientela.core.search import search_normalize
from clientela.identity.models import Team, User
from clientela.identity.selectors import team_choices_for, users_visible_to
from clientela.parties.models import Organization
from clientela.parties.selectors import organizations_visible_to
from clientela.sales.choices import DealStatus
from clientela.sales.models import Deal, Pipeline, Stage
from clientela.sales.selectors import pipelines_visible_to, stages_visible_to


class DealFilterSet(PageFilterSetMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    pipeline = django_filters.ModelChoiceFilter(
        queryset=Pipeline.objects.all(), label=_("Pipeline")
    )
    stage = django_filters.ModelMultipleChoiceFilter(queryset=Stage.objects.all(), label=_("Stage"))
    status = django_filters.MultipleChoiceFilter(choices=DealStatus.choices, label=_("Status"))
    owner = django_filters.ModelMultipleChoiceFilter(queryset=User.objects.all(), label=_("Owner"))
    team = django_filters.ModelMultipleChoiceFilter(queryset=Team.objects.all(), label=_("Team"))
    tags = TagsFilter()
    organization = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.all(), label=_("Organization"), widget=forms.HiddenInput
    )
    expected_close_after = django_filters.DateFilter(
        field_name="expected_close_date",
        lookup_expr="gte",
        label=_("Expected to close from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    expected_close_before = django_filters.DateFilter(
        field_name="expected_close_date",
        lookup_expr="lte",
        label=_("Expected to close until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sort = SortFilter(
        {
            "title": (Lower("title"),),
            "amount": ("amount",),
            "stage": ("pipeline__position", "stage__position"),
            "expected_close": ("expected_close_date",),
            "owner": (Lower("owner__full_name"),),
            "stage_entered": ("stage_entered_at",),
            "created": ("created_at",),
            "updated": ("updated_at",),
        },
        default="-created",
    )

    class Meta:
        model = Deal
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices come from what the person asking may see: an id outside their scope is refused
        # as an invalid choice, like one that does not exist.
        actor = getattr(self.request, "user", None)
        self.filters["owner"].queryset = users_visible_to(actor).prefetch_related(None)
        self.filters["team"].queryset = team_choices_for(actor)
        self.filters["pipeline"].queryset = pipelines_visible_to(actor).prefetch_related(None)
        self.filters["stage"].queryset = stages_visible_to(actor)
        self.filters["organization"].queryset = organizations_visible_to(actor).prefetch_related(
            None
        )

    @property
    def qs(self) -> QuerySet[Any]:
        queryset = super().qs
        # Without an explicit sort the default one applies (a filter's method runs only when given).
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            queryset = self.filters["sort"].sort(queryset, "sort", "")
        return queryset

    def search(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        # Deals have no full-text index yet: a substring of the normalized title and organization.
        text = search_normalize(value)
        return queryset.filter(search_text__contains=text) if text else queryset


class BoardFilterForm(forms.Form):
    """The board's filters: which pipeline, and whose deals."""

    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=None, required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = pipelines_visible_to(actor).prefetch_related(None)
        self.fields["pipeline"].empty_label = None
        self.fields["owner"].queryset = (
            users_visible_to(actor).prefetch_related(None).order_by(Lower("full_name"), "id")
        )
        self.fields["owner"].empty_label = _("Everyone")
        self.fields["team"].queryset = team_choices_for(actor).order_by(Lower("name"), "id")
        self.fields["team"].empty_label = _("Every team")
        for field in self.fields.values():
            field.widget.attrs["data-autosubmit"] = ""
