"""/api/v1/users/, /api/v1/teams/, /api/v1/tokens/, and how API requests authenticate."""

import pytest
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from clientela.core.models import Event
from clientela.identity.models import ApiToken, Team
from clientela.identity.services import api_token_create, user_deactivate
from clientela.parties.models import Contact
from clientela.parties.tests.factories import ContactFactory

# Every test here uses the test database, also those that ask for their users with getfixturevalue.
pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


# -- authentication ----------------------------------------------------------------------------


def test_without_credentials_the_api_answers_401_with_www_authenticate(api_client):
    body = _problem(api_client.get("/api/v1/contacts/"), 401)

    assert api_client.get("/api/v1/contacts/")["WWW-Authenticate"] == 'Bearer realm="api"'
    assert body["title"] == "Not authenticated"


def test_a_bearer_token_authenticates(api_client, rep):
    issued = api_token_create(actor=rep, name="Script")

    response = api_client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {issued.key}")

    assert response.status_code == 200
    assert response.json()["email"] == "rep@example.com"
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer clt_nope_nope", "Bearer", "Bearer a b", "Token clt_000000000000_x"],
)
def test_a_bad_token_answers_401(db, api_client, header):
    response = api_client.get("/api/v1/contacts/", HTTP_AUTHORIZATION=header)

    _problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_token_or_a_deactivated_users_token_stops_working(api_client, admin_user, rep):
    issued = api_token_create(actor=rep, name="Script")
    other = api_token_create(actor=rep, name="Other")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.key}")

    assert api_client.delete(f"/api/v1/tokens/{issued.token.pk}/").status_code == 204
    _problem(api_client.get("/api/v1/contacts/"), 401)

    user_deactivate(actor=admin_user, user=rep)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other.key}")
    _problem(api_client.get("/api/v1/contacts/"), 401)


