"""CappedPaginator: capped counts and deep pages read by key."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientela.core.models import Tag
from clientela.core.pagination import CappedPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def tags():
    return [Tag.objects.create(name=f"t{number:02}").pk for number in range(23)]


def test_every_page_holds_the_rows_of_its_slice_in_order(tags):
    paginator = CappedPaginator(Tag.objects.order_by("-name"), 5)
    expected = list(Tag.objects.order_by("-name").values_list("pk", flat=True))

    pages = [[tag.pk for tag in paginator.page(number)] for number in paginator.page_range]

    assert pages == [expected[start : start + 5] for start in range(0, 23, 5)]
    assert (paginator.count, paginator.num_pages, paginator.is_capped) == (23, 5, False)


def test_a_deep_page_finds_its_keys_in_a_subquery_and_reads_only_those_rows(tags):
    paginator = CappedPaginator(Tag.objects.order_by("name"), 5)
    paginator.count  # noqa: B018 - counted before, as pages do

    with CaptureQueriesContext(connection) as queries:
        rows = list(paginator.page(3))

    assert [tag.name for tag in rows] == ["t10", "t11", "t12", "t13", "t14"]
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert " IN (SELECT " in sql
    assert "OFFSET 10" in sql


def test_the_first_page_is_a_plain_slice(tags):
    paginator = CappedPaginator(Tag.objects.order_by("name"), 5)
    paginator.count  # noqa: B018

    with CaptureQueriesContext(connection) as queries:
        rows = list(paginator.page(1))

    assert [tag.name for tag in rows] == ["t00", "t01", "t02", "t03", "t04"]
    assert " IN (SELECT " not in queries[0]["sql"]


def test_a_count_past_the_limit_is_capped(tags):
    paginator = CappedPaginator(Tag.objects.order_by("name"), 5, limit=10)

    assert (paginator.count, paginator.is_capped, paginator.num_pages) == (10, True, 2)
    assert [tag.name for tag in paginator.page(2)] == ["t05", "t06", "t07", "t08", "t09"]
