"""A visitor sends the hosted web form; its owner finds the lead and converts it, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from clientela.parties.models import Contact
from clientela.sales.models import Lead, WebFormSubmission
from clientela.sales.tests.factories import PipelineFactory, WebFormFactory

CONSENT = "I agree that Acme may contact me."


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_a_visitor_sends_the_form_and_the_owner_converts_the_lead(page, login, rep):
    PipelineFactory(name="Main")
    WebFormFactory(
        slug="contact-us",
        title="Talk to us",
        consent_text=CONSENT,
        thank_you_message="Thanks, we will call you.",
        default_owner=rep,
        fields=[
            {"field": "first_name", "required": False},
            {"field": "last_name", "required": True},
            {"field": "email", "required": True},
            {"field": "company_name", "required": False},
        ],
    )

    # The visitor, not logged in.
    page.goto("/f/contact-us/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Talk to us")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Ruiz")
    page.get_by_label("Email").fill("ana@acme.example")
    page.get_by_label("Company").fill("Acme")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("public-form")).to_contain_text(
        "Please give your consent to send the form."
    )
    expect(page.get_by_label("Last name")).to_have_value("Ruiz")
    page.get_by_label(CONSENT).check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("public-thanks")).to_contain_text("Thanks, we will call you.")
    assert WebFormSubmission.objects.get().consent_text == CONSENT

    # The owner finds the lead and converts it, with a deal.
    login(rep)
    page.goto("/leads/")
    page.get_by_role("link", name="Ana Ruiz").click()
    page.wait_for_url(re.compile(r"/leads/\d+/$"))
    expect(page.get_by_test_id("consent")).to_contain_text(CONSENT)
    page.get_by_test_id("convert-lead").click()
    page.get_by_label("Also create a deal").check()
    page.get_by_label("Deal title").fill("Acme rollout")
    page.get_by_test_id("confirm-convert").click()

    page.wait_for_url(re.compile(r"/leads/\d+/$"))
    expect(page.get_by_test_id("lead-status")).to_have_text("Converted")
    expect(page.get_by_test_id("converted-deal")).to_have_text("Acme rollout")
    page.get_by_test_id("converted-contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Ruiz")
    lead = Lead.objects.get()
    assert lead.converted_contact == Contact.objects.get()
    assert lead.converted_organization.name == "Acme"


@pytest.mark.usefixtures("browser_db")
def test_an_administrator_builds_a_form_and_opens_its_hosted_page(page, login, admin_user):
    login(admin_user)
    page.goto("/web-forms/")
    page.get_by_test_id("new-webform").click()
    page.locator("#id_name").fill("Contact us")
    page.get_by_label("Ask for Phone").check()
    page.get_by_label("Phone is required").check()
    page.get_by_label("Consent text").fill("Yes, call me.")
    page.get_by_test_id("save-webform").click()

    page.wait_for_url(re.compile(r"/web-forms/\d+/$"))
    expect(page.get_by_test_id("snippet")).to_contain_text(
        'action="http://127.0.0.1:8000/f/contact-us/"'
    )
    expect(page.get_by_test_id("snippet")).to_contain_text('name="phone" type="tel"')
    page.get_by_role("button", name="Copy the snippet").click()
    page.get_by_test_id("hosted-link").click()
    page.wait_for_url("**/f/contact-us/")
    expect(page.get_by_label("Phone")).to_be_visible()
    expect(page.get_by_label("Yes, call me.")).to_be_visible()
