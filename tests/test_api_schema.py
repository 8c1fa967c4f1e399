"""The OpenAPI schema generates without a warning and is served, with local Swagger UI docs."""

import re

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_generates_valid_and_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert sorted(schema["paths"]) == [
        "/api/v1/activities/",
        "/api/v1/activities/{id}/",
        "/api/v1/assignment-rules/",
        "/api/v1/assignment-rules/{id}/",
        "/api/v1/close-reasons/",
        "/api/v1/close-reasons/{id}/",
        "/api/v1/contacts/",
        "/api/v1/contacts/bulk-update/",
        "/api/v1/contacts/export/",
        "/api/v1/contacts/merge/",
        "/api/v1/contacts/{id}/",
        "/api/v1/custom-fields/",
        "/api/v1/custom-fields/{id}/",
        "/api/v1/deals/",
        "/api/v1/deals/{id}/",
        "/api/v1/deals/{id}/move/",
        "/api/v1/duplicates/",
        "/api/v1/duplicates/{id}/dismiss/",
        "/api/v1/imports/",
        "/api/v1/imports/{id}/",
        "/api/v1/imports/{id}/cancel/",
        "/api/v1/imports/{id}/errors/",
        "/api/v1/imports/{id}/report/",
        "/api/v1/imports/{id}/start/",
        "/api/v1/leads/",
        "/api/v1/leads/{id}/",
        "/api/v1/leads/{id}/convert/",
        "/api/v1/merges/{id}/",
        "/api/v1/merges/{id}/undo/",
        "/api/v1/organizations/",
        "/api/v1/organizations/bulk-update/",
        "/api/v1/organizations/export/",
        "/api/v1/organizations/merge/",
        "/api/v1/organizations/{id}/",
        "/api/v1/pipelines/",
        "/api/v1/pipelines/{id}/",
        "/api/v1/reports/conversion/",
        "/api/v1/reports/forecast/",
        "/api/v1/reports/lead-response/",
        "/api/v1/reports/sales-cycle/",
        "/api/v1/reports/stage-durations/",
        "/api/v1/reports/velocity/",
        "/api/v1/reports/win-rate/",
        "/api/v1/search/",
        "/api/v1/tags/",
        "/api/v1/tags/{id}/",
        "/api/v1/tasks/",
        "/api/v1/tasks/{id}/",
        "/api/v1/tasks/{id}/complete/",
        "/api/v1/tasks/{id}/reopen/",
        "/api/v1/teams/",
        "/api/v1/teams/{id}/",
        "/api/v1/tokens/",
        "/api/v1/tokens/{id}/",
        "/api/v1/users/",
        "/api/v1/users/me/",
        "/api/v1/users/{id}/",
        "/api/v1/web-forms/",
        "/api/v1/web-forms/{id}/",
    ]


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_errors_are_documented_as_problem_details(schema):
    contact = schema["paths"]["/api/v1/contacts/{id}/"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

    assert {
        code: contact["patch"]["responses"][code]["content"]
        for code in ("400", "401", "403", "404", "412")
    } == dict.fromkeys(("400", "401", "403", "404", "412"), problem)
    assert set(schema["components"]["schemas"]["Problem"]["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "errors",
        "current_version",
    }


def test_etags_and_if_match_are_documented(schema):
    contact = schema["paths"]["/api/v1/contacts/{id}/"]

    assert "ETag" in contact["get"]["responses"]["200"]["headers"]
    assert {p["name"] for p in contact["patch"]["parameters"]} >= {"If-Match", "id"}
    assert {p["name"] for p in contact["delete"]["parameters"]} >= {"If-Match", "id"}
    assert contact["get"]["tags"] == ["contacts"]


def test_read_only_fields_are_marked_and_requests_are_json(schema):
    components = schema["components"]["schemas"]

    assert "version" not in components["ContactRequest"]["properties"]
    assert "full_name" not in components["ContactRequest"]["properties"]
    assert components["Contact"]["properties"]["version"]["readOnly"] is True
    assert list(schema["paths"]["/api/v1/contacts/"]["post"]["requestBody"]["content"]) == [
        "application/json"
    ]


def test_personal_tokens_are_described(schema):
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_the_docs_use_only_local_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert urls
    assert all(url.startswith(("/static/", "/api/")) for url in urls), urls
    assert "http://" not in html
    assert "https://" not in html.replace("https://github.com", "")
    assert (
        "'unsafe-inline'"
        not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    )

    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
