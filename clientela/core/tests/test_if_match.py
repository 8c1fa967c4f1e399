"""ETags and If-Match on the records without a version: tags, custom fields, teams, API tokens.

Their ETag is a hash of their representation (core.api.representation_etag); a write compares it
with If-Match under a row lock and answers 412 when the record changed meanwhile.
"""

import re

import pytest

from clientela.core.api import representation_etag
from clientela.core.models import CustomFieldDefinition, Tag
from clientela.core.services import (
    custom_field_definition_create,
    custom_field_definition_update,
    tag_get_or_create,
)
from clientela.identity.models import ApiToken, Team
from clientela.identity.services import api_token_create, team_create, team_update

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ETAG = re.compile(r'^"[0-9a-f]{32}"$')
STALE = '"00000000000000000000000000000000"'


@pytest.fixture
def as_admin(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    return api_client


def _precondition_failed(response, current_etag):
    assert response.status_code == 412, response.content
    assert response["Content-Type"] == PROBLEM
    assert response["ETag"] == current_etag
    assert response.json() == {
        "type": "about:blank",
        "title": "Precondition failed",
        "status": 412,
        "detail": "This record was changed by someone else meanwhile.",
    }


def _etag(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert ETAG.match(response["ETag"]), response["ETag"]
    return response["ETag"]


# -- reading ETags ---------------------------------------------------------------------------------


def test_a_teams_etag_is_a_hash_of_what_get_answers(as_admin, admin_user):
    team = team_create(actor=admin_user, name="Sales", members=[admin_user])

    response = as_admin.get(f"/api/v1/teams/{team.pk}/")

    assert response["ETag"] == representation_etag(response.json())
    assert response["ETag"] == representation_etag({**response.json(), "url": "http://other/"})
    assert _etag(as_admin, f"/api/v1/teams/{team.pk}/") == response["ETag"]


def test_the_etag_changes_when_the_record_does(as_admin, admin_user, rep):
    team = team_create(actor=admin_user, name="Sales")
    before = _etag(as_admin, f"/api/v1/teams/{team.pk}/")

    team_update(actor=admin_user, team=team, members=[rep])

    assert _etag(as_admin, f"/api/v1/teams/{team.pk}/") != before


@pytest.mark.parametrize("path", ["tags", "custom-fields", "teams", "tokens"])
def test_if_none_match_with_the_current_etag_answers_304(as_admin, admin_user, path):
    records = {
        "tags": lambda: tag_get_or_create(name="VIP", actor=admin_user),
        "custom-fields": lambda: custom_field_definition_create(
            actor=admin_user,
            record_type="parties.contact",
            key="budget",
            label="Budget",
            field_type="number",
        ),
        "teams": lambda: team_create(actor=admin_user, name="Sales"),
        "tokens": lambda: api_token_create(actor=admin_user, name="Sync").token,
    }
    url = f"/api/v1/{path}/{records[path]().pk}/"
    etag = _etag(as_admin, url)

    response = as_admin.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response.content == b""
    assert as_admin.get(url, HTTP_IF_NONE_MATCH=STALE).status_code == 200


def test_a_create_answers_the_new_records_etag(as_admin):
    response = as_admin.post("/api/v1/teams/", {"name": "Sales"}, format="json")

    assert response.status_code == 201
    assert response["ETag"] == _etag(as_admin, response["Location"])


def test_a_new_tokens_etag_is_that_of_the_token_without_its_key(api_client, rep):
    api_client.force_authenticate(rep)

    response = api_client.post("/api/v1/tokens/", {"name": "Sync"}, format="json")

    assert response["ETag"] == _etag(api_client, response["Location"])


# -- teams -----------------------------------------------------------------------------------------


def test_a_team_write_with_the_current_etag_answers_the_new_one(as_admin, admin_user):
    team = team_create(actor=admin_user, name="Sales")
    url = f"/api/v1/teams/{team.pk}/"
    etag = _etag(as_admin, url)

    response = as_admin.patch(url, {"description": "EMEA"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response.json()["description"] == "EMEA"
    assert response["ETag"] != etag
    assert response["ETag"] == _etag(as_admin, url)


def test_a_team_write_with_a_stale_etag_answers_412_and_changes_nothing(as_admin, admin_user, rep):
    team = team_create(actor=admin_user, name="Sales")
    url = f"/api/v1/teams/{team.pk}/"
    read = _etag(as_admin, url)
    team_update(actor=admin_user, team=team, description="Changed by a colleague")
    current = _etag(as_admin, url)

    patch = as_admin.patch(url, {"name": "Renamed"}, format="json", HTTP_IF_MATCH=read)
    put = as_admin.put(
        url, {"name": "Renamed", "members": [rep.pk]}, format="json", HTTP_IF_MATCH=read
    )
    delete = as_admin.delete(url, HTTP_IF_MATCH=read)

    for response in (patch, put, delete):
        _precondition_failed(response, current)
    team.refresh_from_db()
    assert (team.name, team.description, list(team.members.all())) == (
        "Sales",
        "Changed by a colleague",
        [],
    )


@pytest.mark.parametrize("if_match", ["*", None, "weak"])
def test_if_match_star_absent_or_weak_passes(as_admin, admin_user, if_match):
    team = team_create(actor=admin_user, name="Sales")
    url = f"/api/v1/teams/{team.pk}/"
    headers = {}
    if if_match == "weak":
        # A proxy that compresses answers may hand the tag on weakened.
        headers["HTTP_IF_MATCH"] = f"W/{_etag(as_admin, url)}"
    elif if_match:
        headers["HTTP_IF_MATCH"] = if_match

    response = as_admin.patch(url, {"description": "EMEA"}, format="json", **headers)

    assert response.status_code == 200
    assert Team.objects.get().description == "EMEA"


def test_if_match_may_list_several_etags(as_admin, admin_user):
    team = team_create(actor=admin_user, name="Sales")
    url = f"/api/v1/teams/{team.pk}/"

    response = as_admin.delete(url, HTTP_IF_MATCH=f"{STALE}, {_etag(as_admin, url)}")

    assert response.status_code == 204
    assert Team.objects.count() == 0


def test_if_match_on_a_missing_record_answers_404(as_admin):
    response = as_admin.patch("/api/v1/teams/999/", {"name": "X"}, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == 404


def test_a_precondition_is_checked_before_the_body(as_admin, admin_user):
    team = team_create(actor=admin_user, name="Sales")

    response = as_admin.patch(
        f"/api/v1/teams/{team.pk}/", {"name": ""}, format="json", HTTP_IF_MATCH=STALE
    )

    assert response.status_code == 412


# -- tags, custom fields, tokens --------------------------------------------------------------------


def test_a_tag_delete_checks_if_match(as_admin, admin_user):
    tag = tag_get_or_create(name="VIP", actor=admin_user)
    url = f"/api/v1/tags/{tag.pk}/"
    etag = _etag(as_admin, url)

    stale = as_admin.delete(url, HTTP_IF_MATCH=STALE)
    current = as_admin.delete(url, HTTP_IF_MATCH=etag)

    _precondition_failed(stale, etag)
    assert current.status_code == 204
    assert Tag.objects.count() == 0


def test_a_custom_field_write_checks_if_match(as_admin, admin_user):
    definition = custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="budget",
        label="Budget",
        field_type="number",
    )
    url = f"/api/v1/custom-fields/{definition.pk}/"
    read = _etag(as_admin, url)
    custom_field_definition_update(actor=admin_user, definition=definition, label="Yearly budget")
    current = _etag(as_admin, url)

    stale = as_admin.patch(url, {"help_text": "In EUR"}, format="json", HTTP_IF_MATCH=read)
    stale_delete = as_admin.delete(url, HTTP_IF_MATCH=read)
    fresh = as_admin.patch(url, {"help_text": "In EUR"}, format="json", HTTP_IF_MATCH=current)

    _precondition_failed(stale, current)
    _precondition_failed(stale_delete, current)
    assert fresh.status_code == 200
    assert fresh["ETag"] == _etag(as_admin, url) != current
    definition.refresh_from_db()
    assert (definition.label, definition.help_text) == ("Yearly budget", "In EUR")
    assert CustomFieldDefinition.objects.count() == 1


def test_a_token_revoke_checks_if_match_and_ignores_the_tokens_own_use(api_client, rep):
    # Every request made with a token changes its last use: that is not a change of the token.
    issued = api_token_create(actor=rep, name="Sync")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued.key}"}
    url = f"/api/v1/tokens/{issued.token.pk}/"
    etag = api_client.get(url, **auth)["ETag"]
    api_client.get("/api/v1/users/me/", **auth)

    stale = api_client.delete(url, HTTP_IF_MATCH=STALE, **auth)
    current = api_client.delete(url, HTTP_IF_MATCH=etag, **auth)

    _precondition_failed(stale, etag)
    assert current.status_code == 204
    assert ApiToken.objects.get().revoked_at is not None


def test_the_schema_documents_etags_and_if_match_on_every_record(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for path in ("tags", "custom-fields", "teams", "tokens"):
        detail = schema["paths"][f"/api/v1/{path}/{{id}}/"]
        assert "ETag" in detail["get"]["responses"]["200"]["headers"], path
        assert "304" in detail["get"]["responses"], path
        for method in ("put", "patch", "delete"):
            if method in detail:
                names = {p["name"] for p in detail[method]["parameters"]}
                assert "If-Match" in names, (path, method)
                assert "412" in detail[method]["responses"], (path, method)
    assert "If-Match" not in {
        p["name"] for p in schema["paths"]["/api/v1/users/{id}/"]["get"].get("parameters", [])
    }
