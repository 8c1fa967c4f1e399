"""Filter building blocks shared by list pages and the API (one FilterSet serves both)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, QuerySet
from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext_lazy as _

from clientela.core.models import CustomFieldDefinition, CustomFieldType, Tag
from clientela.core.widgets import fast_choice_widgets


class SortFilter(django_filters.CharFilter):
    """``?sort=name`` or ``?sort=-created``: only the allowlisted keys, always ending with ``id``.

    ``options`` maps each public key to the expressions it orders by.
    """

    def __init__(self, options: dict[str, tuple[Any, ...]], default: str, **kwargs: Any) -> None:
        self.options = options
        self.default = default
        kwargs.setdefault("label", _("Sort"))
        kwargs.setdefault("method", self.sort)
        super().__init__(**kwargs)

    def keys(self) -> list[str]:
        return list(self.options)

    def sort(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        key = (value or self.default).strip()
        descending = key.startswith("-")
        expressions = self.options.get(key.lstrip("-"))
        if expressions is None:
            raise forms.ValidationError(
                _("Sort by one of: %(keys)s.") % {"keys": ", ".join(self.options)}, code="invalid"
            )
        ordering = []
        for expression in expressions:
            expr = F(expression) if isinstance(expression, str) else expression
            # Empty values last, said only where there can be any: PostgreSQL walks a DESC index
            # only for the order it holds (NULLS FIRST), so "created_at DESC NULLS LAST" would sort
            # every row (150 ms at 200,000 contacts) to get the newest 50.
            nulls_last = True if _may_be_null(queryset.model, expr) else None
            ordering.append(
                expr.desc(nulls_last=nulls_last) if descending else expr.asc(nulls_last=nulls_last)
            )
        ordering.append(F("id").desc() if descending else F("id").asc())
        return queryset.order_by(*ordering)


def _may_be_null(model: Any, expression: Any) -> bool:
    """Whether ``expression`` (a column, or Lower/Upper of one) can be NULL on ``model``'s rows."""
    if isinstance(expression, F):
        try:
            return bool(model._meta.get_field(expression.name).null)
        except FieldDoesNotExist:
            return True
    if isinstance(expression, Lower | Upper):
        return any(_may_be_null(model, source) for source in expression.get_source_expressions())
    return True


def lower(field: str) -> Any:
    return Lower(field)


class TagsFilter(django_filters.ModelMultipleChoiceFilter):
    """Records carrying every one of the chosen tags."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Tag.objects.all())
        kwargs.setdefault("label", _("Tags"))
        kwargs.setdefault("field_name", "tags")
        kwargs.setdefault("conjoined", True)
        super().__init__(**kwargs)


def custom_field_filters(record_type: str) -> dict[str, django_filters.Filter]:
    """One filter per custom field of ``record_type``, named ``cf_<key>`` (``cf_<key>_min``/``_max`` for numbers)."""
    filters: dict[str, django_filters.Filter] = {}
    for definition in CustomFieldDefinition.objects.filter(record_type=record_type):
        name = f"cf_{definition.key}"
        lookup = f"custom_fields__{definition.key}"
        label = definition.label
        match definition.field_type:
            case CustomFieldType.CHOICE:
                filters[name] = django_filters.ChoiceFilter(
                    field_name=lookup, label=label, choices=[(c, c) for c in definition.choices]
                )
            case CustomFieldType.MULTI_CHOICE:
                filters[name] = django_filters.ChoiceFilter(
                    label=label,
                    choices=[(c, c) for c in definition.choices],
                    method=_multi_choice_method(lookup),
                )
            case CustomFieldType.BOOLEAN:
                filters[name] = django_filters.BooleanFilter(field_name=lookup, label=label)
            case CustomFieldType.NUMBER:
                filters[f"{name}_min"] = django_filters.NumberFilter(
                    method=_json_compare_method(lookup, "gte"),
                    label=_("%(label)s from") % {"label": label},
                )
                filters[f"{name}_max"] = django_filters.NumberFilter(
                    method=_json_compare_method(lookup, "lte"),
                    label=_("%(label)s to") % {"label": label},
                )
            case CustomFieldType.DATE:
                filters[f"{name}_after"] = django_filters.DateFilter(
                    method=_json_compare_method(lookup, "gte"),
                    label=_("%(label)s from") % {"label": label},
                    widget=forms.DateInput(attrs={"type": "date"}),
                )
                filters[f"{name}_before"] = django_filters.DateFilter(
                    method=_json_compare_method(lookup, "lte"),
                    label=_("%(label)s to") % {"label": label},
                    widget=forms.DateInput(attrs={"type": "date"}),
                )
            case _:
                filters[name] = django_filters.CharFilter(
                    field_name=lookup, lookup_expr="icontains", label=label
                )
    return filters


def _json_compare_method(lookup: str, lookup_expr: str) -> Any:
    """Compares a custom field with a number or a date in the JSON form values are stored in
    (``custom_fields._stored``): a Decimal or a date cannot be the parameter of a JSON lookup."""

    def method(queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value is None:
            return queryset
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        return queryset.filter(**{f"{lookup}__{lookup_expr}": value})

    return method


def _multi_choice_method(lookup: str) -> Any:
    def method(queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if not value:
            return queryset
        # The stored list's JSON text contains the quoted choice; the same on SQLite and PostgreSQL.
        return queryset.filter(**{f"{lookup}__icontains": json.dumps(value)})

    return method


class PageFilterSetMixin:
    """For a FilterSet whose form a page shows: selects render fast (``core.widgets``), and no filter
    adds ``DISTINCT``.

    django-filter's multiple-choice filters add ``DISTINCT`` in case the field is a to-many relation;
    on a list of a million rows that sorts and compares every column (90 ms at 200,000 contacts). Our
    filters name columns, foreign keys, or tags with ``conjoined`` (one join per chosen tag, each
    matching at most one row), so no row can come out twice.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for filter_ in self.filters.values():  # type: ignore[attr-defined]
            filter_.distinct = False

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()  # type: ignore[misc]
        fast_choice_widgets(form_class.base_fields)
        return form_class


class CustomFieldFilterSetMixin:
    """Adds the custom field filters of ``custom_field_record_type`` to a FilterSet."""

    custom_field_record_type: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for name, filter_ in custom_field_filters(self.custom_field_record_type).items():
            filter_.model = self.queryset.model  # type: ignore[attr-defined]
            filter_.parent = self  # type: ignore[attr-defined]
            self.filters[name] = filter_  # type: ignore[attr-defined]
