"""The API's permission matrix: every role, every action, and own, team-shared, team-private and other team's records.

Administrators and analysts see everything (analysts only read); managers see their own and their teams'
records; representatives, service agents and marketers see their own and their teams' shared records.
Only administrators and managers delete. A record outside one's scope answers 404; a visible record one's
role may not change answers 403; and a refusal changes nothing.
"""

import pytest

from clientela.core.models import Event
from clientela.parties.models import Contact, Organization
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

# Every test here uses the test database, also those that ask for their users with getfixturevalue.
pytestmark = pytest.mark.django_db

ROLES = ["admin_user", "manager", "rep", "service_agent", "marketer", "analyst"]
RECORDS = ["own", "team_shared", "team_private", "other_team"]

# Which records each role sees (the rest answer 404).
VISIBLE = {
    "admin_user": {"own", "team_shared", "team_private", "other_team"},
    "manager": {"own", "team_shared", "team_private"},
    "rep": {"own", "team_shared"},
    "service_agent": {"own", "team_shared"},
    "marketer": {"own", "team_shared"},
    "analyst": {"own", "team_shared", "team_private", "other_team"},
}

# role → (create, update a visible record, delete a visible record)
WRITE_STATUS = {
    "admin_user": (201, 200, 204),
    "manager": (201, 200, 204),
    "rep": (201, 200, 403),
    "service_agent": (201, 200, 403),
    "marketer": (201, 200, 403),
    "analyst": (403, 403, 403),
}

MODELS = {
    "contacts": (
        Contact,
        ContactFactory,
        {"first_name": "New", "last_name": "Person"},
        "job_title",
    ),
    "organizations": (Organization, OrganizationFactory, {"name": "New Company"}, "description"),
}


def _expected(role, action, record):
    if action == "retrieve":
        return 200 if record in VISIBLE[role] else 404
    if record not in VISIBLE[role]:
        return 404
    _create, update, delete = WRITE_STATUS[role]
    return update if action == "update" else delete


@pytest.fixture
def records(request, team_a, team_b, rep_a2, rep_b):
    """The four kinds of record for the acting user, built per endpoint."""

    def build(actor, factory):
        return {
            "own": factory(owner=actor, team=actor.teams.first()),
            "team_shared": factory(owner=rep_a2, team=team_a, is_shared_with_team=True),
            "team_private": factory(owner=rep_a2, team=team_a, is_shared_with_team=False),
            "other_team": factory(owner=rep_b, team=team_b, is_shared_with_team=True),
        }

    return build


@pytest.mark.parametrize("endpoint", list(MODELS))
@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_records_the_role_may_see(
    request, api_client, records, endpoint, role
):
    actor = request.getfixturevalue(role)
    _model, factory, _payload, _field = MODELS[endpoint]
    built = records(actor, factory)
    api_client.force_authenticate(actor)

    response = api_client.get(f"/api/v1/{endpoint}/")

    assert response.status_code == 200
    expected = {built[name].pk for name in VISIBLE[role]}
    assert {item["id"] for item in response.json()["results"]} == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize("endpoint", list(MODELS))
@pytest.mark.parametrize("record", RECORDS)
@pytest.mark.parametrize("role", ROLES)
def test_retrieve(request, api_client, records, endpoint, role, record):
    actor = request.getfixturevalue(role)
    _model, factory, _payload, _field = MODELS[endpoint]
    target = records(actor, factory)[record]
    api_client.force_authenticate(actor)

    response = api_client.get(f"/api/v1/{endpoint}/{target.pk}/")

    assert response.status_code == _expected(role, "retrieve", record)
    if response.status_code == 200:
        assert response.json()["id"] == target.pk
    else:
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("endpoint", list(MODELS))
@pytest.mark.parametrize("role", ROLES)
def test_create(request, api_client, endpoint, role):
    actor = request.getfixturevalue(role)
    model, _factory, payload, _field = MODELS[endpoint]
    api_client.force_authenticate(actor)

    response = api_client.post(f"/api/v1/{endpoint}/", payload, format="json")

    assert response.status_code == WRITE_STATUS[role][0]
    if response.status_code == 201:
        assert model.objects.get().owner == actor
    else:
        assert model.objects.count() == 0
        assert Event.objects.count() == 0


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("endpoint", list(MODELS))
@pytest.mark.parametrize("record", RECORDS)
@pytest.mark.parametrize("role", ROLES)
def test_update(request, api_client, records, endpoint, role, record, method):
    actor = request.getfixturevalue(role)
    _model, factory, payload, field = MODELS[endpoint]
    target = records(actor, factory)[record]
    api_client.force_authenticate(actor)
    body = {**payload, field: "Changed"} if method == "put" else {field: "Changed"}

    response = getattr(api_client, method)(f"/api/v1/{endpoint}/{target.pk}/", body, format="json")

    expected = _expected(role, "update", record)
    assert response.status_code == expected
    target.refresh_from_db()
    if expected == 200:
        assert getattr(target, field) == "Changed"
        assert target.version == 2
    else:
        assert response["Content-Type"] == "application/problem+json"
        assert getattr(target, field) == ""
        assert target.version == 1
        assert Event.objects.count() == 0


@pytest.mark.parametrize("endpoint", list(MODELS))
@pytest.mark.parametrize("record", RECORDS)
@pytest.mark.parametrize("role", ROLES)
def test_delete(request, api_client, records, endpoint, role, record):
    actor = request.getfixturevalue(role)
    model, factory, _payload, _field = MODELS[endpoint]
    target = records(actor, factory)[record]
    api_client.force_authenticate(actor)

    response = api_client.delete(f"/api/v1/{endpoint}/{target.pk}/")

    expected = _expected(role, "delete", record)
    assert response.status_code == expected
    assert model.objects.filter(pk=target.pk).exists() is (expected != 204)
    if expected != 204:
        assert response["Content-Type"] == "application/problem+json"
        assert Event.objects.count() == 0
