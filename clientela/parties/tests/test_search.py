"""Search across contacts and organizations: the global search box, its results page and the API."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientela.parties.models import Contact
from clientela.parties.services import contact_create, contact_update, organization_create
from clientela.parties.tests.factories import (
    AffiliationFactory,
    ContactFactory,
    OrganizationFactory,
)

SEARCH = reverse("parties:search")
LIVE = reverse("parties:search_live")
API = "/api/v1/search/"
HTMX = {"HX-Request": "true", "HX-Target": "global-search-listbox"}
# What a search of both types reads: contacts, their visible organizations, organizations; on
# PostgreSQL each type in two queries (names that start with the text, then the others).
SEARCH_QUERIES = 3 if connection.vendor == "sqlite" else 5


def _options(response):
    """The (name, link) of each option of the live results, in order."""
    html = response.content.decode()
    return re.findall(
        r'<a role="option" id="[^"]+" href="([^"]+)"[^>]*>\s*'
        r'<span class="global-search-name">([^<]+)</span>',
        html,
    )


def _option_names(response):
    return [name for _link, name in _options(response)]


def _rows(response, kind):
    html = response.content.decode()
    return re.findall(
        rf'<tr data-testid="{kind}-row">\s*<td[^>]*><a href="[^"]+">([^<]+)</a>', html
    )


@pytest.fixture
def world(rep):
    """Records of ``rep`` as the services write them."""
    acme = organization_create(
        actor=rep, name="Acme Widgets", website="https://acme.example", city="Oakland"
    )
    jose = contact_create(
        actor=rep,
        first_name="José",
        last_name="Ruiz",
        emails=["jose.ruiz@example.com"],
        phones=["+1 415-555-0100"],
        organizations=[acme],
    )
    contact_create(actor=rep, first_name="Kari", last_name="Ødegård", phones=["+45 20 12 34 56"])
    contact_create(actor=rep, first_name="प्रिया", last_name="शर्मा")
    return {"acme": acme, "jose": jose}


# -- the global search box -----------------------------------------------------------------------


def test_every_page_has_the_global_search_box_for_people_who_may_see_contacts(client, rep):
    client.force_login(rep)

    html = client.get(reverse("parties:organization_list")).content.decode()

    assert '<form role="search" method="get" action="/search/" class="global-search-form">' in html
    assert 'hx-get="/search/live/" hx-trigger="input changed delay:150ms, search"' in html
    assert 'role="combobox" aria-autocomplete="list" aria-expanded="false"' in html
    assert 'aria-controls="global-search-listbox"' in html
    assert 'aria-keyshortcuts="Control+K Meta+K" data-global-search' in html
    assert '<div id="global-search-listbox" role="listbox"' in html
    assert ">Ctrl K</kbd>" in html


def test_the_global_search_box_is_not_shown_to_visitors(client):
    html = client.get(reverse("identity:login")).content.decode()

    assert "global-search" not in html


def test_the_global_box_does_not_take_the_slash_shortcut_from_the_pages_own_box(client, rep):
    client.force_login(rep)

    html = client.get(reverse("parties:contact_list")).content.decode()

    # "/" focuses [data-search] (the list's own box) when there is one; the header box is the other.
    assert len(re.findall(r"<input[^>]*\sdata-search[\s>]", html)) == 1
    assert html.count("data-global-search") == 1


# -- live results --------------------------------------------------------------------------------


def test_live_results_list_contacts_and_organizations_as_links(client, rep, world):
    client.force_login(rep)

    response = client.get(LIVE, {"q": "acme"}, headers=HTMX)

    jose, acme = world["jose"], world["acme"]
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert _options(response) == [
        (f"/contacts/{jose.pk}/", "José Ruiz"),
        (f"/organizations/{acme.pk}/", "Acme Widgets"),
    ]
    html = response.content.decode()
    assert "jose.ruiz@example.com · Acme Widgets" in html
    assert "acme.example · Oakland" in html
    assert 'href="/search/?q=acme"' in html
    assert "See all results for “acme”" in html
    assert '<div id="global-search-status" hx-swap-oob="innerHTML">2 results</div>' in html


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("jose", ["José Ruiz"]),
        ("JOSÉ", ["José Ruiz"]),
        ("ODEGARD", ["Kari Ødegård"]),
        ("प्रिया", ["प्रिया शर्मा"]),
        ("प्रि", ["प्रिया शर्मा"]),
        ("4155550100", ["José Ruiz"]),
        ("415-555-0100", ["José Ruiz"]),
        ("(415) 555-0100", ["José Ruiz"]),
        ("+1 415 555 0100", ["José Ruiz"]),
        ("001 415 555 0100", ["José Ruiz"]),
        ("20 12 34 56", ["Kari Ødegård"]),
        ("+45 20123456", ["Kari Ødegård"]),
        ("ruiz@", ["José Ruiz"]),
        ("example.com", ["José Ruiz"]),
        ("uiz", ["José Ruiz"]),
    ],
)
def test_live_results_find_accented_partial_and_formatted_variants(
    client, rep, world, query, names
):
    client.force_login(rep)

    response = client.get(LIVE, {"q": query}, headers=HTMX)

    assert _option_names(response) == names


@pytest.mark.parametrize("query", ["", "   ", '"', "&", "()"])
def test_an_empty_query_shows_nothing_rather_than_everything(client, rep, world, query):
    client.force_login(rep)

    response = client.get(LIVE, {"q": query}, headers=HTMX)

    assert response.status_code == 200
    assert _options(response) == []
    assert "See all results" not in response.content.decode()
    assert "Nothing matches" not in response.content.decode()


def test_a_query_without_matches_says_so(client, rep, world):
    client.force_login(rep)

    response = client.get(LIVE, {"q": "zzzz"}, headers=HTMX)

    html = response.content.decode()
    assert _options(response) == []
    assert "Nothing matches “zzzz”." in html
    assert '<div id="global-search-status" hx-swap-oob="innerHTML">0 results</div>' in html


def test_live_results_show_up_to_eight_of_each_type_names_starting_with_the_query_first(
    client, rep
):
    for index in range(10):
        ContactFactory(first_name="Ana", last_name=f"Zeta{index}", owner=rep)
    ContactFactory(first_name="Bo", last_name="Santana", owner=rep)
    for index in range(9):
        OrganizationFactory(name=f"Ana Org {index}", owner=rep)
    OrganizationFactory(name="Banana", owner=rep)
    client.force_login(rep)

    response = client.get(LIVE, {"q": "ana"}, headers=HTMX)

    names = _option_names(response)
    assert names == [f"Ana Zeta{index}" for index in range(8)] + [
        f"Ana Org {index}" for index in range(8)
    ]


def test_live_results_rank_a_name_prefix_before_a_match_inside_a_word(client, rep):
    ContactFactory(first_name="Ana", last_name="Hansen", owner=rep)
    ContactFactory(first_name="Hans", last_name="Zimmer", owner=rep)
    client.force_login(rep)

    response = client.get(LIVE, {"q": "hans"}, headers=HTMX)

    assert _option_names(response) == ["Hans Zimmer", "Ana Hansen"]


def test_live_results_never_show_records_outside_ones_scope(client, rep, rep_a2, rep_b):
    ContactFactory(first_name="Ana", last_name="Mine", owner=rep)
    ContactFactory(first_name="Ana", last_name="Shared", owner=rep_a2, is_shared_with_team=True)
    ContactFactory(first_name="Ana", last_name="Private", owner=rep_a2, is_shared_with_team=False)
    ContactFactory(first_name="Ana", last_name="Elsewhere", owner=rep_b)
    OrganizationFactory(name="Ana Hidden Org", owner=rep_b)
    client.force_login(rep)

    response = client.get(LIVE, {"q": "ana"}, headers=HTMX)

    assert _option_names(response) == ["Ana Mine", "Ana Shared"]


def test_a_contact_shows_only_an_organization_one_may_see(client, rep, rep_b):
    contact = ContactFactory(first_name="Ana", last_name="Linked", owner=rep, primary_email="")
    AffiliationFactory(
        contact=contact, organization=OrganizationFactory(name="Secret", owner=rep_b)
    )
    client.force_login(rep)

    response = client.get(LIVE, {"q": "ana"}, headers=HTMX)

    assert _option_names(response) == ["Ana Linked"]
    assert "Secret" not in response.content.decode()


def test_live_results_need_a_login(client):
    response = client.get(LIVE, {"q": "ana"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_an_update_is_found_by_the_next_keystroke(client, rep, world):
    kari = Contact.objects.get(first_name="Kari")
    contact_update(actor=rep, contact=kari, last_name="Bjørnstad")
    client.force_login(rep)

    assert _option_names(client.get(LIVE, {"q": "bjornstad"}, headers=HTMX)) == ["Kari Bjørnstad"]
    assert _option_names(client.get(LIVE, {"q": "odegard"}, headers=HTMX)) == []


def _live_query_count(client, query):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIVE, {"q": query}, headers=HTMX)
    assert response.status_code == 200
    return len(queries), len(_options(response))


def test_live_results_take_a_fixed_number_of_queries(client, rep, django_assert_num_queries):
    organization = OrganizationFactory(name="Hansen Holding", owner=rep)
    for _ in range(2):
        AffiliationFactory(
            contact=ContactFactory(last_name="Hansen", owner=rep), organization=organization
        )
    client.force_login(rep)
    few, shown = _live_query_count(client, "hansen")
    assert shown == 3
    for _ in range(20):
        AffiliationFactory(
            contact=ContactFactory(last_name="Hansen", owner=rep), organization=organization
        )
    OrganizationFactory.create_batch(10, name="Hansen Again", owner=rep)

    # The session and the user, the search, and the session saved again (a savepoint, the update, its
    # release: sessions are saved on every request).
    with django_assert_num_queries(2 + SEARCH_QUERIES + 3):
        response = client.get(LIVE, {"q": "hansen"}, headers=HTMX)

    assert few == 2 + SEARCH_QUERIES + 3
    assert len(_options(response)) == 16


def test_an_empty_query_reads_no_records(client, rep, django_assert_num_queries):
    client.force_login(rep)

    # The session and the user, and the session saved again: no search at all.
    with django_assert_num_queries(5):
        client.get(LIVE, {"q": " "}, headers=HTMX)


NASTY = ['"', "'", '"ana', "%", "_", "\\", "*", "(", ")", "AND", "OR", "NOT", "NEAR(a b)",
         "a OR b", "^a", "a:*", "'a':*", "!a", "a & b", "a | b", "a <-> b", "\x00", "a\x00b",
         "';--", "{a}", "[a]", "😀", "x" * 500]  # fmt: skip


@pytest.mark.parametrize("query", NASTY)
def test_no_query_breaks_the_live_results_or_the_results_page(client, rep, world, query):
    client.force_login(rep)

    assert client.get(LIVE, {"q": query}, headers=HTMX).status_code == 200
    assert client.get(SEARCH, {"q": query}).status_code == 200


# -- the results page ----------------------------------------------------------------------------


def test_the_results_page_shows_both_types_with_their_counts(client, rep, world):
    client.force_login(rep)

    response = client.get(SEARCH, {"q": "acme"})

    html = response.content.decode()
    assert response.status_code == 200
    assert _rows(response, "contact") == ["José Ruiz"]
    assert _rows(response, "organization") == ["Acme Widgets"]
    assert ">1 contact</h2>" in html
    assert ">1 organization</h2>" in html
    assert 'value="acme" data-search' in html
    assert "all-contacts" not in html


def test_the_results_page_links_to_the_filtered_lists_when_there_are_more(client, rep):
    ContactFactory.create_batch(21, last_name="Hansen", owner=rep)
    OrganizationFactory.create_batch(22, name="Hansen Holding", owner=rep)
    client.force_login(rep)

    response = client.get(SEARCH, {"q": "hansen"})

    html = response.content.decode()
    assert len(_rows(response, "contact")) == 20
    assert len(_rows(response, "organization")) == 20
    assert ">21 contacts</h2>" in html
    assert '<a href="/contacts/?q=hansen" data-testid="all-contacts">See all 21 contacts' in html
    assert (
        '<a href="/organizations/?q=hansen" data-testid="all-organizations">'
        "See all 22 organizations" in html
    )


def test_the_results_page_takes_a_fixed_number_of_queries(client, rep, django_assert_num_queries):
    organization = OrganizationFactory(name="Hansen Holding", owner=rep)
    AffiliationFactory(
        contact=ContactFactory(last_name="Hansen", owner=rep), organization=organization
    )
    client.force_login(rep)
    with CaptureQueriesContext(connection) as few:
        client.get(SEARCH, {"q": "hansen"})
    for _ in range(25):
        AffiliationFactory(
            contact=ContactFactory(last_name="Hansen", owner=rep), organization=organization
        )
    OrganizationFactory.create_batch(25, name="Hansen Again", owner=rep)

    # The session and the user; the search; both counts; the session saved again (a savepoint, the
    # update, its release).
    with django_assert_num_queries(2 + SEARCH_QUERIES + 2 + 3):
        response = client.get(SEARCH, {"q": "hansen"})

    assert len(few) == 2 + SEARCH_QUERIES + 2 + 3
    assert len(_rows(response, "contact")) == 20
    assert len(_rows(response, "organization")) == 20


def test_the_results_page_without_a_query_explains_itself(client, rep, world):
    client.force_login(rep)

    response = client.get(SEARCH)

    assert response.status_code == 200
    assert _rows(response, "contact") == []
    assert "Find contacts and organizations by any part of a name" in response.content.decode()


def test_the_results_page_never_shows_records_outside_ones_scope(client, rep, rep_b):
    ContactFactory(first_name="Ana", last_name="Mine", owner=rep)
    ContactFactory(first_name="Ana", last_name="Elsewhere", owner=rep_b)
    OrganizationFactory(name="Ana Hidden", owner=rep_b)
    client.force_login(rep)

    response = client.get(SEARCH, {"q": "ana"})

    assert _rows(response, "contact") == ["Ana Mine"]
    assert _rows(response, "organization") == []
    assert ">0 organizations</h2>" in response.content.decode()


# -- the API -------------------------------------------------------------------------------------


def test_the_api_finds_contacts_and_organizations(api_client, rep, world):
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": "acme"})

    jose, acme = world["jose"], world["acme"]
    assert response.status_code == 200
    assert response.json() == {
        "contacts": [
            {
                "id": jose.pk,
                "url": f"http://testserver/api/v1/contacts/{jose.pk}/",
                "name": "José Ruiz",
                "email": "jose.ruiz@example.com",
                "phone": "+14155550100",
                "organization": "Acme Widgets",
            }
        ],
        "organizations": [
            {
                "id": acme.pk,
                "url": f"http://testserver/api/v1/organizations/{acme.pk}/",
                "name": "Acme Widgets",
                "domain": "acme.example",
                "city": "Oakland",
            }
        ],
    }


@pytest.mark.parametrize("query", ["4155550100", "(415) 555-0100", "+1 415 555 0100", "jose"])
def test_the_api_finds_a_contact_by_any_format_of_its_phone(api_client, rep, world, query):
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": query, "types": "contacts"})

    assert response.json() == {
        "contacts": [
            {
                "id": world["jose"].pk,
                "url": f"http://testserver/api/v1/contacts/{world['jose'].pk}/",
                "name": "José Ruiz",
                "email": "jose.ruiz@example.com",
                "phone": "+14155550100",
                "organization": "Acme Widgets",
            }
        ]
    }


def test_the_api_searches_only_the_types_asked_for(api_client, rep, world):
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": "acme", "types": "organizations"})

    assert list(response.json()) == ["organizations"]
    assert [org["name"] for org in response.json()["organizations"]] == ["Acme Widgets"]


def test_the_api_limits_each_type(api_client, rep):
    ContactFactory.create_batch(5, last_name="Hansen", owner=rep)
    OrganizationFactory.create_batch(4, name="Hansen Holding", owner=rep)
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": "hansen", "limit": 3})

    assert len(response.json()["contacts"]) == 3
    assert len(response.json()["organizations"]) == 3


@pytest.mark.parametrize("query", ["", "   ", '"'])
def test_the_api_finds_nothing_for_an_empty_query(api_client, rep, world, query):
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": query})

    assert response.status_code == 200
    assert response.json() == {"contacts": [], "organizations": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "ana", "limit": 51}, "limit"),
        ({"q": "ana", "limit": 0}, "limit"),
        ({"q": "ana", "limit": "many"}, "limit"),
        ({"q": "ana", "types": "deals"}, "types"),
        ({"q": "ana", "types": ","}, "types"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_the_api_refuses_bad_parameters_as_problem_details(api_client, rep, params, field):
    api_client.force_authenticate(rep)

    response = api_client.get(API, params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


def test_the_api_needs_authentication(api_client):
    response = api_client.get(API, {"q": "ana"})

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_api_never_shows_records_outside_ones_scope(api_client, rep, rep_b):
    ContactFactory(first_name="Ana", last_name="Mine", owner=rep)
    ContactFactory(first_name="Ana", last_name="Elsewhere", owner=rep_b)
    OrganizationFactory(name="Ana Hidden", owner=rep_b)
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": "ana"})

    assert [contact["name"] for contact in response.json()["contacts"]] == ["Ana Mine"]
    assert response.json()["organizations"] == []


@pytest.mark.parametrize("query", NASTY)
def test_no_query_breaks_the_api(api_client, rep, world, query):
    api_client.force_authenticate(rep)

    response = api_client.get(API, {"q": query[:200]})

    # DRF refuses NUL characters in text as invalid input; nothing else is refused.
    assert response.status_code == (400 if "\x00" in query else 200)


def test_the_api_takes_a_fixed_number_of_queries(api_client, rep, django_assert_num_queries):
    organization = OrganizationFactory(name="Hansen Holding", owner=rep)
    AffiliationFactory(
        contact=ContactFactory(last_name="Hansen", owner=rep), organization=organization
    )
    api_client.force_authenticate(rep)
    with CaptureQueriesContext(connection) as few:
        api_client.get(API, {"q": "hansen"})
    for _ in range(30):
        AffiliationFactory(
            contact=ContactFactory(last_name="Hansen", owner=rep), organization=organization
        )
    OrganizationFactory.create_batch(30, name="Hansen Again", owner=rep)

    with django_assert_num_queries(SEARCH_QUERIES):
        response = api_client.get(API, {"q": "hansen", "limit": 50})

    assert len(few) == SEARCH_QUERIES
    assert len(response.json()["contacts"]) == 31
    assert len(response.json()["organizations"]) == 31


def test_the_contacts_endpoint_filters_with_the_same_engine(api_client, rep, world):
    api_client.force_authenticate(rep)

    response = api_client.get("/api/v1/contacts/", {"q": "jose 415-555-0100"})
    phone = api_client.get("/api/v1/contacts/", {"q": "(415) 555-0100"})

    assert [contact["id"] for contact in response.json()["results"]] == [world["jose"].pk]
    assert [contact["id"] for contact in phone.json()["results"]] == [world["jose"].pk]
    assert Contact.objects.count() == 3


def test_the_api_search_is_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/search/"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert sorted(parameters) == ["limit", "q", "types"]
    assert parameters["q"]["required"] is True
    assert sorted(operation["responses"]) == ["200", "400", "401"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SearchResults"
    }
    assert set(schema["components"]["schemas"]["ContactHit"]["properties"]) == {
        "id",
        "url",
        "name",
        "email",
        "phone",
        "organization",
    }


@pytest.mark.parametrize(
    ("role", "organization"),
    [("admin_user", "Team B Org"), ("manager", "Team A Org"), ("rep", "Team A Org")],
)
def test_a_contact_shows_its_first_organization_that_each_role_may_see(
    request, api_client, rep, rep_b, role, organization
):
    contact = ContactFactory(first_name="Ana", last_name="Both", owner=rep)
    team_a_org = OrganizationFactory(name="Team A Org", owner=rep)
    team_b_org = OrganizationFactory(name="Team B Org", owner=rep_b)
    AffiliationFactory(contact=contact, organization=team_b_org, is_primary=True)
    AffiliationFactory(contact=contact, organization=team_a_org)
    api_client.force_authenticate(request.getfixturevalue(role))

    response = api_client.get(API, {"q": "ana both", "types": "contacts"})

    assert [hit["organization"] for hit in response.json()["contacts"]] == [organization]
