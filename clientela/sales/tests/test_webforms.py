"""Web forms: their services, the snippet, and the administrator's pages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clientela.core.exceptions import ConflictError
from clientela.core.models import Event
from clientela.sales.models import WebForm
from clientela.sales.tests.factories import PipelineFactory, WebFormFactory
from clientela.sales.webforms import (
    webform_create,
    webform_delete,
    webform_snippet,
    webform_submit,
    webform_update,
)

pytestmark = pytest.mark.django_db

FIELDS = [{"field": "email", "required": True}, {"field": "first_name", "required": False}]


def test_webform_create_keeps_the_settings_and_makes_the_address_from_the_name(admin_user, rep):
    pipeline = PipelineFactory()

    web_form = webform_create(
        actor=admin_user,
        name="Contact us",
        fields=FIELDS,
        consent_text="I agree to be contacted.",
        thank_you_message="Thanks!",
        default_owner=rep,
        pipeline=pipeline,
    )

    assert web_form.slug == "contact-us"
    assert web_form.fields == FIELDS
    assert (web_form.default_owner, web_form.pipeline, web_form.source) == (
        rep,
        pipeline,
        "website",
    )
    assert Event.objects.filter(record_id=web_form.pk, kind="web_form.created").count() == 1


def test_webform_default_owner_is_the_creator(admin_user):
    web_form = webform_create(actor=admin_user, name="Mine", fields=FIELDS)

    assert web_form.default_owner == admin_user


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"fields": [{"field": "password"}]},
            {
                "fields": [
                    "Unknown field: password. Choose among: first_name, last_name, email, "
                    "phone, company_name, job_title, country, message."
                ]
            },
        ),
        (
            {"fields": [{"field": "first_name"}]},
            {"fields": ["A form asks for an email address or a phone number, to reply to."]},
        ),
        ({"fields": ["email", "email"]}, {"fields": ["Each field may appear only once."]}),
        (
            {"fields": FIELDS, "redirect_url": "javascript:alert(1)"},
            {"redirect_url": ["Enter a web address starting with https:// or http://."]},
        ),
        (
            {"fields": FIELDS, "redirect_url": "ftp://example.com/file"},
            {"redirect_url": ["Enter a web address starting with https:// or http://."]},
        ),
    ],
)
def test_webform_create_refuses_invalid_settings(admin_user, values, errors):
    with pytest.raises(ValidationError) as caught:
        webform_create(actor=admin_user, name="Bad", **values)

    assert caught.value.message_dict == errors
    assert WebForm.objects.count() == 0


def test_webform_addresses_are_unique(admin_user):
    webform_create(actor=admin_user, name="Contact", fields=FIELDS)

    with pytest.raises(ValidationError) as caught:
        webform_create(actor=admin_user, name="Other", slug="contact", fields=FIELDS)

    assert caught.value.message_dict == {"slug": ["Another form already has this address."]}


def test_only_administrators_configure_web_forms(manager):
    with pytest.raises(PermissionDenied):
        webform_create(actor=manager, name="Nope", fields=FIELDS)

    assert WebForm.objects.count() == 0


def test_webform_update_records_changes_and_checks_the_version(admin_user):
    web_form = webform_create(actor=admin_user, name="Contact", fields=FIELDS)

    updated = webform_update(actor=admin_user, web_form=web_form, expected_version=1, title="Hi")
    with pytest.raises(ConflictError):
        webform_update(actor=admin_user, web_form=web_form, expected_version=1, title="Old")

    assert (updated.version, updated.title) == (2, "Hi")
    changed = Event.objects.get(kind="web_form.changed")
    assert changed.data["changes"] == {"title": {"old": "", "new": "Hi"}}


def test_webform_delete_keeps_the_leads(admin_user, rep):
    web_form = WebFormFactory(default_owner=rep)
    result = webform_submit(web_form=web_form, data={"last_name": "Ruiz", "email": "a@b.dk"})

    webform_delete(actor=admin_user, web_form=web_form)

    result.lead.refresh_from_db()
    assert result.lead.web_form is None
    assert WebForm.objects.count() == 0


def test_the_snippet_posts_to_the_absolute_address_and_hides_the_honeypot(settings, rep):
    settings.CLIENTELA_BASE_URL = "https://crm.example.com/"
    web_form = WebFormFactory(
        slug="contact-us",
        default_owner=rep,
        consent_text='I agree to "news" & offers.',
        fields=[{"field": "email", "required": True}, {"field": "message", "required": False}],
    )

    snippet = webform_snippet(web_form)

    assert snippet.startswith(
        '<form action="https://crm.example.com/f/contact-us/" method="post" '
        'accept-charset="utf-8" class="clientela-form">'
    )
    assert (
        '<input id="clientela-contact-us-email" name="email" type="email" autocomplete="email" '
        "required></p>"
    ) in snippet
    assert (
        '<textarea id="clientela-contact-us-message" name="message" rows="4"></textarea>' in snippet
    )
    assert "I agree to &quot;news&quot; &amp; offers." in snippet
    assert (
        '<input name="website" type="text" value="" hidden tabindex="-1" autocomplete="off" '
        'aria-hidden="true">'
    ) in snippet
    assert "style" not in snippet
    assert rep.email not in snippet


def test_webform_pages_build_a_form_and_show_its_snippet(client, admin_user, rep):
    client.force_login(admin_user)

    response = client.post(
        reverse("sales:webform_create"),
        {
            "name": "Contact us",
            "is_active": "on",
            "source": "website",
            "default_owner": rep.pk,
            "ask_email": "on",
            "required_email": "on",
            "ask_company_name": "on",
            "consent_text": "Yes, contact me.",
        },
    )

    web_form = WebForm.objects.get()
    assert response.status_code == 302
    assert web_form.fields == [
        {"field": "email", "required": True},
        {"field": "company_name", "required": False},
    ]
    detail = client.get(reverse("sales:webform_detail", args=[web_form.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "&lt;form action=&quot;http://127.0.0.1:8000/f/contact-us/&quot;" in html
    assert client.get(reverse("sales:webform_list")).status_code == 200


def test_webform_builder_shows_service_errors(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("sales:webform_create"),
        {"name": "Nothing asked", "source": "website", "default_owner": admin_user.pk},
    )

    assert response.status_code == 200
    assert "A form asks for at least one field." in response.content.decode()
    assert WebForm.objects.count() == 0


def test_webform_pages_are_refused_to_managers(client, manager, rep):
    web_form = WebFormFactory(default_owner=rep)
    client.force_login(manager)

    assert client.get(reverse("sales:webform_list")).status_code == 403
    assert client.get(reverse("sales:webform_detail", args=[web_form.pk])).status_code == 403
