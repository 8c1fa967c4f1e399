"""The public web form at /f/<slug>/: HTML and JSON, spam, rate limit, validation, consent, privacy."""

import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from clientela.core.models import Event
from clientela.sales.leads import assignment_rule_create, lead_create
from clientela.sales.models import Lead, WebFormSubmission
from clientela.sales.tests.factories import WebFormFactory

pytestmark = pytest.mark.django_db

CONSENT = "I agree that Acme may contact me about my request."
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def owner(team_a):
    from clientela.identity.tests.factories import UserFactory

    return UserFactory(
        email="secret.owner@internal.example", full_name="Secret Owner", teams=[team_a]
    )


@pytest.fixture
def web_form(owner):
    return WebFormFactory(
        slug="contact-us",
        title="Talk to us",
        consent_text=CONSENT,
        thank_you_message="Thanks, we will call you.",
        default_owner=owner,
        fields=[
            {"field": "first_name", "required": False},
            {"field": "last_name", "required": True},
            {"field": "email", "required": True},
            {"field": "phone", "required": False},
            {"field": "message", "required": False},
        ],
    )


URL = "/f/contact-us/"
GOOD = {
    "first_name": "Ana",
    "last_name": "Ruiz",
    "email": "Ana@Example.com",
    "phone": "+45 32 12 34 56",
    "message": "Call me",
    "consent": "on",
    "website": "",
}


def _post_json(client, data, **extra):
    return client.post(URL, json.dumps(data), content_type="application/json", **extra)


