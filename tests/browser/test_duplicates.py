"""Reviewing possible duplicates, merging them and undoing the merge, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from clientela.parties.duplicates import duplicates_detect
from clientela.parties.models import Contact, DuplicateCandidate, Merge
from clientela.parties.services import contact_create


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.fixture
def twins(rep):
    ana = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        emails=["ana@acme.example"],
        phones=["+45 32 12 34 56"],
        tags=["VIP"],
    )
    duplicate = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        job_title="CTO",
        emails=["ANA@acme.example", "ana@home.example"],
    )
    duplicates_detect(record_type="contacts")
    return ana, duplicate


@pytest.mark.usefixtures("browser_db")
def test_review_a_pair_pick_a_value_merge_and_undo(page, login, manager, twins):
    ana, duplicate = twins
    login(manager)

    page.get_by_role("link", name="Contacts").click()
    page.get_by_test_id("duplicates").click()
    pair = page.get_by_test_id("duplicate-pair")
    expect(pair).to_have_count(1)
    expect(pair.get_by_test_id("score")).to_have_text("Confidence 95%")
    expect(pair.get_by_test_id("reasons")).to_have_text("Same email address")
    pair.get_by_role("button", name="Review and merge").click()

    page.wait_for_url(re.compile(r"/contacts/merge/\?ids="))
    # Keep the older record, but take the job title of the other one.
    page.get_by_test_id(f"survivor-{ana.pk}").check()
    job_title = page.get_by_test_id("merge-row-job_title")
    expect(job_title.get_by_label("CTO")).to_be_checked()
    job_title.get_by_label("—").check()
    job_title.get_by_label("CTO").check()
    expect(page.get_by_test_id("merge-table")).to_contain_text("ana@home.example")
    page.get_by_test_id("confirm-merge").check()
    page.get_by_role("button", name="Merge", exact=True).click()

    page.wait_for_url(re.compile(rf"/contacts/{ana.pk}/\?merged=\d+$"))
    expect(page.get_by_test_id("merge-notice")).to_contain_text(
        "Ana Ruiz was merged into this record."
    )
    expect(page.get_by_test_id("job-title")).to_have_text("CTO")
    expect(page.get_by_test_id("emails")).to_contain_text("ana@home.example")
    expect(page.get_by_test_id("timeline")).to_contain_text("Merged with duplicates")
    assert not Contact.objects.filter(pk=duplicate.pk).exists()

    page.get_by_test_id("undo-merge").click()

    page.wait_for_url(f"**/contacts/{ana.pk}/")
    expect(page.locator(".messages")).to_contain_text(
        "The merge was undone: Ana Ruiz is a separate record again."
    )
    expect(page.get_by_test_id("merge-notice")).to_have_count(0)
    expect(page.get_by_test_id("emails")).not_to_contain_text("ana@home.example")
    expect(page.get_by_test_id("timeline")).to_contain_text("Merge undone")
    assert Contact.objects.get(pk=duplicate.pk).job_title == "CTO"
    assert Merge.objects.get().undone_at is not None


@pytest.mark.usefixtures("browser_db")
def test_mark_a_pair_as_not_duplicates(page, login, manager, twins):
    login(manager)
    page.goto("/duplicates/?type=contacts")

    page.get_by_role("button", name="Not duplicates").click()

    expect(page.get_by_test_id("dismissed")).to_have_text("Marked as not duplicates.")
    expect(page.get_by_test_id("duplicate-pair")).to_have_count(0)
    assert DuplicateCandidate.objects.get().status == "dismissed"
    page.reload()
    expect(page.get_by_test_id("no-duplicates")).to_be_visible()
