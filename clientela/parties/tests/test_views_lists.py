import re
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientela.core.services import custom_field_definition_create
from clientela.parties.models import Contact
from clientela.parties.selectors import LIST_COLUMNS, LIST_COLUMNS_DEFAULT
from clientela.parties.services import contact_create, list_columns_set, organization_create
from clientela.parties.tests.factories import (
    AffiliationFactory,
    ContactFactory,
    OrganizationFactory,
)
from clientela.parties.views.records import CONTACT_COLUMNS, ORGANIZATION_COLUMNS

CONTACTS = reverse("parties:contact_list")
ORGANIZATIONS = reverse("parties:organization_list")
HTMX = {"HX-Request": "true", "HX-Target": "results"}


def _names(response, kind="contact"):
    """The names in the list's rows, in order."""
    html = response.content.decode()
    return re.findall(
        # (after the bulk selection's checkbox cell, for those who may change records)
        rf'<tr data-testid="{kind}-row">\s*(?:<td class="select-column">.*?</td>\s*)?'
        rf'<td[^>]*><a href="[^"]+">([^<]+)</a>',
        html,
    )


def test_contact_list_shows_what_the_person_may_see_sorted_by_last_name(client, rep, rep_a2, rep_b):
    ContactFactory(first_name="Own", last_name="Zeta", owner=rep)
    ContactFactory(first_name="Shared", last_name="Alpha", owner=rep_a2, is_shared_with_team=True)
    ContactFactory(first_name="Private", last_name="Beta", owner=rep_a2, is_shared_with_team=False)
    ContactFactory(first_name="Other", last_name="Gamma", owner=rep_b)
    client.force_login(rep)

    response = client.get(CONTACTS)

    assert response.status_code == 200
    assert _names(response) == ["Shared Alpha", "Own Zeta"]
    assert response.context["page"].paginator.count == 2


def test_contact_list_filters_by_lifecycle_stage(client, rep):
    ContactFactory(first_name="Ana", last_name="Lead", owner=rep, lifecycle_stage="lead")
    ContactFactory(first_name="Bo", last_name="Customer", owner=rep, lifecycle_stage="customer")
    ContactFactory(first_name="Cy", last_name="Evangelist", owner=rep, lifecycle_stage="evangelist")
    client.force_login(rep)

    response = client.get(CONTACTS, {"lifecycle_stage": ["customer", "evangelist"]})

    assert _names(response) == ["Bo Customer", "Cy Evangelist"]


def test_contact_list_filters_by_owner_tag_and_country(client, manager, rep):
    wanted = contact_create(
        actor=rep, first_name="Ana", last_name="Wanted", country="DK", tags=["VIP"]
    )
    contact_create(actor=rep, first_name="Bo", last_name="Elsewhere", country="SE", tags=["VIP"])
    contact_create(actor=rep, first_name="Cy", last_name="Untagged", country="DK")
    contact_create(actor=manager, first_name="Di", last_name="Managers", country="DK", tags=["VIP"])
    tag = wanted.tags.get()
    client.force_login(manager)

    response = client.get(CONTACTS, {"owner": rep.pk, "tags": tag.pk, "country": "DK"})

    assert _names(response) == ["Ana Wanted"]


def test_contact_list_filters_by_organization_from_the_organization_page_link(client, rep):
    acme = OrganizationFactory(name="Acme", owner=rep)
    AffiliationFactory(
        contact=ContactFactory(first_name="Ana", last_name="Acme", owner=rep), organization=acme
    )
    ContactFactory(first_name="Bo", last_name="Nowhere", owner=rep)
    client.force_login(rep)

    response = client.get(CONTACTS, {"organization": acme.pk})

    assert _names(response) == ["Ana Acme"]
    assert "Only people at Acme." in response.content.decode()


def test_contact_list_sorts_by_created_descending_and_marks_the_column(client, rep):
    for name in ("First", "Second", "Third"):
        contact_create(actor=rep, first_name=name, last_name="Person")
    client.force_login(rep)

    response = client.get(CONTACTS, {"sort": "-created"})

    assert _names(response) == ["Third Person", "Second Person", "First Person"]
    html = response.content.decode()
    assert (
        '<th scope="col" aria-sort="descending"><a href="?sort=created" hx-get="/contacts/?sort=created"'
        in html
    )
    assert '<span class="sort-indicator" aria-hidden="true">▼</span>' in html


