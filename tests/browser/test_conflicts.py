"""Two people editing one contact: the second save is told what changed, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from clientela.parties.models import Contact
from clientela.parties.services import contact_create, contact_update


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_the_second_save_lists_the_colleagues_change_and_reload_shows_it(page, login, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", job_title="Buyer")
    login(rep)
    page.goto(f"/contacts/{contact.pk}/edit/")
    page.get_by_label("Job title").fill("CEO")

    contact_update(actor=rep_a2, contact=contact, job_title="Head of purchasing")
    page.get_by_role("button", name="Save", exact=True).click()

    changes = page.get_by_test_id("conflict-changes")
    expect(changes).to_contain_text("Rep2 changed this contact at")
    expect(changes.get_by_role("listitem")).to_have_text(
        ["Job title: “Buyer” → “Head of purchasing”"]
    )
    expect(page.get_by_label("Job title")).to_have_value("CEO")

    page.get_by_role("link", name="Reload the latest version").click()

    expect(page.get_by_label("Job title")).to_have_value("Head of purchasing")
    expect(page.get_by_test_id("conflict")).to_have_count(0)
    assert Contact.objects.get(pk=contact.pk).job_title == "Head of purchasing"


@pytest.mark.usefixtures("browser_db")
def test_save_mine_anyway_keeps_what_was_typed(page, login, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", job_title="Buyer")
    login(rep)
    page.goto(f"/contacts/{contact.pk}/edit/")
    page.get_by_label("Job title").fill("CEO")
    contact_update(actor=rep_a2, contact=contact, job_title="Head of purchasing")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("conflict")).to_be_visible()

    page.get_by_role("button", name="Save mine anyway").click()

    page.wait_for_url(re.compile(rf"/contacts/{contact.pk}/$"))
    expect(page.get_by_test_id("job-title")).to_have_text("CEO")
    contact.refresh_from_db()
    assert (contact.job_title, contact.version) == ("CEO", 3)
