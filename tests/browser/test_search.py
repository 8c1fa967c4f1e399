"""The global search box, in a real browser: keyboard shortcuts, live results, the results page."""

import re

import pytest
from playwright.sync_api import expect

from clientela.parties.services import contact_create, organization_create


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.fixture
def jose(rep):
    acme = organization_create(actor=rep, name="Acme Widgets")
    contact_create(actor=rep, first_name="Ana", last_name="Josefsson")
    return contact_create(
        actor=rep,
        first_name="José",
        last_name="Ruiz",
        emails=["jose.ruiz@acme.example"],
        phones=["+1 415-555-0100"],
        organizations=[acme],
    )


@pytest.mark.usefixtures("browser_db")
def test_ctrl_k_opens_the_search_and_the_arrow_keys_and_enter_open_a_contact(
    page, login, rep, jose
):
    login(rep)
    page.goto("/contacts/")
    box = page.get_by_role("combobox", name="Search contacts and organizations")
    listbox = page.get_by_role("listbox", name="Search results")

    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    page.keyboard.type("jose")

    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("José Ruiz")
    expect(options.first).to_contain_text("jose.ruiz@acme.example · Acme Widgets")
    expect(options.nth(1)).to_contain_text("Ana Josefsson")
    expect(listbox.get_by_role("option", name=re.compile("See all results"))).to_be_visible()

    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", f"global-search-contact-{jose.pk}")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/contacts/{jose.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("José Ruiz")


@pytest.mark.usefixtures("browser_db")
def test_a_phone_number_typed_in_another_format_finds_the_contact(page, login, rep, jose):
    login(rep)
    page.goto("/organizations/")
    box = page.get_by_role("combobox", name="Search contacts and organizations")
    listbox = page.get_by_role("listbox", name="Search results")

    page.keyboard.press("Control+k")
    page.keyboard.type("(415) 555-0100")

    expect(listbox.get_by_role("option").first).to_contain_text("José Ruiz")
    expect(listbox.get_by_role("option")).to_have_count(2)  # José, and "See all results"
    expect(page.get_by_role("status").filter(has_text="result")).to_have_text("1 result")

    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("(415) 555-0100")

    page.keyboard.press("ArrowDown")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")


@pytest.mark.usefixtures("browser_db")
def test_enter_without_a_chosen_result_opens_the_results_page(page, login, rep, jose):
    login(rep)
    page.goto("/")

    page.keyboard.press("Meta+k")
    page.keyboard.type("acme")
    expect(page.get_by_role("listbox", name="Search results").get_by_role("option")).to_have_count(
        3
    )
    page.keyboard.press("Enter")

    page.wait_for_url("**/search/?q=acme")
    expect(page.get_by_test_id("search-contacts")).to_contain_text("1 contact")
    expect(page.get_by_test_id("contact-row")).to_have_text(re.compile("José Ruiz"))
    expect(page.get_by_test_id("organization-row")).to_have_text(re.compile("Acme Widgets"))


@pytest.mark.usefixtures("browser_db")
def test_slash_focuses_the_pages_own_search_box_else_the_global_one(page, login, rep):
    login(rep)

    page.goto("/contacts/")
    page.keyboard.press("/")
    expect(page.locator("#contacts-filters-q")).to_be_focused()

    page.goto("/")
    page.keyboard.press("/")
    expect(page.get_by_role("combobox", name="Search contacts and organizations")).to_be_focused()


@pytest.mark.usefixtures("browser_db")
def test_a_click_elsewhere_closes_the_results_and_clearing_the_box_empties_them(
    page, login, rep, jose
):
    login(rep)
    page.goto("/")
    box = page.get_by_role("combobox", name="Search contacts and organizations")
    listbox = page.get_by_role("listbox", name="Search results")

    box.click()
    page.keyboard.type("ruiz")
    expect(listbox.get_by_role("option").first).to_contain_text("José Ruiz")
    page.get_by_role("heading", level=1).click()
    expect(listbox).to_be_hidden()

    box.fill("")
    box.focus()
    expect(listbox).to_be_hidden()