def test_contact_list_ignores_a_sort_that_is_not_allowlisted(client, rep):
    ContactFactory(first_name="Bo", last_name="Beta", owner=rep)
    ContactFactory(first_name="Ana", last_name="Alpha", owner=rep)
    client.force_login(rep)

    response = client.get(CONTACTS, {"sort": "owner__password"})

    assert response.status_code == 200
    assert _names(response) == ["Ana Alpha", "Bo Beta"]


def test_contact_list_search_finds_a_phone_typed_as_digits(client, rep):
    contact_create(actor=rep, first_name="Ana", last_name="Phone", phones=["+1 415-555-0100"])
    contact_create(actor=rep, first_name="Bo", last_name="Other", phones=["+1 415-555-0199"])
    client.force_login(rep)

    by_digits = client.get(CONTACTS, {"q": "4155550100"})
    by_local_format = client.get(CONTACTS, {"q": "(415) 555-0100"})

    assert _names(by_digits) == ["Ana Phone"]
    assert _names(by_local_format) == ["Ana Phone"]


def test_contact_list_search_finds_part_of_any_email_and_the_organization(client, rep):
    acme = organization_create(actor=rep, name="Acme Widgets")
    contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        emails=["ana@home.example", "ana.ruiz@corp.example"],
    )
    contact_create(actor=rep, first_name="Bo", last_name="Ek", organizations=[acme])
    contact_create(actor=rep, first_name="Cy", last_name="Nobody", emails=["cy@else.example"])
    client.force_login(rep)

    by_email = client.get(CONTACTS, {"q": "corp.exam"})
    by_organization = client.get(CONTACTS, {"q": "widgets"})

    assert _names(by_email) == ["Ana Ruiz"]
    assert _names(by_organization) == ["Bo Ek"]


def test_contact_list_paginates_with_the_chosen_page_size(client, rep):
    for number in range(30):
        ContactFactory(first_name="Person", last_name=f"{number:02d}", owner=rep)
    client.force_login(rep)

    first = client.get(CONTACTS, {"per_page": "25"})
    second = client.get(CONTACTS, {"per_page": "25", "page": "2"})
    default = client.get(CONTACTS, {"per_page": "7"})

    assert len(_names(first)) == 25
    assert _names(second) == [f"Person {number}" for number in range(25, 30)]
    assert "Page 2 of 2" in second.content.decode()
    assert default.context["per_page"] == 50
    assert len(_names(default)) == 30


def test_contact_list_answers_htmx_with_the_results_partial_only(client, rep):
    ContactFactory(first_name="Ana", last_name="Ruiz", owner=rep)
    client.force_login(rep)

    partial = client.get(CONTACTS, {"q": "ana"}, headers=HTMX)
    full = client.get(CONTACTS, {"q": "ana"})

    partial_html = partial.content.decode()
    assert partial_html.lstrip().startswith('<div id="results" class="results">')
    assert "<html" not in partial_html
    assert _names(partial) == ["Ana Ruiz"]
    assert "<html" in full.content.decode()
    assert (
        'hx-get="/contacts/" hx-target="#results" hx-swap="outerHTML" hx-push-url="true"'
        in full.content.decode()
    )
    assert partial["Vary"] == "HX-Request, HX-Target, Cookie, Accept-Language"


def test_contact_list_answers_an_htmx_history_restore_with_the_full_page(client, rep):
    client.force_login(rep)

    response = client.get(CONTACTS, headers={**HTMX, "HX-History-Restore-Request": "true"})

    assert "<html" in response.content.decode()


@pytest.mark.parametrize("rows", [10, 100])
def test_contact_list_fetches_the_same_number_of_queries_for_any_number_of_rows(
    client, rep, rows, django_assert_num_queries
):
    organization = OrganizationFactory(owner=rep)
    for _number in range(rows):
        contact = ContactFactory(owner=rep, primary_phone="+4532123456")
        AffiliationFactory(contact=contact, organization=organization)
    contact.tags.create(name="VIP")
    client.force_login(rep)
    client.get(CONTACTS)  # the session and content types are warm from here on

    # session, user, custom field definitions (filters), count, filter choices (owners, teams, tags),
    # page, 2 prefetches (tags, affiliations with their organizations' names), session save
    # (savepoint, update, release)
    with django_assert_num_queries(13):
        response = client.get(CONTACTS, {"per_page": "100", "sort": "-created"})

    assert len(_names(response)) == rows


