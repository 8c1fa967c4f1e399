"""/api/v1/contacts/: the JSON shape, writes through the services, bad input, ETags, filters, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientela.core.models import CustomFieldDefinition, Event, Tag
from clientela.core.services import custom_field_definition_create
from clientela.parties.models import Affiliation, Contact, ContactEmail, ContactPhone
from clientela.parties.services import contact_create, contact_update
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

# Every test here uses the test database, also those that ask for their users with getfixturevalue.
pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def test_retrieve_answers_every_field_with_an_etag(as_rep, rep, team_a):
    acme = OrganizationFactory(owner=rep, name="Acme")
    contact = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        job_title="CTO",
        country="DK",
        emails=[
            {"email": "ana@acme.dk", "kind": "work"},
            {"email": "ana@home.dk", "kind": "personal"},
        ],
        phones=[{"number": "32 12 34 56", "kind": "work"}],
        organizations=[{"organization": acme, "role": "CTO"}],
        tags=["VIP", "Beta"],
    )

    response = as_rep.get(f"/api/v1/contacts/{contact.pk}/")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json() == {
        "id": contact.pk,
        "url": f"http://testserver/api/v1/contacts/{contact.pk}/",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "full_name": "Ana Ruiz",
        "job_title": "CTO",
        "lifecycle_stage": "lead",
        "source": "",
        "preferred_language": "",
        "emails": [
            {"email": "ana@acme.dk", "kind": "work", "is_primary": True},
            {"email": "ana@home.dk", "kind": "personal", "is_primary": False},
        ],
        "phones": [{"number": "+4532123456", "kind": "work", "is_primary": True}],
        "organizations": [
            {
                "organization": acme.pk,
                "organization_name": "Acme",
                "role": "CTO",
                "is_primary": True,
            }
        ],
        "street": "",
        "city": "",
        "region": "",
        "postal_code": "",
        "country": "DK",
        "owner": rep.pk,
        "team": team_a.pk,
        "is_shared_with_team": True,
        "tags": ["Beta", "VIP"],
        "custom_fields": {},
        "version": 1,
        "created_at": contact.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": contact.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_create_goes_through_the_service_and_answers_201_with_location_and_etag(
    as_rep, rep, team_a
):
    acme = OrganizationFactory(owner=rep, name="Acme")

    response = as_rep.post(
        "/api/v1/contacts/",
        {
            "first_name": "José",
            "last_name": "Núñez",
            "emails": [{"email": "jose@Example.COM"}],
            "phones": [{"number": "(415) 555-0100", "kind": "work"}],
            "organizations": [{"organization": acme.pk, "role": "Buyer"}],
            "tags": ["VIP"],
            "country": "us",
        },
        format="json",
    )

    assert response.status_code == 201
    contact = Contact.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/contacts/{contact.pk}/"
    assert response["ETag"] == '"1"'
    body = response.json()
    assert body["phones"] == [{"number": "+14155550100", "kind": "work", "is_primary": True}]
    assert body["emails"] == [{"email": "jose@example.com", "kind": "work", "is_primary": True}]
    assert body["organizations"][0]["organization_name"] == "Acme"
    assert (body["owner"], body["team"], body["country"]) == (rep.pk, team_a.pk, "US")
    assert contact.primary_phone == "+14155550100"
    assert [tag.name for tag in contact.tags.all()] == ["VIP"]
    assert list(
        Event.objects.filter(kind__startswith="contact.").values_list("kind", flat=True)
    ) == [
        "contact.tagged",
        "contact.created",
    ]


def test_patch_changes_only_the_given_fields_and_bumps_the_version(as_rep, rep):
    contact = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz", emails=["ana@example.com"]
    )

    response = as_rep.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CEO"}, format="json")

    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.json()["job_title"] == "CEO"
    assert response.json()["emails"] == [
        {"email": "ana@example.com", "kind": "work", "is_primary": True}
    ]
    contact.refresh_from_db()
    assert (contact.job_title, contact.last_name, contact.version) == ("CEO", "Ruiz", 2)


def test_patch_replaces_lists_when_given(as_rep, rep):
    contact = contact_create(
        actor=rep, first_name="Ana", emails=["a@example.com", "b@example.com"], tags=["Old"]
    )

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"emails": [{"email": "c@example.com", "kind": "personal"}], "phones": [], "tags": ["New"]},
        format="json",
    )

    assert response.status_code == 200
    assert list(contact.emails.values_list("email", "kind", "is_primary")) == [
        ("c@example.com", "personal", True)
    ]
    assert response.json()["tags"] == ["New"]
    contact.refresh_from_db()
    assert contact.primary_email == "c@example.com"


def test_put_validates_the_whole_record(as_rep, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")

    response = as_rep.put(
        f"/api/v1/contacts/{contact.pk}/",
        {"first_name": "Ana", "last_name": "Ruiz", "lifecycle_stage": "customer"},
        format="json",
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "customer"


def test_patch_with_nothing_new_keeps_the_version(as_rep, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")

    response = as_rep.patch(f"/api/v1/contacts/{contact.pk}/", {"first_name": "Ana"}, format="json")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'


def test_delete_answers_204_and_records_the_event(api_client, manager):
    contact = ContactFactory(owner=manager)
    api_client.force_authenticate(manager)

    response = api_client.delete(f"/api/v1/contacts/{contact.pk}/")

    assert response.status_code == 204
    assert not Contact.objects.exists()
    assert Event.objects.get().kind == "contact.deleted"


def test_unknown_id_answers_404_problem(as_rep):
    body = _problem(as_rep.get("/api/v1/contacts/999999/"), 404)
    assert body["title"] == "Not found"


def test_non_numeric_id_answers_404_problem(as_rep):
    _problem(as_rep.get("/api/v1/contacts/abc/"), 404)


# -- organizations of a contact ----------------------------------------------------------------


def test_an_organization_the_user_cannot_see_is_refused_like_a_missing_one(as_rep, rep_b):
    hidden = OrganizationFactory(owner=rep_b)

    for organization_id in (hidden.pk, 999999):
        response = as_rep.post(
            "/api/v1/contacts/",
            {"first_name": "Ana", "organizations": [{"organization": organization_id}]},
            format="json",
        )
        body = _problem(response, 400)
        assert body["errors"] == {"organizations": ["Choose an organization you can see."]}
    assert Contact.objects.count() == 0


def test_affiliations_at_hidden_organizations_are_not_shown(api_client, rep, rep_b, team_b):
    hidden = OrganizationFactory(owner=rep_b, name="Hidden")
    contact = ContactFactory(owner=rep)
    Affiliation.objects.create(contact=contact, organization=hidden)
    api_client.force_authenticate(rep)

    response = api_client.get(f"/api/v1/contacts/{contact.pk}/")

    assert response.json()["organizations"] == []


# -- bad input ---------------------------------------------------------------------------------


def _assert_nothing_written():
    assert Contact.objects.count() == 0
    assert ContactEmail.objects.count() == 0
    assert ContactPhone.objects.count() == 0
    assert Tag.objects.count() == 0
    assert not Event.objects.filter(kind__startswith="contact.").exists()


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"first_name": "Ana", "emails": [{"email": "not-an-email"}]},
            {"emails": ["“not-an-email” is not a valid email address."]},
        ),
        (
            {"first_name": "Ana", "phones": [{"number": "12"}]},
            {
                "phones": [
                    "“12” is not a valid phone number for US. Include the country code, such as +45."
                ]
            },
        ),
        ({"first_name": "Ana", "country": "XX"}, {"country": ["Choose a country from the list."]}),
        ({"first_name": "", "last_name": ""}, {"last_name": ["Enter a first or a last name."]}),
        (
            {"first_name": "Ana", "favourite_color": "red"},
            {"favourite_color": ["Unknown or read-only field."]},
        ),
        (
            {"first_name": "Ana", "version": 7, "full_name": "X", "id": 3},
            {name: ["Unknown or read-only field."] for name in ("full_name", "id", "version")},
        ),
        (
            {"first_name": "Ana", "emails": [{"email": "a@example.com", "verified": True}]},
            {"emails": {"0": {"verified": ["Unknown or read-only field."]}}},
        ),
        (
            {"first_name": "Ana", "organizations": [{"organization": 1, "organization_name": "X"}]},
            {"organizations": {"0": {"organization_name": ["Unknown or read-only field."]}}},
        ),
        (
            {"first_name": "Ana", "is_shared_with_team": "perhaps"},
            {"is_shared_with_team": ["Must be a valid boolean."]},
        ),
        (
            {"first_name": "Ana", "tags": "VIP"},
            {"tags": ['Expected a list of items but got type "str".']},
        ),
        (
            {"first_name": "Ana", "emails": "ana@example.com"},
            {"emails": {"non_field_errors": ['Expected a list of items but got type "str".']}},
        ),
        (
            {"first_name": "Ana", "custom_fields": ["x"]},
            {"custom_fields": ['Expected a dictionary of items but got type "list".']},
        ),
        (
            {"first_name": "Ana", "lifecycle_stage": "king"},
            {"lifecycle_stage": ['"king" is not a valid choice.']},
        ),
        (
            {"first_name": "Ana", "owner": "me"},
            {"owner": ["Incorrect type. Expected pk value, received str."]},
        ),
        (
            {"first_name": "Ana", "team": None},
            {"team": ["Choose a team; leave the field out to keep the current one."]},
        ),
    ],
)
def test_bad_input_answers_400_with_field_errors_and_writes_nothing(as_rep, payload, errors):
    response = as_rep.post("/api/v1/contacts/", payload, format="json")

    body = _problem(response, 400)
    assert body["errors"] == errors
    assert body["title"] == "Invalid input"
    _assert_nothing_written()


def test_a_body_that_is_not_an_object_answers_400(as_rep):
    body = _problem(as_rep.post("/api/v1/contacts/", ["Ana"], format="json"), 400)
    assert body["errors"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    _assert_nothing_written()


def test_malformed_json_answers_400(as_rep):
    response = as_rep.post("/api/v1/contacts/", "{nope", content_type="application/json")
    _problem(response, 400)
    _assert_nothing_written()


def test_bad_input_on_update_changes_nothing(as_rep, rep):
    contact = contact_create(actor=rep, first_name="Ana", emails=["ana@example.com"])
    events = Event.objects.count()

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"job_title": "CEO", "emails": [{"email": "broken"}], "country": "XX"},
        format="json",
    )

    body = _problem(response, 400)
    assert set(body["errors"]) == {"emails", "country"}
    contact.refresh_from_db()
    assert (contact.job_title, contact.country, contact.version) == ("", "", 1)
    assert list(contact.emails.values_list("email", flat=True)) == ["ana@example.com"]
    assert Event.objects.count() == events


# -- owner and team: mass assignment -----------------------------------------------------------


def test_a_representative_cannot_give_a_contact_away(as_rep, rep, rep_b):
    contact = contact_create(actor=rep, first_name="Ana")

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/", {"owner": rep_b.pk, "job_title": "CEO"}, format="json"
    )

    _problem(response, 403)
    contact.refresh_from_db()
    assert (contact.owner, contact.job_title, contact.version) == (rep, "", 1)


def test_a_representative_cannot_move_a_contact_to_another_team(as_rep, rep, team_b):
    contact = contact_create(actor=rep, first_name="Ana")
    team = contact.team

    _problem(
        as_rep.patch(f"/api/v1/contacts/{contact.pk}/", {"team": team_b.pk}, format="json"), 403
    )

    contact.refresh_from_db()
    assert contact.team == team


def test_a_representative_cannot_create_a_contact_for_someone_else(as_rep, rep_a2):
    _problem(
        as_rep.post("/api/v1/contacts/", {"first_name": "Ana", "owner": rep_a2.pk}, format="json"),
        403,
    )

    _assert_nothing_written()


def test_sending_back_the_current_owner_and_team_is_not_an_assignment(as_rep, rep, team_a):
    contact = contact_create(actor=rep, first_name="Ana")

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"owner": rep.pk, "team": team_a.pk, "job_title": "CEO"},
        format="json",
    )

    assert response.status_code == 200


def test_a_manager_can_give_a_contact_to_a_team_mate(api_client, manager, rep, team_a):
    contact = contact_create(actor=manager, first_name="Ana")
    api_client.force_authenticate(manager)

    response = api_client.patch(f"/api/v1/contacts/{contact.pk}/", {"owner": rep.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["owner"] == rep.pk
    contact.refresh_from_db()
    assert contact.owner == rep
    assert Event.objects.filter(kind="contact.owner_changed").count() == 1


# -- ETag and If-Match -------------------------------------------------------------------------


def test_if_match_with_the_current_version_writes(as_rep, rep):
    contact = contact_create(actor=rep, first_name="Ana")

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/", {"job_title": "CEO"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 200
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', '"1", "7"', "garbage"])
def test_if_match_with_a_stale_version_answers_412_and_changes_nothing(as_rep, rep, if_match):
    contact = contact_create(actor=rep, first_name="Ana")
    contact_update(actor=rep, contact=contact, job_title="CTO")

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"job_title": "CEO"},
        format="json",
        HTTP_IF_MATCH=if_match,
    )

    body = _problem(response, 412)
    assert body["current_version"] == 2
    assert response["ETag"] == '"2"'
    contact.refresh_from_db()
    assert (contact.job_title, contact.version) == ("CTO", 2)


def test_if_match_on_put_and_delete(api_client, manager):
    contact = contact_create(actor=manager, first_name="Ana")
    api_client.force_authenticate(manager)
    url = f"/api/v1/contacts/{contact.pk}/"

    _problem(api_client.put(url, {"first_name": "Eva"}, format="json", HTTP_IF_MATCH='"9"'), 412)
    _problem(api_client.delete(url, HTTP_IF_MATCH='"9"'), 412)
    assert Contact.objects.get().first_name == "Ana"

    assert api_client.delete(url, HTTP_IF_MATCH='"1"').status_code == 204
    assert not Contact.objects.exists()


def test_the_service_checks_the_version_again_under_its_lock(as_rep, rep, monkeypatch):
    """A change that lands between reading the record and writing it still answers 412."""
    contact = contact_create(actor=rep, first_name="Ana")
    from clientela.parties import services

    real_update = services.contact_update

    def update_after_someone_else(**kwargs):
        Contact.objects.filter(pk=contact.pk).update(version=5)
        return real_update(**kwargs)

    monkeypatch.setattr(services, "contact_update", update_after_someone_else)

    response = as_rep.patch(
        f"/api/v1/contacts/{contact.pk}/", {"job_title": "CEO"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert _problem(response, 412)["current_version"] == 5
    assert Contact.objects.get().job_title == ""


def test_if_none_match_with_the_current_etag_answers_304(as_rep, rep):
    contact = contact_create(actor=rep, first_name="Ana")
    url = f"/api/v1/contacts/{contact.pk}/"

    assert as_rep.get(url, HTTP_IF_NONE_MATCH='"1"').status_code == 304
    assert as_rep.get(url, HTTP_IF_NONE_MATCH='"0"').status_code == 200


# -- custom fields -----------------------------------------------------------------------------


@pytest.fixture
def budget(admin_user):
    return custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="budget",
        label="Budget",
        field_type="number",
        min_value=0,
    )


def test_custom_fields_are_validated_by_the_service_and_merged(as_rep, rep, budget, admin_user):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["A", "B"],
    )
    response = as_rep.post(
        "/api/v1/contacts/",
        {"first_name": "Ana", "custom_fields": {"budget": "1500", "tier": "A"}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["custom_fields"] == {"budget": 1500, "tier": "A"}
    url = response.json()["url"]

    response = as_rep.patch(url, {"custom_fields": {"tier": None}}, format="json")

    assert response.json()["custom_fields"] == {"budget": 1500}


def test_invalid_custom_field_values_answer_400(as_rep, budget):
    response = as_rep.post(
        "/api/v1/contacts/",
        {"first_name": "Ana", "custom_fields": {"budget": -5, "nope": 1}},
        format="json",
    )

    body = _problem(response, 400)
    assert set(body["errors"]) == {"custom_fields.budget", "custom_fields.nope"}
    assert body["errors"]["custom_fields.budget"][0].startswith(
        "Ensure this value is greater than or equal to 0"
    )
    assert body["errors"]["custom_fields.nope"] == ["There is no custom field with the key “nope”."]
    _assert_nothing_written()


def test_values_of_deleted_custom_fields_are_not_shown(as_rep, rep):
    contact = ContactFactory(owner=rep, custom_fields={"gone": "x"})

    assert as_rep.get(f"/api/v1/contacts/{contact.pk}/").json()["custom_fields"] == {}


# -- lists: filters, sorting, pagination --------------------------------------------------------


def test_list_filters_like_the_list_page(as_rep, rep):
    ana = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz", lifecycle_stage="customer", tags=["VIP"]
    )
    contact_create(actor=rep, first_name="Bo", last_name="Berg", lifecycle_stage="lead")
    vip = Tag.objects.get(name="VIP")

    def ids(query):
        response = as_rep.get(f"/api/v1/contacts/?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("lifecycle_stage=customer") == [ana.pk]
    assert ids("q=ruiz") == [ana.pk]
    assert ids(f"tags={vip.pk}") == [ana.pk]
    assert ids(f"owner={rep.pk}&sort=-name") == [ana.pk, Contact.objects.get(first_name="Bo").pk]


def test_list_filters_by_custom_field(as_rep, rep, budget):
    rich = contact_create(actor=rep, first_name="Rich", custom_fields={"budget": 9000})
    contact_create(actor=rep, first_name="Poor", custom_fields={"budget": 10})

    response = as_rep.get("/api/v1/contacts/?cf_budget_min=1000")

    assert [item["id"] for item in response.json()["results"]] == [rich.pk]


def test_list_filters_by_date_custom_field(as_rep, rep, admin_user):
    custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="due", label="Due", field_type="date"
    )
    late = contact_create(actor=rep, first_name="Late", custom_fields={"due": "2026-12-01"})
    contact_create(actor=rep, first_name="Early", custom_fields={"due": "2026-01-15"})

    response = as_rep.get("/api/v1/contacts/?cf_due_after=2026-06-01")

    assert [item["id"] for item in response.json()["results"]] == [late.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=password", "sort"),
        ("lifecycle_stage=king", "lifecycle_stage"),
        ("created_after=yesterday", "created_after"),
        ("owner=abc", "owner"),
        ("tags=999999", "tags"),
    ],
)
def test_an_invalid_filter_answers_400(as_rep, query, field):
    body = _problem(as_rep.get(f"/api/v1/contacts/?{query}"), 400)
    assert list(body["errors"]) == [field]


def test_page_size_is_capped(as_rep, rep, settings):
    Contact.objects.bulk_create(
        Contact(first_name=f"P{index}", owner=rep, team=rep.teams.first()) for index in range(205)
    )

    response = as_rep.get("/api/v1/contacts/?page_size=500")

    assert len(response.json()["results"]) == settings.CLIENTELA_API_MAX_PAGE_SIZE == 200
    assert response.json()["count"] == 205
    assert as_rep.get("/api/v1/contacts/?page_size=500&page=2").json()["results"][0]["first_name"]


def test_a_page_past_the_end_answers_404_problem(as_rep):
    _problem(as_rep.get("/api/v1/contacts/?page=9"), 404)


# -- query counts ------------------------------------------------------------------------------


def _contacts_with_everything(owner, count):
    organization = OrganizationFactory(owner=owner)
    tag = Tag.objects.create(name=f"T{count}")
    for index in range(count):
        contact = ContactFactory(owner=owner, primary_phone="+4532123456")
        Affiliation.objects.create(contact=contact, organization=organization, role=f"R{index}")
        contact.tags.add(tag)


@pytest.mark.parametrize("endpoint", ["contacts", "organizations"])
def test_list_queries_do_not_grow_with_the_page(
    api_client, rep, endpoint, django_assert_num_queries
):
    api_client.force_authenticate(rep)
    url = f"/api/v1/{endpoint}/?page_size=200&sort=name"

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(url)
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    _contacts_with_everything(rep, 10)
    small, rows = count_queries()
    assert rows == (10 if endpoint == "contacts" else 1)
    _contacts_with_everything(rep, 90)
    if endpoint == "organizations":
        OrganizationFactory.create_batch(98, owner=rep)
    with django_assert_num_queries(small):
        response = api_client.get(url)
    assert len(response.json()["results"]) == 100


def test_contacts_list_query_count(api_client, rep, django_assert_num_queries):
    """count, page, then tags, emails, phones and affiliations (with organizations), custom field
    definitions for the filters and for the JSON: 8 queries for 100 rows."""
    _contacts_with_everything(rep, 100)
    api_client.force_authenticate(rep)

    with django_assert_num_queries(8):
        response = api_client.get("/api/v1/contacts/?page_size=100")

    assert len(response.json()["results"]) == 100


def test_unchanged_records_need_no_custom_field_definitions(api_client, rep, budget):
    CustomFieldDefinition.objects.create(
        record_type="parties.organization", key="x", label="X", field_type="text"
    )
    contact = ContactFactory(owner=rep, custom_fields={"budget": 5, "x": "hidden"})
    api_client.force_authenticate(rep)

    assert api_client.get(f"/api/v1/contacts/{contact.pk}/").json()["custom_fields"] == {
        "budget": 5
    }
