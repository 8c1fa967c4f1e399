"""Leads: the services (create, update, disqualify, delete, import) and the lead pages."""

import re
from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientela.core.exceptions import ConflictError
from clientela.core.models import Event
from clientela.core.services import custom_field_definition_create
from clientela.sales.choices import LeadStatus
from clientela.sales.events import LeadEvent
from clientela.sales.leads import (
    lead_create,
    lead_delete,
    lead_disqualify,
    lead_get,
    lead_update,
    leads_import,
)
from clientela.sales.models import Lead
from clientela.sales.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LEADS = reverse("sales:lead_list")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _kinds(lead):
    return list(
        Event.objects.filter(record_id=lead.pk, kind__startswith="lead.")
        .order_by("id")
        .values_list("kind", flat=True)
    )


def _names(response):
    return re.findall(
        r'<tr data-testid="lead-row">\s*<td><a href="[^"]+">([^<]+)</a>', response.content.decode()
    )


# -- services ----------------------------------------------------------------------------------


def test_lead_create_normalizes_email_phone_and_country_and_records_events(rep, team_a):
    lead = lead_create(
        actor=rep,
        first_name=" Ana ",
        last_name="Ruiz",
        email="Ana.Ruiz@Example.COM",
        phone="32 12 34 56",
        country="dk",
        company_name="Acme ApS",
        source="referral",
        now=NOON,
    )

    lead.refresh_from_db()
    assert (lead.first_name, lead.email, lead.phone, lead.country) == (
        "Ana",
        "ana.ruiz@example.com",
        "+4532123456",
        "DK",
    )
    assert (lead.owner, lead.team, lead.status) == (rep, team_a, LeadStatus.NEW)
    assert lead.created_at == NOON
    assert lead.search_text == "ana ruiz ana.ruiz@example.com acme aps 4532123456"
    assert _kinds(lead) == [LeadEvent.CREATED, LeadEvent.ASSIGNED]


def test_lead_create_refuses_invalid_values_and_writes_nothing(rep):
    with pytest.raises(ValidationError) as caught:
        lead_create(actor=rep, last_name="X", email="not-an-email", phone="12", country="ZZ")

    errors = caught.value.message_dict
    assert errors["email"] == ["“not-an-email” is not a valid email address."]
    assert errors["country"] == ["Choose a country from the list."]
    assert len(errors["phone"]) == 1
    assert Lead.objects.count() == 0
    assert Event.objects.count() == 0


def test_lead_create_needs_a_name_email_phone_or_company(rep):
    with pytest.raises(ValidationError) as caught:
        lead_create(actor=rep, job_title="CTO")

    assert caught.value.message_dict == {
        "last_name": ["Enter a name, an email address, a phone number or a company."]
    }


def test_lead_create_refuses_the_converted_status(rep):
    with pytest.raises(ValidationError) as caught:
        lead_create(actor=rep, last_name="X", status="converted")

    assert caught.value.message_dict == {"status": ["A lead becomes converted by converting it."]}


def test_an_analyst_cannot_create_a_lead(analyst):
    with pytest.raises(PermissionDenied):
        lead_create(actor=analyst, last_name="X")

    assert Lead.objects.count() == 0


def test_a_representative_cannot_give_a_new_lead_to_someone_else(rep, rep_a2):
    with pytest.raises(PermissionDenied):
        lead_create(actor=rep, last_name="X", owner=rep_a2)

    assert Lead.objects.count() == 0