@pytest.mark.parametrize("rows", [10, 100])
def test_organization_list_fetches_the_same_number_of_queries_for_any_number_of_rows(
    client, rep, rows, django_assert_num_queries
):
    for _number in range(rows):
        OrganizationFactory(owner=rep, annual_revenue="1000.00", currency="EUR")
    client.force_login(rep)
    client.get(ORGANIZATIONS)

    # session, user, custom field definitions, count, filter choices (owners, teams, tags), page,
    # tags prefetch, session save (savepoint, update, release)
    with django_assert_num_queries(12):
        response = client.get(ORGANIZATIONS, {"per_page": "100"})

    assert len(_names(response, "organization")) == rows


def test_organization_list_filters_searches_and_shows_money_in_its_currency(client, rep):
    OrganizationFactory(
        name="Acme",
        owner=rep,
        country="DK",
        industry="software",
        annual_revenue="1234.50",
        currency="EUR",
    )
    OrganizationFactory(name="Bolt", owner=rep, country="SE", industry="software")
    OrganizationFactory(name="Crane", owner=rep, country="DK", industry="retail")
    client.force_login(rep)
    client.post(reverse("parties:organization_columns"), {"columns": ["revenue", "country"]})

    filtered = client.get(ORGANIZATIONS, {"industry": "software", "country": "DK"})
    searched = client.get(ORGANIZATIONS, {"q": "bol"})

    assert _names(filtered, "organization") == ["Acme"]
    html = filtered.content.decode()
    assert '<td class="numeric">€1,234.50</td>' in html
    assert "<td>Denmark</td>" in html
    assert _names(searched, "organization") == ["Bolt"]


