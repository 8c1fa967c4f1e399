"""Activities on record pages: the list, the "Log activity" form (htmx), edit and delete."""

import pytest
from django.test import Client

from clientela.activities.models import Activity
from clientela.activities.tests.factories import ActivityFactory
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory


@pytest.fixture
def rep_client(rep):
    client = Client()
    client.force_login(rep)
    return client


def test_the_contact_page_shows_its_activities(rep_client, rep, rep_b):
    contact = ContactFactory(owner=rep)
    ActivityFactory(owner=rep, kind="note", subject="Met at fair", body="<p>Nice</p>").contacts.add(
        contact
    )
    ActivityFactory(owner=rep, subject="Elsewhere")

    response = rep_client.get(f"/contacts/{contact.pk}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Met at fair" in content
    assert "<p>Nice</p>" in content
    assert "Elsewhere" not in content
    assert 'data-testid="activity-form"' in content


def test_the_organization_page_shows_its_activities(rep_client, rep):
    organization = OrganizationFactory(owner=rep)
    ActivityFactory(owner=rep, subject="Visit").organizations.add(organization)

    response = rep_client.get(f"/organizations/{organization.pk}/")

    assert "Visit" in response.content.decode()


def test_the_contact_page_reads_a_fixed_number_of_queries(rep_client, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    contact = ContactFactory(owner=rep)
    ActivityFactory(owner=rep).contacts.add(contact)
    with CaptureQueriesContext(connection) as few:
        rep_client.get(f"/contacts/{contact.pk}/")
    for _ in range(10):
        ActivityFactory(owner=rep, kind="meeting").contacts.add(contact)
    with CaptureQueriesContext(connection) as many:
        rep_client.get(f"/contacts/{contact.pk}/")

    assert len(many) == len(few)


def test_log_a_call_with_htmx(rep_client, rep):
    contact = ContactFactory(owner=rep)

    response = rep_client.post(
        "/activities/log/",
        {
            "kind": "call",
            "record_type": "contact",
            "record_id": contact.pk,
            "subject": "Follow-up",
            "occurred_at": "2026-11-23T10:00",
            "direction": "outbound",
            "duration_minutes": "5",
            "call_outcome": "connected",
        },
        headers={"HX-Request": "true", "HX-Target": "record-activities"},
    )

    assert response.status_code == 200
    activity = Activity.objects.get()
    assert (activity.kind, activity.duration_seconds) == ("call", 300)
    assert list(activity.contacts.all()) == [contact]
    content = response.content.decode()
    assert 'id="record-activities"' in content
    assert "Follow-up" in content
    assert "<html" not in content


def test_an_invalid_activity_shows_its_errors(rep_client, rep):
    contact = ContactFactory(owner=rep)

    response = rep_client.post(
        "/activities/log/",
        {
            "kind": "note",
            "record_type": "contact",
            "record_id": contact.pk,
            "occurred_at": "2026-11-23T10:00",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert Activity.objects.count() == 0
    assert "A note needs some text." in response.content.decode()


def test_the_kind_tabs_load_the_fields_of_a_kind(rep_client, rep):
    contact = ContactFactory(owner=rep)

    response = rep_client.get(
        f"/activities/log/?kind=meeting&record_type=contact&record_id={contact.pk}",
        headers={"HX-Request": "true"},
    )

    content = response.content.decode()
    assert 'name="ends_at"' in content
    assert 'name="duration_minutes"' not in content


def test_logging_on_someone_elses_contact_is_not_found(rep_client, rep_b):
    contact = ContactFactory(owner=rep_b)

    response = rep_client.post(
        "/activities/log/",
        {
            "kind": "note",
            "record_type": "contact",
            "record_id": contact.pk,
            "body": "x",
            "occurred_at": "2026-11-23T10:00",
        },
    )

    assert response.status_code == 404
    assert Activity.objects.count() == 0


def test_edit_and_delete_an_activity(rep_client, rep):
    contact = ContactFactory(owner=rep)
    activity = ActivityFactory(owner=rep, kind="note", body="old")
    activity.contacts.add(contact)

    edited = rep_client.post(
        f"/activities/{activity.pk}/edit/",
        {"kind": "note", "body": "new", "occurred_at": "2026-11-23T10:00", "version": "1"},
    )
    activity.refresh_from_db()
    deleted = rep_client.post(f"/activities/{activity.pk}/delete/")

    assert edited.status_code == 302
    assert edited["Location"] == f"/contacts/{contact.pk}/"
    assert activity.body == "new"
    assert deleted.status_code == 302
    assert Activity.objects.count() == 0


def test_a_colleague_cannot_edit_my_activity(rep, rep_a2):
    activity = ActivityFactory(owner=rep, kind="note", body="mine")
    client = Client()
    client.force_login(rep_a2)

    response = client.post(
        f"/activities/{activity.pk}/edit/",
        {"kind": "note", "body": "theirs", "occurred_at": "2026-11-23T10:00"},
    )

    assert response.status_code == 404
    activity.refresh_from_db()
    assert activity.body == "mine"
