"""Paging through long lists without counting a million rows on every page (ADR 0017)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
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
