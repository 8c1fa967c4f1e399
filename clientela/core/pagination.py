"""Paging through long lists without counting a million rows on every page (ADR 0017)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """A paginator that counts at most ``limit`` rows.

    Counting every match of a filter costs as much as reading them all; past ``limit`` the exact number
    helps nobody ("more than 10,000"), and pages beyond it are better reached by narrowing the filter or
    by an export. ``is_capped`` says whether there are more rows than ``count``.
    """

    def __init__(self, object_list: Any, per_page: int, limit: int | None = None, **kwargs: Any):
        super().__init__(object_list, per_page, **kwargs)
        self.limit = limit or settings.CLIENTELA_LIST_COUNT_LIMIT
        self.is_capped = False

    @cached_property
    def count(self) -> int:
        # Without ORDER BY: counting needs no sort, and the database may pick a cheaper index.
        object_list = self.object_list
        if hasattr(object_list, "order_by"):
            object_list = object_list.order_by()
        counted = object_list[: self.limit + 1].count()
        self.is_capped = counted > self.limit
        return min(counted, self.limit)

    def page(self, number: Any) -> Page:
        """A page; past the first, its rows are found by key first and only then read in full.

        ``OFFSET 9950`` on the full rows makes the database read and throw away 9,950 whole rows; the
        keys alone come from the sort's index (``SELECT id ... ORDER BY ... LIMIT 50 OFFSET 9950``), and
        the outer query reads just those 50 rows. Still one query (the keys are a subquery).
        """
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        object_list = self.object_list
        if bottom and isinstance(object_list, QuerySet) and not object_list.query.distinct:
            keys = object_list.values("pk")[bottom:top]
            return self._get_page(object_list.filter(pk__in=keys), number, self)
        return self._get_page(object_list[bottom:top], number, self)
