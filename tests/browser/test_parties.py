"""Flows a person clicks through on the contact pages, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from clientela.identity.tests.factories import PASSWORD
from clientela.parties.models import Contact
from clientela.parties.services import contact_create


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_create_a_contact_with_a_phone_typed_in_a_local_format(page, login, rep):
    login(rep)

    page.get_by_role("link", name="Contacts").click()
    page.get_by_role("button", name="New contact").click()
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Ruiz")
    page.locator("#id_emails-0-email").fill("ana@acme.example")
    page.locator("#id_phones-0-number").fill("(415) 555-0100")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(r"/contacts/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Ruiz")
    expect(page.get_by_test_id("phones")).to_contain_text("+1 415-555-0100")
    assert Contact.objects.get().primary_phone == "+14155550100"


@pytest.mark.usefixtures("browser_db")
def test_add_a_second_phone_row_with_the_add_button(page, login, rep):
    login(rep)
    page.goto("/contacts/new/")

    page.get_by_label("First name").fill("Bo")
    page.locator("#id_phones-0-number").fill("+45 32 12 34 56")
    page.get_by_role("button", name="Add a phone number").click()
    page.locator("#id_phones-1-number").fill("(415) 555-0100")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(r"/contacts/\d+/$"))
    expect(page.get_by_test_id("phones")).to_contain_text("+45 32 12 34 56")
    expect(page.get_by_test_id("phones")).to_contain_text("+1 415-555-0100")


@pytest.mark.usefixtures("browser_db")
def test_edit_the_job_title_and_see_the_change_on_the_timeline(page, login, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", job_title="Engineer")
    login(rep)
    page.goto(f"/contacts/{contact.pk}/")

    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Job title").fill("CTO")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(f"**/contacts/{contact.pk}/")
    expect(page.get_by_test_id("job-title")).to_have_text("CTO")
    change = page.get_by_test_id("timeline").locator("li.change").first
    expect(change).to_contain_text("Job title:")
    expect(change.locator("del")).to_have_text("Engineer")
    expect(change.locator("ins")).to_have_text("CTO")
    expect(page.get_by_test_id("timeline")).to_contain_text("Rep")


@pytest.mark.usefixtures("browser_db")
def test_filter_the_contact_list_by_stage_and_search(page, login, rep):
    contact_create(actor=rep, first_name="Ana", last_name="Customer", lifecycle_stage="customer")
    contact_create(actor=rep, first_name="Bo", last_name="Lead", lifecycle_stage="lead")
    contact_create(actor=rep, first_name="Cy", last_name="Another", lifecycle_stage="customer")
    login(rep)
    page.goto("/contacts/")
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(3)

    filters = page.get_by_role("complementary", name="Filters")
    filters.get_by_label("Lifecycle stage").select_option("customer")
    filters.get_by_role("button", name="Filter").click()

    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Cy Another")
    expect(rows.nth(1)).to_contain_text("Ana Customer")
    expect(page).to_have_url(re.compile(r"lifecycle_stage=customer"))

    page.keyboard.press("/")
    expect(page.locator("input[data-search]")).to_be_focused()
    page.keyboard.type("ana")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ana Customer")

    page.get_by_role("link", name="Name").click()
    expect(rows.first).to_contain_text("Ana Customer")
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Name")


@pytest.fixture
def page_expecting_not_found(browser, live_server):
    """Like the `page` fixture, but the one console message Chromium writes for any 404 document is
    expected; every other console error or CSP violation still fails the test."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_default_timeout(10_000)
    yield page
    context.close()
    assert [problem for problem in problems if problem != expected] == []


@pytest.mark.usefixtures("browser_db")
def test_a_representative_opening_another_teams_contact_gets_not_found(
    page_expecting_not_found, rep, rep_b
):
    other = contact_create(actor=rep_b, first_name="Secret", last_name="Person")
    page = page_expecting_not_found
    page.goto("/login/")
    page.get_by_label("Email").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    response = page.goto(f"/contacts/{other.pk}/")

    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Secret")
    assert page.goto(f"/contacts/{other.pk}/edit/").status == 404
