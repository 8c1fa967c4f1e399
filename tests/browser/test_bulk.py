"""Changing many contacts at once from the list, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from clientela.core.models import Event
from clientela.identity.tests.factories import UserFactory
from clientela.parties.models import Contact
from clientela.parties.tests.factories import ContactFactory


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_select_three_contacts_and_give_them_to_another_owner(page, login, manager, rep, team_a):
    ana = UserFactory(full_name="Ana Ruiz", email="ana@example.com", teams=[team_a])
    chosen = [
        ContactFactory(owner=rep, first_name=first, last_name="Berg")
        for first in ("Bo", "Cy", "Di")
    ]
    left_alone = ContactFactory(owner=rep, first_name="Ed", last_name="Eng")
    login(manager)
    page.goto("/contacts/")
    bar = page.get_by_test_id("bulk-bar")
    expect(bar).to_be_hidden()

    for contact in chosen:
        page.get_by_role("checkbox", name=f"Select {contact.full_name}").check()
    expect(bar).to_be_visible()
    expect(page.get_by_test_id("bulk-status")).to_have_text("Selected: 3")
    expect(page.get_by_test_id("bulk-page")).to_have_js_property("indeterminate", True)
    page.get_by_test_id("bulk-action").select_option("owner")
    bar.get_by_label("New owner").select_option(label="Ana Ruiz")
    page.get_by_test_id("bulk-submit").click()

    expect(page.get_by_test_id("bulk-question")).to_have_text(
        "Change the owner of 3 contacts to Ana Ruiz?"
    )
    page.get_by_test_id("bulk-confirm").click()

    page.wait_for_url(re.compile(r"/contacts/$"))
    expect(page.get_by_text("3 contacts changed.")).to_be_visible()
    for contact in chosen:
        expect(page.get_by_role("row", name=re.compile(contact.full_name))).to_contain_text(
            "Ana Ruiz"
        )
    expect(page.get_by_role("row", name=re.compile("Ed Eng"))).to_contain_text("Rep")
    assert set(Contact.objects.filter(owner=ana).values_list("pk", flat=True)) == {
        contact.pk for contact in chosen
    }
    assert Contact.objects.get(pk=left_alone.pk).owner == rep
    assert Event.objects.filter(kind="contact.owner_changed").count() == 3


@pytest.mark.usefixtures("browser_db")
def test_select_every_contact_matching_the_filters_and_tag_them(page, login, rep):
    for number in range(27):
        ContactFactory(owner=rep, first_name=f"Cu{number:02}", lifecycle_stage="customer")
    ContactFactory(owner=rep, first_name="Lead", last_name="Only", lifecycle_stage="lead")
    login(rep)
    page.goto("/contacts/?lifecycle_stage=customer&per_page=25")
    offer = page.get_by_text("Select all 27 contacts matching the filters")
    expect(offer).to_be_hidden()

    page.get_by_test_id("bulk-page").check()
    expect(page.get_by_test_id("bulk-status")).to_have_text("Selected: 25")
    expect(offer).to_be_visible()
    page.get_by_test_id("bulk-all").check()
    expect(page.get_by_test_id("bulk-status")).to_have_text(
        "All 27 contacts matching the filters are selected."
    )
    page.get_by_test_id("bulk-action").select_option("tags_add")
    page.get_by_test_id("bulk-bar").get_by_label("Tags").fill("Fair 2026")
    page.get_by_test_id("bulk-submit").click()

    expect(page.get_by_test_id("bulk-question")).to_have_text("Add “Fair 2026” to 27 contacts?")
    page.get_by_test_id("bulk-confirm").click()

    page.wait_for_url(re.compile(r"lifecycle_stage=customer"))
    expect(page.get_by_text("27 contacts changed.")).to_be_visible()
    assert Contact.objects.filter(tags__name="Fair 2026").count() == 27
    assert not Contact.objects.get(first_name="Lead").tags.exists()


@pytest.mark.usefixtures("browser_db")
def test_unticking_a_row_withdraws_the_offer_to_select_everything(page, login, rep):
    for _number in range(27):
        ContactFactory(owner=rep)
    login(rep)
    page.goto("/contacts/?per_page=25")

    page.get_by_test_id("bulk-page").check()
    page.get_by_test_id("bulk-all").check()
    page.get_by_test_id("contact-row").first.get_by_role("checkbox").uncheck()

    expect(page.get_by_test_id("bulk-all")).not_to_be_checked()
    expect(page.get_by_test_id("bulk-all")).to_be_hidden()
    expect(page.get_by_test_id("bulk-status")).to_have_text("Selected: 24")
    expect(page.get_by_test_id("bulk-page")).not_to_be_checked()