def test_session_authentication_needs_the_csrf_token_for_writes(rep):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rep)

    assert client.get("/api/v1/contacts/").status_code == 200
    body = _problem(client.post("/api/v1/contacts/", {"first_name": "Ana"}, format="json"), 403)
    assert "CSRF" in body["detail"]
    assert Contact.objects.count() == 0

    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    response = client.post(
        "/api/v1/contacts/", {"first_name": "Ana"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 201


def test_token_requests_need_no_csrf_token(rep):
    client = APIClient(enforce_csrf_checks=True)
    issued = api_token_create(actor=rep, name="Script")

    response = client.post(
        "/api/v1/contacts/",
        {"first_name": "Ana"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {issued.key}",
    )

    assert response.status_code == 201


# -- users -------------------------------------------------------------------------------------


def test_users_list_and_retrieve(api_client, rep, rep_b, team_a):
    api_client.force_authenticate(rep)

    response = api_client.get("/api/v1/users/")

    assert response.status_code == 200
    assert [user["email"] for user in response.json()["results"]] == [
        "rep@example.com",
        "repb@example.com",
    ]
    detail = api_client.get(f"/api/v1/users/{rep.pk}/").json()
    assert detail == {
        "id": rep.pk,
        "url": f"http://testserver/api/v1/users/{rep.pk}/",
        "email": "rep@example.com",
        "full_name": "Rep",
        "role": "representative",
        "teams": [team_a.pk],
        "language": "",
        "time_zone": "UTC",
        "is_active": True,
        "date_joined": rep.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_users_filters(api_client, rep, rep_b, team_b, analyst):
    api_client.force_authenticate(rep)

    def emails(query):
        response = api_client.get(f"/api/v1/users/?{query}")
        assert response.status_code == 200
        return [user["email"] for user in response.json()["results"]]

    assert emails("q=repb") == ["repb@example.com"]
    assert emails("role=analyst") == ["analyst@example.com"]
    assert emails(f"team={team_b.pk}") == ["repb@example.com"]
    assert emails("status=deactivated") == []
    assert emails("sort=-email") == ["repb@example.com", "rep@example.com", "analyst@example.com"]
    _problem(api_client.get("/api/v1/users/?role=king"), 400)
    _problem(api_client.get("/api/v1/users/?sort=password"), 400)


def test_users_me(api_client, marketer):
    api_client.force_authenticate(marketer)

    response = api_client.get("/api/v1/users/me/")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["role"]) == (marketer.pk, "marketer")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_users_are_read_only(api_client, admin_user, rep, method):
    api_client.force_authenticate(admin_user)
    url = "/api/v1/users/" if method == "post" else f"/api/v1/users/{rep.pk}/"

    response = getattr(api_client, method)(url, {"role": "administrator"}, format="json")

    _problem(response, 405)
    rep.refresh_from_db()
    assert rep.role == "representative"


# -- teams -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["admin_user", "manager", "rep", "service_agent", "marketer", "analyst"]
)
def test_everyone_reads_teams(request, api_client, role, team_a, team_b, rep):
    api_client.force_authenticate(request.getfixturevalue(role))

    response = api_client.get("/api/v1/teams/")

    assert response.status_code == 200
    assert [team["name"] for team in response.json()["results"]] == ["Team A", "Team B"]
    assert api_client.get(f"/api/v1/teams/{team_a.pk}/").json()["members"] == list(
        team_a.members.values_list("pk", flat=True)
    )


# role → (create, update, delete)
TEAM_WRITES = {
    "admin_user": (201, 200, 204),
    "manager": (403, 403, 403),
    "rep": (403, 403, 403),
    "service_agent": (403, 403, 403),
    "marketer": (403, 403, 403),
    "analyst": (403, 403, 403),
}


@pytest.mark.parametrize("role", list(TEAM_WRITES))
def test_only_team_managers_write_teams(request, api_client, role, team_b):
    actor = request.getfixturevalue(role)
    api_client.force_authenticate(actor)
    create, update, delete = TEAM_WRITES[role]
    events = Event.objects.count()

    assert (
        api_client.post("/api/v1/teams/", {"name": "Team C"}, format="json").status_code == create
    )
    assert (
        api_client.patch(
            f"/api/v1/teams/{team_b.pk}/", {"description": "Nordics"}, format="json"
        ).status_code
        == update
    )
    assert api_client.delete(f"/api/v1/teams/{team_b.pk}/").status_code == delete

    if create == 403:
        assert Team.objects.filter(name="Team B", description="").exists()
        assert not Team.objects.filter(name="Team C").exists()
        assert Event.objects.count() == events
    else:
        assert not Team.objects.filter(name="Team B").exists()
        assert Team.objects.filter(name="Team C").exists()


def test_team_create_with_members_and_update(api_client, admin_user, rep, rep_b):
    api_client.force_authenticate(admin_user)

    response = api_client.post(
        "/api/v1/teams/",
        {"name": "Sales", "description": "Field sales", "members": [rep.pk]},
        format="json",
    )

    assert response.status_code == 201
    team = Team.objects.get(name="Sales")
    assert response.json()["members"] == [rep.pk]
    assert response["Location"] == f"http://testserver/api/v1/teams/{team.pk}/"
    response = api_client.put(
        f"/api/v1/teams/{team.pk}/",
        {"name": "Field sales", "members": [rep.pk, rep_b.pk]},
        format="json",
    )
    assert response.status_code == 200
    assert sorted(response.json()["members"]) == sorted([rep.pk, rep_b.pk])
    assert Event.objects.filter(kind="team.changed").count() == 1


def test_team_bad_input(api_client, admin_user, team_a):
    api_client.force_authenticate(admin_user)

    body = _problem(api_client.post("/api/v1/teams/", {"name": "team a"}, format="json"), 400)
    assert body["errors"] == {"name": ["A team with this name already exists."]}
    body = _problem(
        api_client.post("/api/v1/teams/", {"name": "X", "members": [999999]}, format="json"), 400
    )
    assert body["errors"] == {"members": ['Invalid pk "999999" - object does not exist.']}
    body = _problem(
        api_client.post("/api/v1/teams/", {"name": "X", "created_at": "now"}, format="json"), 400
    )
    assert body["errors"] == {"created_at": ["Unknown or read-only field."]}
    assert Team.objects.count() == 1


def test_a_team_that_records_belong_to_cannot_be_deleted(api_client, admin_user, rep, team_a):
    ContactFactory(owner=rep, team=team_a)
    api_client.force_authenticate(admin_user)

    body = _problem(api_client.delete(f"/api/v1/teams/{team_a.pk}/"), 400)

    assert body["errors"] == {
        "non_field_errors": ["Records still belong to this team: give them to another team first."]
    }
    assert Team.objects.filter(pk=team_a.pk).exists()


# -- tokens ------------------------------------------------------------------------------------


def test_token_create_shows_the_key_once(api_client, analyst):
    api_client.force_authenticate(analyst)

    response = api_client.post(
        "/api/v1/tokens/", {"name": "Reports", "expires_at": "2099-01-01T00:00:00Z"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    token = ApiToken.objects.get()
    assert body["key"].startswith(f"clt_{token.prefix}_")
    assert (body["name"], body["prefix"], body["is_usable"]) == ("Reports", token.prefix, True)
    assert body["expires_at"] == "2099-01-01T00:00:00Z"
    assert body["key"] not in str(token.__dict__)
    listed = api_client.get("/api/v1/tokens/").json()["results"]
    assert [item["id"] for item in listed] == [token.pk]
    assert "key" not in listed[0]
    assert "key" not in api_client.get(f"/api/v1/tokens/{token.pk}/").json()


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        (
            {"name": "X", "expires_at": "2001-01-01T00:00:00Z"},
            {"expires_at": ["The expiry must be in the future."]},
        ),
        ({"name": "X", "prefix": "abc"}, {"prefix": ["Unknown or read-only field."]}),
        ({"name": "X", "user": 1}, {"user": ["Unknown or read-only field."]}),
    ],
)
def test_token_bad_input(api_client, rep, payload, errors):
    api_client.force_authenticate(rep)

    body = _problem(api_client.post("/api/v1/tokens/", payload, format="json"), 400)

    assert body["errors"] == errors
    assert ApiToken.objects.count() == 0


def test_someone_elses_token_answers_404_and_stays_usable(api_client, rep, rep_b, admin_user):
    theirs = api_token_create(actor=rep_b, name="Theirs")
    mine = api_token_create(actor=rep, name="Mine")

    for actor in (rep, admin_user):
        api_client.force_authenticate(actor)
        assert [item["name"] for item in api_client.get("/api/v1/tokens/").json()["results"]] == (
            ["Mine"] if actor == rep else []
        )
        _problem(api_client.get(f"/api/v1/tokens/{theirs.token.pk}/"), 404)
        _problem(api_client.delete(f"/api/v1/tokens/{theirs.token.pk}/"), 404)

    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None
    assert mine.token.revoked_at is None


def test_revoke_keeps_the_token_listed_as_unusable(api_client, rep):
    issued = api_token_create(actor=rep, name="Script")
    api_client.force_authenticate(rep)

    assert api_client.delete(f"/api/v1/tokens/{issued.token.pk}/").status_code == 204

    listed = api_client.get("/api/v1/tokens/").json()["results"]
    assert (listed[0]["is_usable"], listed[0]["revoked_at"] is not None) == (False, True)
    assert Event.objects.filter(kind="api_token.revoked").count() == 1


def test_tokens_cannot_be_changed(api_client, rep):
    issued = api_token_create(actor=rep, name="Script")
    api_client.force_authenticate(rep)

    _problem(
        api_client.patch(f"/api/v1/tokens/{issued.token.pk}/", {"name": "X"}, format="json"), 405
    )
