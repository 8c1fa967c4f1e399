"""Long lists count at most CLIENTELA_LIST_COUNT_LIMIT matches (ADR 0017)."""

import pytest

from clientela.parties.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

CONTACTS = "/contacts/"


def test_a_list_longer_than_the_limit_says_more_than_and_stops_paging_there(client, rep, settings):
    settings.CLIENTELA_LIST_COUNT_LIMIT = 4
    ContactFactory.create_batch(6, owner=rep)
    client.force_login(rep)

    first = client.get(CONTACTS, {"per_page": 25})
    html = first.content.decode()

    assert first.context["page"].paginator.count == 4
    assert first.context["page"].paginator.is_capped is True
    assert "More than 4 contacts match; narrow the filters to see the rest" in html
    # The page still shows the rows it can.
    assert len(first.context["page"].object_list) == 4


def test_a_list_within_the_limit_counts_exactly(client, rep, settings):
    settings.CLIENTELA_LIST_COUNT_LIMIT = 6
    ContactFactory.create_batch(6, owner=rep)
    client.force_login(rep)

    response = client.get(CONTACTS)

    assert response.context["page"].paginator.count == 6
    assert response.context["page"].paginator.is_capped is False
    assert "6 contacts" in response.content.decode()
    assert "More than" not in response.content.decode()
