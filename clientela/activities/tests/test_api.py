"""/api/v1/activities/ and /api/v1/tasks/: writes through the services, filters, scope, ETags."""

import datetime as dt

import pytest

from clientela.activities.models import Activity, Task
from clientela.activities.tests.factories import ActivityFactory, TaskFactory
from clientela.parties.tests.factories import ContactFactory
from clientela.sales.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


def test_log_a_call_and_read_it(as_rep, rep):
    contact = ContactFactory(owner=rep)
    lead = LeadFactory(owner=rep)

    response = as_rep.post(
        "/api/v1/activities/",
        {
            "kind": "call",
            "subject": "Intro",
            "occurred_at": "2026-11-23T10:00:00Z",
            "direction": "outbound",
            "duration_seconds": 90,
            "call_outcome": "connected",
            "contacts": [contact.pk],
            "leads": [lead.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    activity = Activity.objects.get()
    assert response["ETag"] == '"1"'
    data = as_rep.get(response["Location"]).json()
    assert data["kind"] == "call"
    assert data["contacts"] == [contact.pk]
    assert data["leads"] == [lead.pk]
    assert data["owner"] == rep.pk
    assert data["occurred_at"] == "2026-11-23T10:00:00Z"
    assert data["duration_seconds"] == 90
    lead.refresh_from_db()
    assert lead.first_activity_at == activity.occurred_at


def test_a_call_without_its_fields_is_a_problem(as_rep):
    response = as_rep.post("/api/v1/activities/", {"kind": "call"}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == {"direction", "duration_seconds", "call_outcome"}
    assert Activity.objects.count() == 0


def test_a_contact_one_cannot_see_is_refused(as_rep, rep_b):
    contact = ContactFactory(owner=rep_b)

    response = as_rep.post(
        "/api/v1/activities/",
        {"kind": "note", "body": "x", "contacts": [contact.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["contacts"]
    assert Activity.objects.count() == 0


def test_filter_activities_by_contact_and_kind(as_rep, rep):
    contact = ContactFactory(owner=rep)
    call = ActivityFactory(owner=rep, kind="call")
    call.contacts.add(contact)
    note = ActivityFactory(owner=rep, kind="note")
    note.contacts.add(contact)
    ActivityFactory(owner=rep, kind="call")

    both = as_rep.get(f"/api/v1/activities/?contact={contact.pk}").json()
    calls = as_rep.get(f"/api/v1/activities/?contact={contact.pk}&kind=call").json()

    assert sorted(item["id"] for item in both["results"]) == sorted([call.pk, note.pk])
    assert [item["id"] for item in calls["results"]] == [call.pk]


def test_the_activity_list_reads_a_fixed_number_of_queries(as_rep, rep, django_assert_num_queries):
    contact = ContactFactory(owner=rep)
    for _ in range(3):
        ActivityFactory(owner=rep).contacts.add(contact)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        as_rep.get("/api/v1/activities/")
    for _ in range(10):
        ActivityFactory(owner=rep).contacts.add(contact)
    with CaptureQueriesContext(connection) as many:
        response = as_rep.get("/api/v1/activities/")

    assert response.json()["count"] == 13
    assert len(many) == len(few)


def test_someone_elses_activity_is_not_found(as_rep, rep_b):
    activity = ActivityFactory(owner=rep_b)

    assert as_rep.get(f"/api/v1/activities/{activity.pk}/").status_code == 404
    assert as_rep.delete(f"/api/v1/activities/{activity.pk}/").status_code == 404
    assert Activity.objects.count() == 1


def test_change_an_activity_with_if_match(as_rep, rep):
    activity = ActivityFactory(owner=rep, kind="note", body="old")

    stale = as_rep.patch(
        f"/api/v1/activities/{activity.pk}/",
        {"body": "x"},
        format="json",
        headers={"If-Match": '"7"'},
    )
    fresh = as_rep.patch(
        f"/api/v1/activities/{activity.pk}/",
        {"body": "new"},
        format="json",
        headers={"If-Match": '"1"'},
    )

    assert stale.status_code == 412
    assert fresh.status_code == 200
    assert fresh.json()["body"] == "new"
    assert fresh["ETag"] == '"2"'


def test_create_complete_and_reopen_a_task(as_rep, rep):
    response = as_rep.post(
        "/api/v1/tasks/",
        {"title": "Offer", "due_at": "2030-01-02T09:00:00+01:00", "priority": "high"},
        format="json",
    )

    assert response.status_code == 201, response.content
    task = Task.objects.get()
    assert task.due_at == dt.datetime(2030, 1, 2, 8, 0, tzinfo=dt.UTC)
    assert response.json()["owner"] == rep.pk
    done = as_rep.post(f"/api/v1/tasks/{task.pk}/complete/")
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done["ETag"] == '"2"'
    reopened = as_rep.post(f"/api/v1/tasks/{task.pk}/reopen/")
    assert reopened.json()["status"] == "open"


def test_filter_tasks_by_status_owner_and_due_range(as_rep, rep, rep_a2):
    early = TaskFactory(owner=rep, due_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    TaskFactory(owner=rep, due_at=dt.datetime(2030, 2, 1, tzinfo=dt.UTC))
    TaskFactory(owner=rep, due_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), status="done")
    colleague = TaskFactory(owner=rep_a2, due_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))

    response = as_rep.get(
        "/api/v1/tasks/?status=open&due_after=2029-12-31T00:00:00Z&due_before=2030-01-15T00:00:00Z"
    ).json()
    theirs = as_rep.get(f"/api/v1/tasks/?owner={rep_a2.pk}").json()

    assert sorted(item["id"] for item in response["results"]) == sorted([early.pk, colleague.pk])
    assert [item["id"] for item in theirs["results"]] == [colleague.pk]


def test_a_representative_cannot_give_a_task_to_someone_else(as_rep, rep_a2):
    response = as_rep.post("/api/v1/tasks/", {"title": "x", "owner": rep_a2.pk}, format="json")

    assert response.status_code == 403
    assert Task.objects.count() == 0


def test_an_analyst_cannot_create_tasks(api_client, analyst):
    api_client.force_authenticate(analyst)

    response = api_client.post("/api/v1/tasks/", {"title": "x"}, format="json")

    assert response.status_code == 403
    assert Task.objects.count() == 0