def test_list_columns_are_saved_per_person_and_shown(client, rep, rep_a2):
    ContactFactory(first_name="Ana", last_name="Ruiz", owner=rep, job_title="CTO", city="Aarhus")
    client.force_login(rep)

    response = client.post(
        reverse("parties:contact_columns"),
        {"columns": ["city", "job_title", "bogus"], "next": "/contacts/?q=ana"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/contacts/?q=ana"
    rep.refresh_from_db()
    assert rep.preferences["contacts.columns"] == ["job_title", "city"]
    html = client.get(CONTACTS).content.decode()
    assert "<td>CTO</td>" in html
    assert "<td>Aarhus</td>" in html
    assert "ana.ruiz" not in html.lower().split("<tbody>")[1]  # no email column any more
    rep_a2.refresh_from_db()
    assert rep_a2.preferences == {}


def test_list_columns_go_back_to_the_default(client, rep):
    list_columns_set(actor=rep, list_name="contacts", columns=["city"])
    client.force_login(rep)

    client.post(reverse("parties:contact_columns"), {"reset": "1", "next": "https://evil.example/"})

    rep.refresh_from_db()
    assert "contacts.columns" not in rep.preferences
    assert client.get(CONTACTS).context["shown"] == set(LIST_COLUMNS_DEFAULT["contacts"])


def test_list_columns_set_refuses_unknown_columns_and_keeps_other_preferences(rep):
    rep.preferences = {"theme": "dark", "contacts.columns": ["city"]}
    rep.save()

    with pytest.raises(ValidationError) as error:
        list_columns_set(actor=rep, list_name="contacts", columns=["city", "password"])

    assert error.value.message_dict == {"columns": ["Unknown columns: password."]}
    rep.refresh_from_db()
    assert rep.preferences == {"theme": "dark", "contacts.columns": ["city"]}


def test_list_columns_set_saves_in_display_order(rep):
    columns = list_columns_set(actor=rep, list_name="organizations", columns=["created", "domain"])

    assert columns == ["domain", "created"]
    rep.refresh_from_db()
    assert rep.preferences == {"organizations.columns": ["domain", "created"]}


def test_the_pages_offer_exactly_the_allowlisted_columns():
    assert tuple(column.key for column in CONTACT_COLUMNS) == LIST_COLUMNS["contacts"]
    assert tuple(column.key for column in ORGANIZATION_COLUMNS) == LIST_COLUMNS["organizations"]


def test_the_search_box_is_marked_for_the_slash_shortcut(client, rep):
    client.force_login(rep)

    html = client.get(CONTACTS).content.decode()

    assert '<input type="search" name="q" id="contacts-filters-q" value="" data-search' in html


def test_contact_list_filters_by_a_custom_field(client, admin_user, rep):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold", "Silver"],
    )
    contact_create(actor=rep, first_name="Ana", last_name="Gold", custom_fields={"tier": "Gold"})
    contact_create(actor=rep, first_name="Bo", last_name="Silver", custom_fields={"tier": "Silver"})
    client.force_login(rep)

    response = client.get(CONTACTS, {"cf_tier": "Gold"})

    assert _names(response) == ["Ana Gold"]
    assert '<label for="id_cf_tier">Tier</label>' in response.content.decode()


def test_filters_never_add_distinct_and_never_repeat_a_row(client, rep):
    both = ContactFactory(owner=rep, first_name="Both", country="DK", lifecycle_stage="lead")
    ContactFactory(owner=rep, first_name="One", country="DK", lifecycle_stage="lead")
    ContactFactory(owner=rep, first_name="Other", country="SE", lifecycle_stage="lead")
    for name in ("a", "b"):
        both.tags.create(name=name)
    tags = [str(pk) for pk in both.tags.values_list("pk", flat=True)]
    client.force_login(rep)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            CONTACTS,
            {"country": ["DK", "SE"], "lifecycle_stage": ["lead"], "tags": tags, "owner": [rep.pk]},
        )

    assert _names(response) == ["Both " + both.last_name]
    assert not [query for query in queries if "DISTINCT" in query["sql"]]
    response = client.get(CONTACTS, {"country": ["DK"], "lifecycle_stage": ["lead", "customer"]})
    assert sorted(_names(response)) == sorted(
        f"{contact.first_name} {contact.last_name}"
        for contact in Contact.objects.filter(country="DK")
    )


def test_a_contact_row_shows_every_chosen_column_escaped(client, rep, settings):
    settings.LANGUAGE_CODE = "en"
    organization = OrganizationFactory(owner=rep, name="Acme & <Sons>")
    contact = ContactFactory(
        first_name="Ana<b>",
        last_name="Ruiz",
        owner=rep,
        primary_email="ana@example.com",
        primary_phone="+4532123456",
        job_title="CTO & founder",
        lifecycle_stage="customer",
        city="Aarhus",
        country="DK",
    )
    AffiliationFactory(contact=contact, organization=organization)
    contact.tags.create(name="VIP")
    Contact.objects.filter(pk=contact.pk).update(
        created_at=datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    )
    list_columns_set(actor=rep, list_name="contacts", columns=list(LIST_COLUMNS["contacts"]))
    rep.time_zone = "Europe/Copenhagen"
    rep.save(update_fields=["time_zone"])
    client.force_login(rep)

    html = client.get(CONTACTS).content.decode()

    row = re.search(r'<tr data-testid="contact-row">.*?</tr>', html, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0] == (
        f'<input type="checkbox" name="ids" value="{contact.pk}" form="contacts-bulk" data-bulk-row '
        'aria-label="Select Ana&lt;b&gt; Ruiz">'
    )
    assert cells[1:] == [
        f'<a href="/contacts/{contact.pk}/">Ana&lt;b&gt; Ruiz</a>',
        '<a href="mailto:ana@example.com">ana@example.com</a>',
        "+45 32 12 34 56",
        f'<a href="/organizations/{organization.pk}/">Acme &amp; &lt;Sons&gt;</a>',
        "CTO &amp; founder",
        "Customer",
        '<span class="tag">VIP</span>',
        str(rep),
        str(contact.team or ""),
        "Aarhus",
        "Denmark",
        # in the person's time zone, an hour ahead of UTC in March
        '<time datetime="2026-03-05T00:30:00+01:00">03/05/2026</time>',
    ]