def test_a_manager_gives_a_new_lead_to_a_team_mate_who_is_notified(
    manager, rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_create(actor=manager, last_name="Given", owner=rep)

    assert lead.owner == rep
    notification = rep.notifications.get()
    assert notification.kind == "lead.assigned"
    assert notification.url == f"/leads/{lead.pk}/"


def test_lead_update_changes_fields_and_records_what_changed(rep):
    lead = lead_create(actor=rep, last_name="Ruiz", email="ana@example.com")

    lead = lead_update(
        actor=rep, lead=lead, expected_version=1, status="contacted", email="ANA@acme.dk"
    )

    assert (lead.version, lead.status, lead.email) == (2, "contacted", "ana@acme.dk")
    changed = Event.objects.get(record_id=lead.pk, kind=LeadEvent.CHANGED)
    assert changed.data["changes"] == {
        "email": {"old": "ana@example.com", "new": "ana@acme.dk"},
        "status": {"old": "new", "new": "contacted"},
    }


def test_lead_update_with_an_old_version_is_refused(rep):
    lead = lead_create(actor=rep, last_name="Ruiz")
    lead_update(actor=rep, lead=lead, job_title="CTO")

    with pytest.raises(ConflictError):
        lead_update(actor=rep, lead=lead, expected_version=1, job_title="CEO")

    lead.refresh_from_db()
    assert (lead.job_title, lead.version) == ("CTO", 2)


def test_lead_update_cannot_set_converted(rep):
    lead = lead_create(actor=rep, last_name="Ruiz")

    with pytest.raises(ValidationError):
        lead_update(actor=rep, lead=lead, status="converted")

    lead.refresh_from_db()
    assert lead.status == "new"


def test_nobody_changes_a_lead_outside_their_scope(rep, rep_b):
    lead = lead_create(actor=rep, last_name="Ruiz")

    with pytest.raises(Lead.DoesNotExist):
        lead_update(actor=rep_b, lead=lead, last_name="Taken")

    lead.refresh_from_db()
    assert lead.last_name == "Ruiz"


def test_lead_disqualify_records_the_reason(rep):
    lead = lead_create(actor=rep, last_name="Ruiz")

    lead = lead_disqualify(actor=rep, lead=lead, reason="No budget")

    assert lead.status == LeadStatus.DISQUALIFIED
    event = Event.objects.get(record_id=lead.pk, kind=LeadEvent.DISQUALIFIED)
    assert event.data == {"label": "Ruiz", "reason": "No budget"}


def test_a_representative_may_not_delete_a_lead(rep):
    lead = lead_create(actor=rep, last_name="Ruiz")

    with pytest.raises(PermissionDenied):
        lead_delete(actor=rep, lead=lead)

    assert Lead.objects.filter(pk=lead.pk).exists()


def test_a_manager_deletes_a_lead_of_the_team(manager, rep):
    lead = lead_create(actor=rep, last_name="Ruiz")

    lead_delete(actor=manager, lead=lead)

    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert Event.objects.filter(record_id=lead.pk, kind=LeadEvent.DELETED).count() == 1


def test_lead_custom_fields_are_validated(admin_user, rep):
    custom_field_definition_create(
        actor=admin_user,
        record_type="sales.lead",
        key="budget",
        label="Budget",
        field_type="number",
        min_value=0,
    )

    lead = lead_create(actor=rep, last_name="Ruiz", custom_fields={"budget": "1200"})
    with pytest.raises(ValidationError) as caught:
        lead_create(actor=rep, last_name="Bad", custom_fields={"budget": "-1"})

    assert lead.custom_fields == {"budget": 1200}
    assert list(caught.value.message_dict) == ["custom_fields.budget"]


def test_someone_elses_lead_is_not_found(rep, rep_b):
    lead = lead_create(actor=rep, last_name="Ruiz")

    with pytest.raises(Http404):
        lead_get(rep_b, lead.pk)


def test_leads_import_creates_good_rows_and_reports_bad_ones(rep):
    text = (
        "First name,Last name,Email,Company,Country\n"
        "Ana,Ruiz,ANA@acme.dk,Acme,dk\n"
        "Bo,Berg,not-an-email,Beta,SE\n"
        ",,,,\n"
        "Cy,Chen,cy@gamma.io,Gamma,\n"
    )

    result = leads_import(actor=rep, file_text=text)

    assert [lead.email for lead in result.created] == ["ana@acme.dk", "cy@gamma.io"]
    assert {lead.source for lead in result.created} == {"import"}
    assert result.errors == [(3, ["email: “not-an-email” is not a valid email address."])]
    assert Lead.objects.count() == 2


def test_leads_import_refuses_a_file_without_known_columns(rep):
    with pytest.raises(ValidationError):
        leads_import(actor=rep, file_text="foo,bar\n1,2\n")

    assert Lead.objects.count() == 0


# -- pages -------------------------------------------------------------------------------------


def test_lead_list_shows_what_the_person_may_see_newest_first(client, rep, rep_a2, rep_b):
    LeadFactory(first_name="Own", owner=rep, created_at=datetime(2026, 1, 3, tzinfo=UTC))
    LeadFactory(first_name="Shared", owner=rep_a2, created_at=datetime(2026, 1, 2, tzinfo=UTC))
    LeadFactory(
        first_name="Private",
        owner=rep_a2,
        is_shared_with_team=False,
        created_at=datetime(2026, 1, 4, tzinfo=UTC),
    )
    LeadFactory(first_name="Other", owner=rep_b)
    client.force_login(rep)

    response = client.get(LEADS)

    assert response.status_code == 200
    assert _names(response) == ["Own Person", "Shared Person"]


def test_lead_list_filters_by_status_and_searches(client, rep):
    lead_create(actor=rep, first_name="Ana", last_name="Ruiz", company_name="Acme")
    contacted = lead_create(actor=rep, first_name="Bo", last_name="Berg", company_name="Acme")
    lead_update(actor=rep, lead=contacted, status="contacted")
    lead_create(actor=rep, first_name="Cy", last_name="Chen", company_name="Gamma")
    client.force_login(rep)

    by_status = client.get(LEADS, {"status": "contacted"})
    by_search = client.get(LEADS, {"q": "acme", "sort": "name"})

    assert _names(by_status) == ["Bo Berg"]
    assert _names(by_search) == ["Bo Berg", "Ana Ruiz"]


def test_lead_list_answers_the_results_partial_to_htmx(client, rep):
    lead_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)

    response = client.get(LEADS, headers={"HX-Request": "true", "HX-Target": "results"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html


def test_lead_list_queries_do_not_grow_with_the_rows(client, rep, django_assert_num_queries):
    for number in range(3):
        LeadFactory(owner=rep, first_name=f"Few{number}")
    client.force_login(rep)
    client.get(LEADS)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as few:
        client.get(LEADS)
    for number in range(20):
        LeadFactory(owner=rep, first_name=f"Many{number}")

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(LEADS)

    assert len(_names(response)) == 23


def test_analyst_sees_the_list_but_no_new_lead_button(client, analyst, rep):
    lead_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(analyst)

    response = client.get(LEADS)

    assert _names(response) == ["Ana Ruiz"]
    assert 'data-testid="new-lead"' not in response.content.decode()


def test_lead_create_page_creates_the_lead(client, rep):
    client.force_login(rep)

    response = client.post(
        reverse("sales:lead_create"),
        {
            "first_name": "Ana",
            "last_name": "Ruiz",
            "email": "ana@acme.dk",
            "phone": "",
            "country": "DK",
            "source": "event",
            "is_shared_with_team": "on",
            "tags": "Fair 2026",
        },
    )

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert (lead.email, lead.source, lead.owner) == ("ana@acme.dk", "event", rep)
    assert [tag.name for tag in lead.tags.all()] == ["Fair 2026"]


def test_lead_create_page_shows_service_errors_on_their_fields(client, rep):
    client.force_login(rep)

    response = client.post(
        reverse("sales:lead_create"), {"last_name": "Ruiz", "phone": "12", "country": ""}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    assert Lead.objects.count() == 0


def test_lead_edit_page_saves_and_reports_a_conflict(client, rep):
    lead = lead_create(actor=rep, last_name="Ruiz")
    lead_update(actor=rep, lead=lead, job_title="CTO")
    client.force_login(rep)

    response = client.post(
        reverse("sales:lead_edit", args=[lead.pk]),
        {"last_name": "Ruiz", "job_title": "CEO", "status": "new", "version": "1"},
    )

    assert response.status_code == 200
    assert 'data-testid="conflict"' in response.content.decode()
    lead.refresh_from_db()
    assert lead.job_title == "CTO"


def test_lead_detail_shows_fields_and_timeline(client, rep):
    lead = lead_create(actor=rep, first_name="Ana", last_name="Ruiz", email="ana@acme.dk")
    client.force_login(rep)

    response = client.get(reverse("sales:lead_detail", args=[lead.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="mailto:ana@acme.dk"' in html
    assert 'data-testid="convert-lead"' in html
    assert [entry.event.kind for entry in response.context["entries"]] == [
        "lead.assigned",
        "lead.created",
    ]


def test_lead_detail_of_someone_elses_lead_is_404(client, rep, rep_b):
    lead = lead_create(actor=rep, last_name="Ruiz")
    client.force_login(rep_b)

    assert client.get(reverse("sales:lead_detail", args=[lead.pk])).status_code == 404


def test_lead_disqualify_page_action(client, rep):
    lead = lead_create(actor=rep, last_name="Ruiz")
    client.force_login(rep)

    response = client.post(reverse("sales:lead_disqualify", args=[lead.pk]))

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "disqualified"


def test_lead_import_page_imports_a_file(client, rep):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(rep)
    upload = SimpleUploadedFile(
        "leads.csv", b"email,company\nana@acme.dk,Acme\nbo@beta.se,Beta\n", "text/csv"
    )

    response = client.post(reverse("sales:lead_import"), {"file": upload})

    assert response.status_code == 302
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ana@acme.dk", "bo@beta.se"]
