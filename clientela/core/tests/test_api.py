"""/api/v1/tags/, /api/v1/custom-fields/, and the problem+json answers every endpoint shares."""

import pytest

from clientela.core.models import CustomFieldDefinition, Event, Tag
from clientela.core.services import custom_field_definition_create, tag_get_or_create
from clientela.parties.tests.factories import ContactFactory

# Every test here uses the test database, also those that ask for their users with getfixturevalue.
pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ROLES = ["admin_user", "manager", "rep", "service_agent", "marketer", "analyst"]


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    return body


# -- problem+json everywhere -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing/", "/api/v1/contacts/1/notes/", "/api/v1/contacts/x/"]
)
def test_unknown_api_addresses_answer_404_problem(api_client, rep, path):
    api_client.force_authenticate(rep)

    body = _problem(api_client.get(path), 404)

    assert body["detail"] == "There is no API endpoint at this address."


def test_a_missing_slash_is_explained(api_client, rep):
    api_client.force_authenticate(rep)

    body = _problem(api_client.post("/api/v1/contacts", {}, format="json"), 404)

    assert body["detail"] == "API addresses end with a slash: /api/v1/contacts/"


def test_an_unsupported_method_answers_405_problem(api_client, rep):
    api_client.force_authenticate(rep)

    response = api_client.put("/api/v1/contacts/", {}, format="json")

    _problem(response, 405)
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_a_form_body_answers_415_problem(api_client, rep):
    api_client.force_authenticate(rep)

    response = api_client.post("/api/v1/contacts/", {"first_name": "Ana"})

    _problem(response, 415)


def test_an_unacceptable_format_answers_406_problem(api_client, rep):
    api_client.force_authenticate(rep)

    response = api_client.get("/api/v1/contacts/", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response["Content-Type"] == PROBLEM


def test_a_browser_asking_for_html_still_gets_a_problem_document(api_client, rep):
    # There is no browsable HTML API (its inline scripts break the CSP); /api/docs/ documents it.
    api_client.force_authenticate(rep)

    response = api_client.get("/api/v1/contacts/999/", HTTP_ACCEPT="text/html")

    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == response.status_code


@pytest.mark.parametrize(("role", "offered"), [("rep", ["POST"]), ("analyst", [])])
def test_options_offers_only_the_writes_the_role_may_do(request, api_client, role, offered):
    api_client.force_authenticate(request.getfixturevalue(role))

    response = api_client.options("/api/v1/contacts/")

    assert response.status_code == 200
    assert list(response.json().get("actions", {})) == offered


def test_the_api_root_lists_the_endpoints(api_client, rep):
    api_client.force_authenticate(rep)

    response = api_client.get("/api/v1/")

    assert sorted(response.json()) == [
        "activities",
        "assignment-rules",
        "close-reasons",
        "contacts",
        "contacts/bulk-update",
        "contacts/export",
        "contacts/merge",
        "custom-fields",
        "deals",
        "duplicates",
        "imports",
        "leads",
        "organizations",
        "organizations/bulk-update",
        "organizations/export",
        "organizations/merge",
        "pipelines",
        "reports/conversion",
        "reports/forecast",
        "reports/lead-response",
        "reports/sales-cycle",
        "reports/stage-durations",
        "reports/velocity",
        "reports/win-rate",
        "search",
        "tags",
        "tasks",
        "teams",
        "tokens",
        "users",
        "web-forms",
    ]


# -- tags --------------------------------------------------------------------------------------


def test_tags_list_for_everyone(api_client, analyst, rep):
    tag_get_or_create(name="VIP", actor=rep)
    tag_get_or_create(name="beta", actor=rep)
    api_client.force_authenticate(analyst)

    response = api_client.get("/api/v1/tags/?q=")

    assert [(tag["name"], tag["color"]) for tag in response.json()["results"]] == [
        ("beta", "#6c757d"),
        ("VIP", "#6c757d"),
    ]
    assert [tag["name"] for tag in api_client.get("/api/v1/tags/?q=vi").json()["results"]] == [
        "VIP"
    ]


# role → (create, delete)
TAG_WRITES = {
    "admin_user": (201, 204),
    "manager": (201, 204),
    "rep": (201, 403),
    "service_agent": (201, 403),
    "marketer": (201, 204),
    "analyst": (403, 403),
}


@pytest.mark.parametrize("role", ROLES)
def test_tag_writes_by_role(request, api_client, role, rep):
    tag = tag_get_or_create(name="Old", actor=rep)
    api_client.force_authenticate(request.getfixturevalue(role))
    create, delete = TAG_WRITES[role]

    assert (
        api_client.post("/api/v1/tags/", {"name": "  New   tag "}, format="json").status_code
        == create
    )
    assert api_client.delete(f"/api/v1/tags/{tag.pk}/").status_code == delete

    assert Tag.objects.filter(name="New tag").exists() is (create == 201)
    assert Tag.objects.filter(pk=tag.pk).exists() is (delete != 204)


def test_tag_create_answers_the_existing_tag(api_client, rep):
    tag = tag_get_or_create(name="VIP", actor=rep)
    api_client.force_authenticate(rep)

    response = api_client.post("/api/v1/tags/", {"name": "vip"}, format="json")

    assert response.status_code == 201
    assert response.json()["id"] == tag.pk
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"name": "x" * 61}, {"name": ["Ensure this field has no more than 60 characters."]}),
        ({"name": "VIP", "color": "#fff"}, {"color": ["Unknown or read-only field."]}),
    ],
)
def test_tag_bad_input(api_client, rep, payload, errors):
    api_client.force_authenticate(rep)

    body = _problem(api_client.post("/api/v1/tags/", payload, format="json"), 400)

    assert body["errors"] == errors
    assert Tag.objects.count() == 0


