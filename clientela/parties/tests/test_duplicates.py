"""Duplicate detection (each rule's score and reasons), the review queue page and "not duplicates"."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientela.parties.duplicates import (
    KEY_GROUP_MAX,
    duplicate_dismiss,
    duplicates_detect,
    duplicates_detect_for,
    name_likeness,
    organization_name_key,
)
from clientela.parties.models import Affiliation, DuplicateCandidate
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("parties:duplicate_list")


def _contact(owner, first, last, *, email="", phone="", city="", country="", organization=None):
    contact = ContactFactory(
        owner=owner,
        first_name=first,
        last_name=last,
        primary_email=email,
        primary_phone=phone,
        city=city,
        country=country,
    )
    if organization is not None:
        Affiliation.objects.create(contact=contact, organization=organization)
        # The factory indexed the contact before it had an organization: as the services would.
        from clientela.parties.search import contact_search_text_refresh

        contact_search_text_refresh([contact.pk])
    return contact


def _pairs(record_type="contacts"):
    """{(first id, second id): (score, reasons, status)} of the queue."""
    first, second = (
        ("first_contact_id", "second_contact_id")
        if record_type == "contacts"
        else ("first_organization_id", "second_organization_id")
    )
    return {
        (row[first], row[second]): (row["score"], row["reasons"], row["status"])
        for row in DuplicateCandidate.objects.filter(record_type=record_type).values(
            first, second, "score", "reasons", "status"
        )
    }


# -- comparing names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "likeness"),
    [
        (("ana", "ruiz"), ("ana", "ruiz"), "same"),
        (("ana", "ruiz"), ("ana", "ruis"), "close1"),
        (("christina", "hansen"), ("christine", "hanssen"), "close2"),
        (("a", "ruiz"), ("ana", "ruiz"), "initial"),
        (("chris", "lee"), ("christopher", "lee"), "initial"),
        (("ana", "ruiz"), ("andrea", "ruiz"), None),
        (("bo", "li"), ("bo", "lu"), None),
        (("", "ruiz"), ("ana", "ruiz"), None),
    ],
)
def test_name_likeness(first, second, likeness):
    assert name_likeness(first, second) == likeness


def test_organization_names_are_compared_without_case_accents_punctuation_or_legal_form():
    assert organization_name_key("Café Nørd A/S") == "cafe nord"
    assert organization_name_key("CAFE NORD") == "cafe nord"
    assert organization_name_key("Acme, Inc.") == "acme"
    assert organization_name_key("Co") == "co"


# -- contact rules -------------------------------------------------------------------------------


def test_the_same_email_in_any_case_scores_95(rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    other = _contact(rep, "Maria", "Lopez", email="ANA@Acme.example")
    _contact(rep, "Bo", "Berg", email="bo@acme.example")

    counts = duplicates_detect(record_type="contacts")

    assert counts.created == 1
    assert _pairs() == {(ana.pk, other.pk): (95, ["email"], "open")}


def test_any_of_the_emails_counts_not_only_the_primary_one(rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    ana.emails.create(email="ana@home.example")
    other = _contact(rep, "Maria", "Lopez", email="ana@home.example")

    duplicates_detect(record_type="contacts")

    assert _pairs() == {(ana.pk, other.pk): (95, ["email"], "open")}


def test_the_same_phone_number_scores_85(rep):
    ana = _contact(rep, "Ana", "Ruiz", phone="+4532123456")
    other = _contact(rep, "Maria", "Lopez", phone="+4532123456")
    _contact(rep, "Bo", "Berg", phone="+4532123457")

    duplicates_detect(record_type="contacts")

    assert _pairs() == {(ana.pk, other.pk): (85, ["phone"], "open")}


@pytest.mark.parametrize(
    ("first", "second", "score"),
    [
        (("Ana", "Ruiz"), ("Ana", "Ruiz"), 90),
        (("José", "García"), ("Jose", "Garcia"), 90),
        (("Ana", "Ruiz"), ("Ana", "Ruis"), 85),
        (("Christina", "Hansen"), ("Kristine", "Hansen"), None),  # other initial: never compared
        (("Christina", "Hansen"), ("Christine", "Hanssen"), 80),
        (("A.", "Ruiz"), ("Ana", "Ruiz"), 75),
        (("Ana", "Ruiz"), ("Andrea", "Ruiz"), None),
    ],
)
def test_similar_names_at_the_same_organization_score_75_to_90(rep, first, second, score):
    acme = OrganizationFactory(owner=rep, name="Acme")
    one = _contact(rep, *first, organization=acme)
    two = _contact(rep, *second, organization=acme)
    _contact(rep, *first, organization=OrganizationFactory(owner=rep, name="Elsewhere"))

    duplicates_detect(record_type="contacts")

    pairs = {pair: value for pair, value in _pairs().items() if set(pair) == {one.pk, two.pk}}
    expected = {} if score is None else {(one.pk, two.pk): (score, ["name_organization"], "open")}
    assert pairs == expected


@pytest.mark.parametrize(
    ("first", "second", "score"),
    [
        (("Ana", "Ruiz", "Aarhus", "DK"), ("ana", "RUIZ", "aarhus", "DK"), 75),
        (("Jon", "Ruiz", "Aarhus", "DK"), ("John", "Ruiz", "Aarhus", "DK"), 70),
        (("A", "Ruiz", "Aarhus", "DK"), ("Ana", "Ruiz", "Aarhus", "DK"), 60),
        (("Ana", "Ruiz", "Aarhus", "DK"), ("Ana", "Ruiz", "Odense", "DK"), None),
        (("Ana", "Ruiz", "Paris", "FR"), ("Ana", "Ruiz", "Paris", "US"), None),
    ],
)
def test_similar_names_in_the_same_city_and_country_score_60_to_75(rep, first, second, score):
    one = _contact(rep, first[0], first[1], city=first[2], country=first[3])
    two = _contact(rep, second[0], second[1], city=second[2], country=second[3])

    duplicates_detect(record_type="contacts")

    expected = {} if score is None else {(one.pk, two.pk): (score, ["name_city"], "open")}
    assert _pairs() == expected


def test_several_reasons_add_5_each_to_the_best_one_up_to_100(rep):
    acme = OrganizationFactory(owner=rep, name="Acme")
    ana = _contact(rep, "Ana", "Ruiz", phone="+4532123456", city="Aarhus", country="DK")
    ana_again = _contact(rep, "Ana", "Ruiz", phone="+4532123456", city="Aarhus", country="DK")
    bo = _contact(
        rep, "Bo", "Berg", email="bo@acme.example", phone="+4511111111", organization=acme
    )
    bo_again = _contact(
        rep, "Bo", "Berg", email="bo@acme.example", phone="+4511111111", organization=acme
    )

    duplicates_detect(record_type="contacts")

    assert _pairs() == {
        (ana.pk, ana_again.pk): (90, ["phone", "name_city"], "open"),
        (bo.pk, bo_again.pk): (100, ["email", "name_organization", "phone"], "open"),
    }


def test_a_mailbox_shared_by_more_than_the_group_limit_is_not_evidence(rep):
    for index in range(KEY_GROUP_MAX + 1):
        _contact(rep, f"Person{index}", f"Family{index}", email="info@acme.example")

    duplicates_detect(record_type="contacts")

    assert _pairs() == {}


# -- organization rules --------------------------------------------------------------------------


def test_organizations_with_the_same_domain_score_95(rep):
    one = OrganizationFactory(owner=rep, name="Acme", domain="acme.example")
    two = OrganizationFactory(owner=rep, name="Rocket Works", domain="acme.example")
    OrganizationFactory(owner=rep, name="Other", domain="other.example")

    duplicates_detect(record_type="organizations")

    assert _pairs("organizations") == {(one.pk, two.pk): (95, ["domain"], "open")}


def test_organizations_with_the_same_normalized_name_score_90(rep):
    one = OrganizationFactory(owner=rep, name="Café Nørd A/S", city="Aarhus")
    two = OrganizationFactory(owner=rep, name="CAFE NORD", city="Odense")

    duplicates_detect(record_type="organizations")

    assert _pairs("organizations") == {(one.pk, two.pk): (90, ["name"], "open")}


def test_organizations_with_similar_names_in_the_same_city_score_70(rep):
    one = OrganizationFactory(owner=rep, name="Nordic Foods", city="Aarhus", country="DK")
    two = OrganizationFactory(owner=rep, name="Nordic Food", city="aarhus", country="DK")
    OrganizationFactory(owner=rep, name="Nordic Fods", city="Odense", country="DK")

    duplicates_detect(record_type="organizations")

    assert _pairs("organizations") == {(one.pk, two.pk): (70, ["name_city"], "open")}


def test_organizations_with_the_same_domain_and_name_score_100(rep):
    one = OrganizationFactory(owner=rep, name="Acme", domain="acme.example")
    two = OrganizationFactory(owner=rep, name="ACME Inc", domain="acme.example")

    duplicates_detect(record_type="organizations")

    assert _pairs("organizations") == {(one.pk, two.pk): (100, ["domain", "name"], "open")}


# -- keeping the queue current -------------------------------------------------------------------


def test_detecting_again_adds_nothing_twice_and_dismissed_pairs_stay_dismissed(rep, manager):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    other = _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    bo = _contact(rep, "Bo", "Berg", phone="+4532123456")
    bo_again = _contact(rep, "Robert", "Berg", phone="+4532123456")
    duplicates_detect(record_type="contacts")
    duplicate_dismiss(actor=manager, candidate=DuplicateCandidate.objects.get(first_contact=ana))

    counts = duplicates_detect(record_type="contacts")

    assert (counts.created, counts.updated, counts.removed) == (0, 0, 0)
    assert _pairs() == {
        (ana.pk, other.pk): (95, ["email"], "dismissed"),
        (bo.pk, bo_again.pk): (85, ["phone"], "open"),
    }


def test_open_pairs_that_no_longer_look_alike_leave_the_queue_and_scores_follow_changes(rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example", phone="+4532123456")
    other = _contact(rep, "Maria", "Lopez", email="ana@acme.example", phone="+4532123456")
    bo = _contact(rep, "Bo", "Berg", phone="+4511111111")
    bo_again = _contact(rep, "Robert", "Berg", phone="+4511111111")
    duplicates_detect(record_type="contacts")
    other.emails.all().delete()
    bo_again.phones.all().delete()

    counts = duplicates_detect(record_type="contacts")

    assert (counts.created, counts.updated, counts.removed) == (0, 1, 1)
    assert _pairs() == {(ana.pk, other.pk): (85, ["phone"], "open")}
    assert not DuplicateCandidate.objects.filter(first_contact=bo, second_contact=bo_again).exists()


def test_detect_for_touches_only_pairs_of_the_given_records(rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    ana_again = _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    bo = _contact(rep, "Bo", "Berg", email="bo@acme.example")
    bo_again = _contact(rep, "Robert", "Berg", email="bo@acme.example")
    cy = _contact(rep, "Cy", "Dahl", email="cy@acme.example")
    dy = _contact(rep, "Dy", "Dahl", email="dy@acme.example")
    # Stale pairs: one of a given record (goes), one of others (stays as it is).
    DuplicateCandidate.objects.create(
        record_type="contacts", first_contact=cy, second_contact=dy, score=60, reasons=["x"]
    )
    DuplicateCandidate.objects.create(
        record_type="contacts", first_contact=ana, second_contact=dy, score=60, reasons=["x"]
    )

    created = duplicates_detect_for(record_type="contacts", ids=[ana.pk])

    assert created == 1
    assert _pairs() == {
        (ana.pk, ana_again.pk): (95, ["email"], "open"),
        (cy.pk, dy.pk): (60, ["x"], "open"),
    }
    assert not DuplicateCandidate.objects.filter(first_contact=bo, second_contact=bo_again).exists()


def test_detect_for_organizations_finds_pairs_of_the_given_ones_only(rep):
    acme = OrganizationFactory(owner=rep, name="Acme")
    acme_again = OrganizationFactory(owner=rep, name="ACME Inc")
    OrganizationFactory(owner=rep, name="Beta")
    OrganizationFactory(owner=rep, name="Beta GmbH")

    created = duplicates_detect_for(record_type="organizations", ids=[acme_again.pk])

    assert created == 1
    assert _pairs("organizations") == {(acme.pk, acme_again.pk): (90, ["name"], "open")}


def test_detect_for_with_many_ids_scans_once_and_keeps_to_them(rep, settings, monkeypatch):
    from clientela.parties import duplicates

    monkeypatch.setattr(duplicates, "FULL_SCAN_IDS", 1)
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    ana_again = _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    _contact(rep, "Bo", "Berg", email="bo@acme.example")
    _contact(rep, "Robert", "Berg", email="bo@acme.example")

    created = duplicates_detect_for(record_type="contacts", ids=[ana.pk, ana_again.pk])

    assert created == 1
    assert list(_pairs()) == [(ana.pk, ana_again.pk)]


def test_the_command_scans_both_record_types(rep):
    _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    OrganizationFactory(owner=rep, name="Acme")
    OrganizationFactory(owner=rep, name="Acme Ltd")
    from io import StringIO

    out = StringIO()
    call_command("duplicates", "detect", stdout=out)
    call_command("duplicates", "detect", "--record-type", "organizations", stdout=out)

    assert out.getvalue().splitlines() == [
        "contacts: 1 new, 0 updated, 0 removed possible duplicates.",
        "organizations: 1 new, 0 updated, 0 removed possible duplicates.",
        "organizations: 0 new, 0 updated, 0 removed possible duplicates.",
    ]


# -- the review queue ----------------------------------------------------------------------------


def _queue_names(response):
    return re.findall(
        r'<h2 class="card-title"><a href="[^"]+">([^<]+)</a>', response.content.decode()
    )


def test_the_queue_shows_pairs_best_first_with_both_records_and_the_reasons(client, manager, rep):
    acme = OrganizationFactory(owner=rep, name="Acme")
    ana = _contact(
        rep, "Ana", "Ruiz", email="ana@acme.example", city="Aarhus", country="DK", organization=acme
    )
    _contact(rep, "Ana", "Ruis", email="ana@acme.example", phone="+4532123456")
    _contact(rep, "Bo", "Berg", phone="+4511111111")
    _contact(rep, "Robert", "Berg", phone="+4511111111")
    duplicates_detect(record_type="contacts")
    client.force_login(manager)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert _queue_names(response) == ["Ana Ruiz", "Ana Ruis", "Bo Berg", "Robert Berg"]
    html = response.content.decode()
    assert "Confidence 95%" in html
    assert "Same email address" in html
    assert "Same phone number" in html
    assert "Acme" in html
    assert "Aarhus, Denmark" in html
    assert f"/contacts/merge/?ids={ana.pk}," in html
    assert "2 pairs to review" in html


def test_the_queue_leaves_out_pairs_with_a_record_the_person_may_not_see(
    client, manager, rep, rep_b
):
    _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep_b, "Ana", "Ruiz", email="ana@acme.example")
    duplicates_detect(record_type="contacts")
    client.force_login(manager)

    response = client.get(QUEUE)

    assert DuplicateCandidate.objects.count() == 1
    assert _queue_names(response) == []
    assert "No possible duplicates among the contacts you can see." in response.content.decode()


def test_the_organization_queue(client, admin_user, rep):
    OrganizationFactory(owner=rep, name="Acme", domain="acme.example")
    OrganizationFactory(owner=rep, name="Acme Inc", domain="acme.example")
    duplicates_detect(record_type="organizations")
    client.force_login(admin_user)

    response = client.get(QUEUE, {"type": "organizations"})

    assert _queue_names(response) == ["Acme", "Acme Inc"]
    assert "Same website domain" in response.content.decode()
    assert "Confidence 100%" in response.content.decode()


def test_the_queue_of_one_record(client, manager, rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    _contact(rep, "Bo", "Berg", phone="+4511111111")
    _contact(rep, "Robert", "Berg", phone="+4511111111")
    duplicates_detect(record_type="contacts")
    client.force_login(manager)

    response = client.get(QUEUE, {"record": ana.pk})

    assert _queue_names(response) == ["Ana Ruiz", "Maria Lopez"]
    assert "Only pairs with Ana Ruiz." in response.content.decode()


def test_the_queue_needs_the_merge_permission(client, rep):
    client.force_login(rep)

    assert client.get(QUEUE).status_code == 403


def test_the_queue_runs_the_same_number_of_queries_whatever_the_number_of_pairs(
    client, manager, rep, django_assert_num_queries
):
    def pairs(count, offset):
        for index in range(offset, offset + count):
            acme = OrganizationFactory(owner=rep, name=f"Company {index}")
            for _ in range(2):
                _contact(
                    rep, "Ana", f"Ruiz{index}", email=f"ana{index}@acme.example", organization=acme
                )
        duplicates_detect(record_type="contacts")

    client.force_login(manager)
    pairs(2, 0)
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    pairs(10, 2)

    # session and user, the count, the page of pairs, their contacts, then their tags, emails, phones
    # and affiliations (with organizations), and the session saved (3)
    with django_assert_num_queries(12):
        response = client.get(QUEUE)

    assert len(_queue_names(response)) == 24
    assert len(few) == 12


def test_the_list_pages_link_to_the_queue_for_those_who_may_merge(client, manager, rep):
    client.force_login(manager)
    assert (
        'data-testid="duplicates"' in client.get(reverse("parties:contact_list")).content.decode()
    )
    assert (
        'href="/duplicates/?type=organizations"'
        in client.get(reverse("parties:organization_list")).content.decode()
    )
    client.force_login(rep)
    assert (
        'data-testid="duplicates"'
        not in client.get(reverse("parties:contact_list")).content.decode()
    )


def test_a_contact_page_tells_how_many_possible_duplicates_it_has(client, manager, rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example", phone="+4532123456")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    _contact(rep, "Ana", "Ruiz", phone="+4532123456")
    duplicates_detect(record_type="contacts")
    client.force_login(manager)

    html = client.get(reverse("parties:contact_detail", args=[ana.pk])).content.decode()

    assert "Possible duplicates: 2" in html
    assert f'href="/duplicates/?type=contacts&amp;record={ana.pk}"' in html
    client.force_login(rep)
    assert (
        "Possible duplicates"
        not in client.get(reverse("parties:contact_detail", args=[ana.pk])).content.decode()
    )


def test_looking_for_duplicates_now_from_the_queue(
    client, manager, rep, django_capture_on_commit_callbacks
):
    _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("parties:duplicate_scan"), {"type": "contacts"})

    assert response.status_code == 302
    assert response["Location"] == "/duplicates/?type=contacts"
    # Enqueued after commit; the tests' task backend runs it at once.
    assert len(callbacks) == 1
    assert DuplicateCandidate.objects.count() == 1
    client.force_login(rep)
    assert client.post(reverse("parties:duplicate_scan")).status_code == 403


# -- not duplicates ------------------------------------------------------------------------------


def test_not_duplicates_takes_the_pair_out_of_the_queue(client, manager, rep):
    ana = _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    duplicates_detect(record_type="contacts")
    candidate = DuplicateCandidate.objects.get()
    client.force_login(manager)

    response = client.post(
        reverse("parties:duplicate_dismiss", args=[candidate.pk]), {"next": "/duplicates/?page=1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/duplicates/?page=1"
    candidate.refresh_from_db()
    assert (candidate.status, candidate.resolved_by) == ("dismissed", manager)
    assert candidate.resolved_at is not None
    assert _queue_names(client.get(QUEUE)) == []
    assert ana.pk in (candidate.first_contact_id, candidate.second_contact_id)


def test_not_duplicates_through_htmx_answers_the_row_replacement(client, manager, rep):
    _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    duplicates_detect(record_type="contacts")
    candidate = DuplicateCandidate.objects.get()
    client.force_login(manager)

    response = client.post(
        reverse("parties:duplicate_dismiss", args=[candidate.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert response.content.decode().strip() == (
        '<p class="duplicate-dismissed muted" role="status" data-testid="dismissed">'
        "Marked as not duplicates.</p>"
    )


def test_not_duplicates_needs_the_merge_permission_and_both_records_visible(
    client, manager, rep, rep_b
):
    _contact(rep, "Ana", "Ruiz", email="ana@acme.example")
    _contact(rep, "Maria", "Lopez", email="ana@acme.example")
    _contact(rep_b, "Bo", "Berg", phone="+4511111111")
    _contact(rep, "Robert", "Berg", phone="+4511111111")
    duplicates_detect(record_type="contacts")
    visible = DuplicateCandidate.objects.get(reasons=["email"])
    hidden = DuplicateCandidate.objects.get(reasons=["phone"])

    client.force_login(rep)
    assert client.post(reverse("parties:duplicate_dismiss", args=[visible.pk])).status_code == 403
    client.force_login(manager)
    assert client.post(reverse("parties:duplicate_dismiss", args=[hidden.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        duplicate_dismiss(actor=rep, candidate=visible)

    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"open"}
