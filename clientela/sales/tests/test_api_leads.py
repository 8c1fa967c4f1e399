"""/api/v1/leads/ (and convert), /api/v1/assignment-rules/ and /api/v1/web-forms/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientela.core.models import Event
from clientela.parties.models import Contact
from clientela.parties.services import contact_create
from clientela.sales.leads import lead_create
from clientela.sales.models import AssignmentRule, Lead, WebForm
from clientela.sales.tests.factories import LeadFactory, PipelineFactory, WebFormFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


@pytest.fixture
def as_admin(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    return api_client


def test_create_answers_the_lead_with_its_etag_and_location(as_rep, rep, team_a):
    response = as_rep.post(
        "/api/v1/leads/",
        {
            "first_name": "Ana",
            "last_name": "Ruiz",
            "email": "ANA@acme.dk",
            "phone": "32 12 34 56",
            "country": "DK",
            "company_name": "Acme",
            "tags": ["Fair"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    body = response.json()
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"http://testserver/api/v1/leads/{lead.pk}/"
    assert body == {
        "id": lead.pk,
        "url": f"http://testserver/api/v1/leads/{lead.pk}/",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "full_name": "Ana Ruiz",
        "email": "ana@acme.dk",
        "phone": "+4532123456",
        "company_name": "Acme",
        "job_title": "",
        "country": "DK",
        "source": "",
        "status": "new",
        "message": "",
        "web_form": None,
        "owner": rep.pk,
        "team": team_a.pk,
        "is_shared_with_team": True,
        "tags": ["Fair"],
        "custom_fields": {},
        "first_activity_at": None,
        "converted_at": None,
        "converted_contact": None,
        "converted_organization": None,
        "converted_deal": None,
        "version": 1,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_create_refuses_invalid_input_as_problem_json(as_rep):
    response = as_rep.post(
        "/api/v1/leads/", {"last_name": "X", "email": "nope", "id": 5}, format="json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == {"id": ["Unknown or read-only field."]}
    response = as_rep.post("/api/v1/leads/", {"last_name": "X", "email": "nope"}, format="json")
    assert response.json()["errors"] == {"email": ["“nope” is not a valid email address."]}
    assert Lead.objects.count() == 0


def test_list_filters_and_is_scoped(as_rep, rep, rep_b):
    lead_create(actor=rep, first_name="Ana", last_name="Ruiz", country="DK")
    lead_create(actor=rep, first_name="Bo", last_name="Berg", country="SE")
    lead_create(actor=rep_b, first_name="Hidden", last_name="Lead", country="DK")

    response = as_rep.get("/api/v1/leads/", {"country": "DK"})

    assert response.status_code == 200
    assert [item["full_name"] for item in response.json()["results"]] == ["Ana Ruiz"]
    assert as_rep.get("/api/v1/leads/", {"sort": "password"}).status_code == 400


def test_list_queries_do_not_grow_with_the_rows(as_rep, rep, django_assert_num_queries):
    for number in range(3):
        LeadFactory(owner=rep, first_name=f"Few{number}")
    with CaptureQueriesContext(connection) as few:
        as_rep.get("/api/v1/leads/")
    for number in range(20):
        LeadFactory(owner=rep, first_name=f"Many{number}")

    with django_assert_num_queries(len(few.captured_queries)):
        response = as_rep.get("/api/v1/leads/")

    assert response.json()["count"] == 23


def test_someone_elses_lead_is_404(as_rep, rep_b):
    lead = lead_create(actor=rep_b, last_name="Hidden")

    assert as_rep.get(f"/api/v1/leads/{lead.pk}/").status_code == 404
    assert (
        as_rep.patch(f"/api/v1/leads/{lead.pk}/", {"last_name": "X"}, format="json").status_code
        == 404
    )


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(as_rep, rep):
    lead = lead_create(actor=rep, last_name="Ruiz")

    ok = as_rep.patch(
        f"/api/v1/leads/{lead.pk}/", {"status": "contacted"}, format="json", HTTP_IF_MATCH='"1"'
    )
    stale = as_rep.patch(
        f"/api/v1/leads/{lead.pk}/", {"status": "qualified"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert ok.status_code == 200
    assert ok["ETag"] == '"2"'
    assert stale.status_code == 412
    lead.refresh_from_db()
    assert lead.status == "contacted"


def test_a_representative_cannot_delete_but_a_manager_can(api_client, rep, manager):
    lead = lead_create(actor=rep, last_name="Ruiz")
    api_client.force_authenticate(rep)
    refused = api_client.delete(f"/api/v1/leads/{lead.pk}/")
    api_client.force_authenticate(manager)
    deleted = api_client.delete(f"/api/v1/leads/{lead.pk}/")

    assert refused.status_code == 403
    assert deleted.status_code == 204
    assert Lead.objects.count() == 0


def test_convert_endpoint_reuses_the_contact_and_opens_a_deal(as_rep, rep):
    existing = contact_create(actor=rep, last_name="Ruiz", emails=["ana@acme.dk"])
    PipelineFactory(name="Main")
    lead = lead_create(actor=rep, last_name="Ruiz", email="Ana@Acme.dk", company_name="Acme")

    response = as_rep.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        {"create_deal": True, "deal_title": "Acme deal", "amount": "900.00"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    lead.refresh_from_db()
    assert body["contact"] == existing.pk
    assert body["is_contact_new"] is False
    assert body["is_organization_new"] is True
    assert body["organization"] == lead.converted_organization_id
    assert body["deal"] == lead.converted_deal_id
    assert body["lead"]["status"] == "converted"
    assert Contact.objects.count() == 1
    again = as_rep.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json")
    assert again.status_code == 400
    assert again.json()["errors"]["status"] == [
        f"This lead was already converted on {lead.converted_at.date().isoformat()}; "
        "it cannot be converted again."
    ]


def test_convert_endpoint_refuses_an_analyst(api_client, analyst, rep):
    lead = lead_create(actor=rep, last_name="Ruiz")
    api_client.force_authenticate(analyst)

    response = api_client.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json")

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == "new"


def test_assignment_rules_api_is_for_administrators(as_admin, api_client, manager, team_a):
    created = as_admin.post(
        "/api/v1/assignment-rules/",
        {"name": "Team A", "team": team_a.pk, "countries": ["dk"]},
        format="json",
    )
    rule = AssignmentRule.objects.get()
    listed = as_admin.get("/api/v1/assignment-rules/")
    patched = as_admin.patch(
        f"/api/v1/assignment-rules/{rule.pk}/", {"is_active": False}, format="json"
    )
    api_client.force_authenticate(manager)
    refused = api_client.get("/api/v1/assignment-rules/")

    assert created.status_code == 201, created.content
    assert created.json()["countries"] == ["DK"]
    assert created.json()["method"] == "round_robin"
    assert [item["name"] for item in listed.json()["results"]] == ["Team A"]
    assert patched.status_code == 200
    assert patched.json()["is_active"] is False
    assert refused.status_code == 403


def test_web_forms_api_creates_and_shows_the_snippet(as_admin, admin_user, rep):
    response = as_admin.post(
        "/api/v1/web-forms/",
        {
            "name": "Contact us",
            "fields": [{"field": "email", "required": True}],
            "consent_text": "OK to contact me.",
            "default_owner": rep.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    web_form = WebForm.objects.get()
    assert body["slug"] == "contact-us"
    assert body["fields"] == [{"field": "email", "required": True}]
    assert body["public_url"] == "http://127.0.0.1:8000/f/contact-us/"
    assert body["embed_html"].startswith('<form action="http://127.0.0.1:8000/f/contact-us/"')
    assert response["ETag"] == '"1"'
    bad = as_admin.patch(
        f"/api/v1/web-forms/{web_form.pk}/", {"redirect_url": "javascript:x"}, format="json"
    )
    assert bad.status_code == 400
    assert Event.objects.filter(kind="web_form.created").count() == 1


def test_web_forms_api_is_refused_to_representatives(as_rep, rep):
    web_form = WebFormFactory(default_owner=rep)

    assert as_rep.get("/api/v1/web-forms/").status_code == 403
    assert as_rep.get(f"/api/v1/web-forms/{web_form.pk}/").status_code == 404
    assert as_rep.post("/api/v1/web-forms/", {"name": "X"}, format="json").status_code == 403