def test_the_hosted_page_shows_the_form_and_nothing_internal(client, web_form, owner):
    lead_create(actor=owner, last_name="Earlier", email="earlier.lead@example.com")

    response = client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Talk to us</h1>" in html
    assert 'name="last_name"' in html
    assert 'name="consent"' in html
    assert '<input type="text" name="website"' in html
    assert " hidden " in html
    assert CONSENT in html
    for secret in ("secret.owner@internal.example", "Secret Owner", "earlier.lead@example.com"):
        assert secret not in html
    assert "app-header" not in html  # no application chrome
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_a_form_post_creates_the_lead_records_consent_and_thanks(client, web_form, owner):
    with mock.patch("django.utils.timezone.now", return_value=NOON):
        response = client.post(
            URL,
            GOOD,
            HTTP_USER_AGENT="Mozilla/5.0 Test",
            HTTP_REFERER="https://www.acme.example/contact",
            REMOTE_ADDR="203.0.113.7",
        )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Thanks, we will call you." in html
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.phone) == (
        "Ana",
        "Ruiz",
        "ana@example.com",
        "+4532123456",
    )
    assert (lead.source, lead.web_form, lead.owner, lead.message) == (
        "website",
        web_form,
        owner,
        "Call me",
    )
    submission = WebFormSubmission.objects.get()
    assert submission.lead == lead
    assert submission.consent_given is True
    assert submission.consent_text == CONSENT
    assert submission.submitted_at == NOON
    assert submission.ip_address == "203.0.113.7"
    assert submission.user_agent == "Mozilla/5.0 Test"
    assert submission.page_url == "https://www.acme.example/contact"
    assert submission.data == {
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "ana@example.com",
        "phone": "+4532123456",
        "message": "Call me",
    }
    kinds = list(
        Event.objects.filter(record_id=lead.pk).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["lead.created", "lead.assigned", "lead.submitted"]
    assert "secret.owner@internal.example" not in html


def test_a_page_field_names_the_page_when_there_is_no_referer(client, web_form):
    client.post(URL, {**GOOD, "page": "https://shop.example/landing"})

    assert WebFormSubmission.objects.get().page_url == "https://shop.example/landing"


def test_a_json_post_answers_201_with_only_a_status_and_message(client, web_form):
    response = _post_json(client, {**GOOD, "consent": True})

    assert response.status_code == 201
    assert response.json() == {"status": "received", "message": "Thanks, we will call you."}
    assert Lead.objects.count() == 1


def test_the_form_is_exempt_from_csrf(web_form):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(URL, GOOD)

    assert response.status_code == 200
    assert Lead.objects.count() == 1


def test_a_filled_honeypot_answers_as_usual_but_stores_nothing(client, web_form):
    page = client.post(URL, {**GOOD, "website": "http://spam.example"})
    api = _post_json(client, {**GOOD, "website": "http://spam.example"})

    assert page.status_code == 200
    assert "Thanks, we will call you." in page.content.decode()
    assert api.status_code == 201
    assert (Lead.objects.count(), WebFormSubmission.objects.count(), Event.objects.count()) == (
        0,
        0,
        0,
    )


def test_the_rate_limit_refuses_the_sixth_submission_from_one_address(settings, client, web_form):
    settings.CLIENTELA_WEBFORM_RATE_LIMIT = "5/10"
    answers = [
        _post_json(client, {**GOOD, "email": f"n{n}@example.com"}, REMOTE_ADDR="198.51.100.1")
        for n in range(6)
    ]
    other_address = _post_json(client, GOOD, REMOTE_ADDR="198.51.100.2")

    assert [answer.status_code for answer in answers] == [201, 201, 201, 201, 201, 429]
    limited = answers[-1]
    assert limited["Content-Type"] == "application/problem+json"
    assert limited.json()["status"] == 429
    assert 1 <= int(limited["Retry-After"]) <= 600
    assert other_address.status_code == 201
    assert Lead.objects.count() == 6


def test_the_rate_limit_window_passes(settings, client, web_form):
    settings.CLIENTELA_WEBFORM_RATE_LIMIT = "2/10"
    with mock.patch("django.utils.timezone.now", return_value=NOON):
        for _ in range(2):
            client.post(URL, GOOD, REMOTE_ADDR="198.51.100.1")
        limited = client.post(URL, GOOD, REMOTE_ADDR="198.51.100.1")
    with mock.patch("django.utils.timezone.now", return_value=NOON + timedelta(minutes=11)):
        later = client.post(URL, GOOD, REMOTE_ADDR="198.51.100.1")

    assert limited.status_code == 429
    assert 'data-testid="public-limited"' in limited.content.decode()
    assert later.status_code == 200
    assert Lead.objects.count() == 3


def test_an_invalid_email_answers_422_with_field_errors_in_json(client, web_form):
    response = _post_json(client, {**GOOD, "email": "not-an-email", "last_name": ""})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {
        "last_name": ["This field is required."],
        "email": ["“not-an-email” is not a valid email address."],
    }
    assert Lead.objects.count() == 0


def test_an_invalid_form_post_shows_the_errors_and_keeps_the_input(client, web_form):
    response = client.post(URL, {**GOOD, "email": "not-an-email", "phone": "12"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "“not-an-email” is not a valid email address." in html
    assert 'value="Ana"' in html
    assert Lead.objects.count() == 0


def test_consent_is_required_when_the_form_asks_for_it(client, web_form):
    page = client.post(URL, {**GOOD, "consent": ""})
    api = _post_json(client, {**GOOD, "consent": False})

    assert page.status_code == 200
    assert "Please give your consent to send the form." in page.content.decode()
    assert api.json()["errors"] == {"consent": ["Please give your consent to send the form."]}
    assert WebFormSubmission.objects.count() == 0


def test_a_form_without_consent_text_records_no_consent(client, web_form):
    web_form.consent_text = ""
    web_form.save()

    client.post(URL, {**GOOD, "consent": ""})

    submission = WebFormSubmission.objects.get()
    assert (submission.consent_given, submission.consent_text) == (False, "")


def test_answers_never_show_other_leads_or_the_owner(client, web_form, owner):
    lead_create(actor=owner, last_name="Other", email="other.lead@example.com")

    answers = [
        client.get(URL),
        client.post(URL, GOOD),
        client.post(URL, {**GOOD, "email": "bad"}),
        _post_json(client, GOOD),
        _post_json(client, {**GOOD, "email": "bad"}),
    ]

    for answer in answers:
        body = answer.content.decode()
        for secret in ("other.lead@example.com", "secret.owner@internal.example", "Secret Owner"):
            assert secret not in body


def test_an_inactive_form_is_not_found(client, web_form):
    web_form.is_active = False
    web_form.save()

    page = client.get(URL)
    posted = client.post(URL, GOOD)
    api = _post_json(client, GOOD)

    assert (page.status_code, posted.status_code, api.status_code) == (404, 404, 404)
    assert api["Content-Type"] == "application/problem+json"
    assert Lead.objects.count() == 0


def test_an_unknown_form_is_not_found(client, db):
    assert client.get("/f/nothing-here/").status_code == 404


def test_a_json_body_that_is_not_an_object_is_refused(client, web_form):
    response = client.post(URL, "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert Lead.objects.count() == 0


def test_a_form_with_a_redirect_answers_303_and_allows_posting_there(client, web_form):
    web_form.redirect_url = "https://www.acme.example/thanks"
    web_form.save()

    page = client.get(URL)
    response = client.post(URL, GOOD)

    assert "form-action 'self' https://www.acme.example" in page["Content-Security-Policy"]
    assert response.status_code == 303
    assert response["Location"] == "https://www.acme.example/thanks"


def test_submissions_are_routed_by_the_web_form_rule(client, admin_user, web_form, rep_a2):
    assignment_rule_create(
        actor=admin_user, name="Form", method="user", user=rep_a2, web_form=web_form
    )

    client.post(URL, GOOD)

    assert Lead.objects.get().owner == rep_a2


def test_the_lead_detail_shows_the_consent_record(client, web_form, owner):
    client.post(URL, GOOD)
    lead = Lead.objects.get()
    client.force_login(owner)

    response = client.get(reverse("sales:lead_detail", args=[lead.pk]))

    assert CONSENT in response.content.decode()