def test_deleting_a_tag_removes_it_from_records(api_client, manager):
    contact = ContactFactory(owner=manager)
    tag = tag_get_or_create(name="VIP", actor=manager)
    contact.tags.add(tag)
    api_client.force_authenticate(manager)

    assert api_client.delete(f"/api/v1/tags/{tag.pk}/").status_code == 204

    assert contact.tags.count() == 0
    assert Event.objects.filter(kind="tag.deleted").count() == 1


# -- custom field definitions ------------------------------------------------------------------


@pytest.fixture
def tier(admin_user):
    return custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold", "Silver"],
    )


@pytest.mark.parametrize("role", ROLES)
def test_everyone_lists_custom_fields(request, api_client, role, tier):
    api_client.force_authenticate(request.getfixturevalue(role))

    response = api_client.get("/api/v1/custom-fields/?record_type=parties.contact")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": tier.pk,
            "url": f"http://testserver/api/v1/custom-fields/{tier.pk}/",
            "record_type": "parties.contact",
            "key": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": ["Gold", "Silver"],
            "is_required": False,
            "min_value": None,
            "max_value": None,
            "max_length": None,
            "help_text": "",
            "position": 0,
            "created_at": tier.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": tier.updated_at.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert (
        api_client.get("/api/v1/custom-fields/?record_type=parties.organization").json()["count"]
        == 0
    )


@pytest.mark.parametrize("role", ROLES)
def test_only_administrators_change_custom_fields(request, api_client, role, tier):
    api_client.force_authenticate(request.getfixturevalue(role))
    allowed = role == "admin_user"
    events = Event.objects.count()

    created = api_client.post(
        "/api/v1/custom-fields/",
        {
            "record_type": "parties.organization",
            "key": "employees",
            "label": "Employees",
            "field_type": "number",
        },
        format="json",
    )
    changed = api_client.patch(
        f"/api/v1/custom-fields/{tier.pk}/", {"label": "Level"}, format="json"
    )
    deleted = api_client.delete(f"/api/v1/custom-fields/{tier.pk}/")

    assert (created.status_code, changed.status_code, deleted.status_code) == (
        (201, 200, 204) if allowed else (403, 403, 403)
    )
    if allowed:
        assert list(CustomFieldDefinition.objects.values_list("key", flat=True)) == ["employees"]
        assert changed.json()["label"] == "Level"
    else:
        assert list(CustomFieldDefinition.objects.values_list("key", "label")) == [("tier", "Tier")]
        assert Event.objects.count() == events


def test_custom_field_create_validates_through_the_service(api_client, admin_user, tier):
    api_client.force_authenticate(admin_user)

    def errors(payload):
        return _problem(api_client.post("/api/v1/custom-fields/", payload, format="json"), 400)[
            "errors"
        ]

    base = {"record_type": "parties.contact", "label": "X"}
    assert errors({**base, "key": "tier", "field_type": "text"}) == {
        "key": ["This record type already has a field with this key."]
    }
    assert errors({**base, "key": "size", "field_type": "choice"}) == {
        "choices": ["A choice field needs at least one choice."]
    }
    assert errors(
        {**base, "key": "n", "field_type": "number", "min_value": "5", "max_value": "1"}
    ) == {"max_value": ["The maximum must not be below the minimum."]}
    assert errors({**base, "record_type": "core.tag", "key": "x", "field_type": "text"}) == {
        "record_type": ['"core.tag" is not a valid choice.']
    }
    assert errors({**base, "key": "not a slug", "field_type": "text"}) == {
        "key": ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']
    }
    assert CustomFieldDefinition.objects.count() == 1


def test_custom_field_key_record_type_and_type_cannot_change(api_client, admin_user, tier):
    api_client.force_authenticate(admin_user)

    body = _problem(
        api_client.patch(
            f"/api/v1/custom-fields/{tier.pk}/",
            {"key": "level", "field_type": "text", "record_type": "parties.organization"},
            format="json",
        ),
        400,
    )

    assert body["errors"] == {
        name: ["Unknown or read-only field."] for name in ("field_type", "key", "record_type")
    }
    tier.refresh_from_db()
    assert (tier.key, tier.field_type) == ("tier", "choice")


def test_custom_field_put_changes_the_settings(api_client, admin_user, tier):
    api_client.force_authenticate(admin_user)

    response = api_client.put(
        f"/api/v1/custom-fields/{tier.pk}/",
        {"label": "Level", "choices": ["Gold", "Silver", "Bronze"], "is_required": True},
        format="json",
    )

    assert response.status_code == 200
    tier.refresh_from_db()
    assert (tier.label, tier.choices, tier.is_required) == (
        "Level",
        ["Gold", "Silver", "Bronze"],
        True,
    )
    assert response.json()["key"] == "tier"
