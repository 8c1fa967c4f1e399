"""/api/v1/duplicates/, /api/v1/contacts/merge/, /api/v1/organizations/merge/, /api/v1/merges/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientela.parties.duplicates import duplicates_detect
from clientela.parties.models import Contact, DuplicateCandidate, Merge, Organization
from clientela.parties.services import contact_create, contact_update, organization_create
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


@pytest.fixture
def as_manager(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def _twins(owner, count=1, offset=0):
    """``count`` pairs of contacts with the same email."""
    made = []
    for index in range(offset, offset + count):
        email = f"person{index}@acme.example"
        made.append(
            (
                ContactFactory(
                    owner=owner, first_name="Ana", last_name=f"Ruiz{index}", primary_email=email
                ),
                ContactFactory(
                    owner=owner, first_name="Maria", last_name=f"Lopez{index}", primary_email=email
                ),
            )
        )
    duplicates_detect(record_type="contacts")
    return made


# -- the queue -----------------------------------------------------------------------------------


def test_the_queue_lists_visible_pairs_best_first(as_manager, rep, rep_b):
    ((ana, maria),) = _twins(rep)
    bo = ContactFactory(
        owner=rep, first_name="Bo", last_name="Berg", primary_email="", primary_phone="+4532123456"
    )
    bo_again = ContactFactory(
        owner=rep,
        first_name="Robert",
        last_name="Berg",
        primary_email="",
        primary_phone="+4532123456",
    )
    ContactFactory(
        owner=rep_b, first_name="Hidden", last_name="One", primary_email="person0@acme.example"
    )
    duplicates_detect(record_type="contacts")

    response = as_manager.get("/api/v1/duplicates/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    candidate = DuplicateCandidate.objects.get(first_contact=ana, second_contact=maria)
    assert first == {
        "id": candidate.pk,
        "record_type": "contacts",
        "score": 95,
        "reasons": ["email"],
        "reason_labels": ["Same email address"],
        "status": "open",
        "detected_at": candidate.detected_at.isoformat().replace("+00:00", "Z"),
        "records": [
            {
                "id": ana.pk,
                "name": "Ana Ruiz0",
                "url": f"http://testserver/api/v1/contacts/{ana.pk}/",
            },
            {
                "id": maria.pk,
                "name": "Maria Lopez0",
                "url": f"http://testserver/api/v1/contacts/{maria.pk}/",
            },
        ],
    }
    assert [record["id"] for record in second["records"]] == [bo.pk, bo_again.pk]
    assert second["score"] == 85


def test_the_queue_of_organizations_and_of_one_record(as_manager, rep):
    acme = OrganizationFactory(owner=rep, name="Acme")
    acme_inc = OrganizationFactory(owner=rep, name="Acme Inc")
    OrganizationFactory(owner=rep, name="Beta")
    OrganizationFactory(owner=rep, name="Beta Ltd")
    duplicates_detect(record_type="organizations")

    response = as_manager.get("/api/v1/duplicates/", {"type": "organizations", "record": acme.pk})

    assert [
        [record["name"] for record in item["records"]] for item in response.json()["results"]
    ] == [["Acme", "Acme Inc"]]
    assert response.json()["results"][0]["records"][1]["url"] == (
        f"http://testserver/api/v1/organizations/{acme_inc.pk}/"
    )


def test_the_queue_refuses_an_unknown_type(as_manager):
    body = _problem(as_manager.get("/api/v1/duplicates/", {"type": "deals"}), 400)

    assert body["errors"] == {"type": ["Choose contacts or organizations."]}


def test_the_queue_needs_the_merge_permission(api_client, rep):
    _twins(rep)
    api_client.force_authenticate(rep)

    _problem(api_client.get("/api/v1/duplicates/"), 403)


def test_the_queue_runs_the_same_number_of_queries_whatever_its_length(
    as_manager, rep, django_assert_num_queries
):
    _twins(rep, 2)
    with CaptureQueriesContext(connection) as few:
        as_manager.get("/api/v1/duplicates/")
    _twins(rep, 20, offset=2)

    # count, page, the contacts, their tags, emails, phones and affiliations (with organizations)
    with django_assert_num_queries(7):
        response = as_manager.get("/api/v1/duplicates/")

    assert len(response.json()["results"]) == 22
    assert len(few) == 7


def test_not_duplicates(as_manager, manager, rep):
    _twins(rep)
    candidate = DuplicateCandidate.objects.get()

    response = as_manager.post(f"/api/v1/duplicates/{candidate.pk}/dismiss/")

    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    candidate.refresh_from_db()
    assert (candidate.status, candidate.resolved_by) == ("dismissed", manager)
    assert as_manager.get("/api/v1/duplicates/").json()["count"] == 0


def test_not_duplicates_answers_404_for_a_pair_out_of_sight_and_403_without_permission(
    api_client, manager, rep, rep_b
):
    _twins(rep)
    ContactFactory(owner=rep_b, first_name="Bo", last_name="Berg", primary_email="bo@x.example")
    ContactFactory(owner=rep, first_name="Robert", last_name="Berg", primary_email="bo@x.example")
    duplicates_detect(record_type="contacts")
    visible = DuplicateCandidate.objects.get(first_contact__last_name="Ruiz0")
    hidden = DuplicateCandidate.objects.exclude(pk=visible.pk).get()

    api_client.force_authenticate(manager)
    _problem(api_client.post(f"/api/v1/duplicates/{hidden.pk}/dismiss/"), 404)
    api_client.force_authenticate(rep)
    _problem(api_client.post(f"/api/v1/duplicates/{visible.pk}/dismiss/"), 403)

    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"open"}


# -- merging -------------------------------------------------------------------------------------


@pytest.fixture
def pair(rep):
    ana = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz", emails=["ana@acme.example"], tags=["VIP"]
    )
    duplicate = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruíz",
        job_title="CTO",
        emails=["ana@home.example"],
        tags=["Lead"],
    )
    return ana, duplicate


def test_merge_contacts(as_manager, pair):
    ana, duplicate = pair

    response = as_manager.post(
        "/api/v1/contacts/merge/",
        {"survivor": ana.pk, "merged": [duplicate.pk], "values": {"last_name": duplicate.pk}},
        format="json",
    )

    assert response.status_code == 200, response.content
    merge = Merge.objects.get()
    body = response.json()
    assert body["merge"] == {
        "id": merge.pk,
        "url": f"http://testserver/api/v1/merges/{merge.pk}/",
        "record_type": "contacts",
        "survivor": ana.pk,
        "merged": [duplicate.pk],
        "created_at": merge.created_at.isoformat().replace("+00:00", "Z"),
        "undone_at": None,
    }
    assert response["ETag"] == '"2"'
    survivor = body["survivor"]
    assert (survivor["id"], survivor["last_name"], survivor["job_title"], survivor["version"]) == (
        ana.pk,
        "Ruíz",
        "CTO",
        2,
    )
    assert [item["email"] for item in survivor["emails"]] == [
        "ana@acme.example",
        "ana@home.example",
    ]
    assert sorted(survivor["tags"]) == ["Lead", "VIP"]
    assert not Contact.objects.filter(pk=duplicate.pk).exists()


def test_merge_is_strict_about_its_input(as_manager, pair):
    ana, duplicate = pair

    body = _problem(
        as_manager.post(
            "/api/v1/contacts/merge/",
            {"survivor": ana.pk, "merged": [duplicate.pk], "colour": "red"},
            format="json",
        ),
        400,
    )
    assert body["errors"] == {"colour": ["Unknown or read-only field."]}
    body = _problem(
        as_manager.post(
            "/api/v1/contacts/merge/", {"survivor": ana.pk, "merged": []}, format="json"
        ),
        400,
    )
    assert body["errors"] == {"merged": ["Ensure this field has at least 1 elements."]}
    body = _problem(
        as_manager.post(
            "/api/v1/contacts/merge/",
            {"survivor": ana.pk, "merged": [duplicate.pk], "values": {"nickname": ana.pk}},
            format="json",
        ),
        400,
    )
    assert body["errors"] == {"values": ["There is no field “nickname” to choose."]}
    assert Merge.objects.count() == 0


def test_merging_a_contact_out_of_sight_answers_404_and_a_representative_403(
    api_client, manager, rep, rep_b, pair
):
    ana, duplicate = pair
    hidden = contact_create(actor=rep_b, first_name="Ana", last_name="Ruiz")

    api_client.force_authenticate(manager)
    _problem(
        api_client.post(
            "/api/v1/contacts/merge/", {"survivor": ana.pk, "merged": [hidden.pk]}, format="json"
        ),
        404,
    )
    api_client.force_authenticate(rep)
    _problem(
        api_client.post(
            "/api/v1/contacts/merge/", {"survivor": ana.pk, "merged": [duplicate.pk]}, format="json"
        ),
        403,
    )

    assert Contact.objects.count() == 3
    assert Merge.objects.count() == 0


def test_merging_a_contact_changed_meanwhile_answers_412(as_manager, rep, pair):
    ana, duplicate = pair
    contact_update(actor=rep, contact=duplicate, job_title="CEO")

    body = _problem(
        as_manager.post(
            "/api/v1/contacts/merge/",
            {"survivor": ana.pk, "merged": [duplicate.pk], "versions": {str(duplicate.pk): 1}},
            format="json",
        ),
        412,
    )
    assert body["current_version"] == 2
    response = as_manager.post(
        "/api/v1/contacts/merge/",
        {"survivor": ana.pk, "merged": [duplicate.pk]},
        format="json",
        headers={"If-Match": '"7"'},
    )
    assert _problem(response, 412)["current_version"] == 1
    assert response["ETag"] == '"1"'
    assert Contact.objects.count() == 2


def test_merge_organizations(as_manager, rep):
    acme = organization_create(actor=rep, name="Acme")
    acme_inc = organization_create(actor=rep, name="Acme Inc", industry="software")

    response = as_manager.post(
        "/api/v1/organizations/merge/",
        {"survivor": acme.pk, "merged": [acme_inc.pk]},
        format="json",
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 200, response.content
    assert response.json()["survivor"]["industry"] == "software"
    assert response.json()["merge"]["record_type"] == "organizations"
    assert list(Organization.objects.values_list("pk", flat=True)) == [acme.pk]


def test_an_idempotency_key_merges_once(as_manager, pair):
    ana, duplicate = pair
    payload = {"survivor": ana.pk, "merged": [duplicate.pk]}

    first = as_manager.post(
        "/api/v1/contacts/merge/", payload, format="json", headers={"Idempotency-Key": "k-1"}
    )
    again = as_manager.post(
        "/api/v1/contacts/merge/", payload, format="json", headers={"Idempotency-Key": "k-1"}
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Merge.objects.count() == 1


# -- undo ----------------------------------------------------------------------------------------


def test_read_and_undo_a_merge(as_manager, manager, pair):
    ana, duplicate = pair
    merge_id = as_manager.post(
        "/api/v1/contacts/merge/", {"survivor": ana.pk, "merged": [duplicate.pk]}, format="json"
    ).json()["merge"]["id"]

    assert as_manager.get(f"/api/v1/merges/{merge_id}/").json()["undone_at"] is None
    response = as_manager.post(f"/api/v1/merges/{merge_id}/undo/")

    assert response.status_code == 200
    merge = Merge.objects.get()
    assert response.json()["undone_at"] == merge.undone_at.isoformat().replace("+00:00", "Z")
    assert Contact.objects.get(pk=duplicate.pk).job_title == "CTO"
    body = _problem(as_manager.post(f"/api/v1/merges/{merge_id}/undo/"), 400)
    assert body["errors"] == {"non_field_errors": ["This merge was undone already."]}


def test_undo_answers_404_out_of_sight_and_403_without_permission(
    api_client, manager, admin_user, rep, rep_b
):
    one = contact_create(actor=rep_b, first_name="Bo", last_name="Berg")
    two = contact_create(actor=rep_b, first_name="Bo", last_name="Berg")
    api_client.force_authenticate(admin_user)
    merge_id = api_client.post(
        "/api/v1/contacts/merge/", {"survivor": one.pk, "merged": [two.pk]}, format="json"
    ).json()["merge"]["id"]

    api_client.force_authenticate(manager)
    _problem(api_client.post(f"/api/v1/merges/{merge_id}/undo/"), 404)
    _problem(api_client.get(f"/api/v1/merges/{merge_id}/"), 404)
    api_client.force_authenticate(rep_b)
    _problem(api_client.post(f"/api/v1/merges/{merge_id}/undo/"), 403)

    assert Merge.objects.get().undone_at is None
