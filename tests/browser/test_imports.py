"""Importing contacts in a real browser: upload, map, check (dry run), see the bad rows, run, watch."""

import re

import pytest
from playwright.sync_api import expect

from clientela.parties.imports import import_job_run
from clientela.parties.models import Contact, ImportJob

PEOPLE = (
    b"First name,Last name,E-mail,Phone,Notes\n"
    b"Ana,Ruiz,ana@acme.example,+45 32 12 34 56,CTO\n"
    b"Bo,Berg,not-an-email,,Buyer\n"
    b"Cy,Lund,cy@acme.example,12,Engineer\n"
    b"Di,Eng,di@acme.example,+45 32 12 34 57,Designer\n"
)


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_import_contacts_with_a_dry_run_then_watch_the_import(page, login, marketer, settings):
    login(marketer)
    page.goto("/contacts/")
    page.get_by_test_id("import-contacts").click()
    page.wait_for_url("**/contacts/import/")
    expect(page.get_by_test_id("import-limits")).to_contain_text("at most")

    # upload a file with two bad rows
    page.get_by_label("File").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE}]
    )
    page.get_by_role("button", name="Upload and map the columns").click()
    page.wait_for_url(re.compile(r"/contacts/import/[A-Za-z0-9_-]+/$"))

    # the guessed mapping is shown with sample values; Notes is not imported until mapped
    rows = page.get_by_test_id("mapping-row")
    expect(rows).to_have_count(5)
    expect(rows.nth(2)).to_contain_text("ana@acme.example")
    expect(page.get_by_label("E-mail")).to_have_value("email")
    expect(page.get_by_label("Notes")).to_have_value("")
    page.get_by_label("Notes").select_option(label="Job title")
    page.get_by_label("Default country").select_option("DK")

    # check the file: a dry run lists the bad rows and writes nothing
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    expect(page.get_by_test_id("import-status")).to_have_text("Done")
    expect(page.get_by_test_id("count-created")).to_contain_text("2")
    expect(page.get_by_test_id("count-failed")).to_contain_text("2")
    errors = page.get_by_test_id("import-error-row")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("3")
    expect(errors.nth(0)).to_contain_text("not-an-email")
    expect(errors.nth(0)).to_contain_text("is not a valid email address")
    expect(errors.nth(1)).to_contain_text("Phone")
    expect(errors.nth(1)).to_contain_text("is not a valid phone number")
    assert Contact.objects.count() == 0

    # run the import; the worker is slow to pick it up, so the page waits and polls its progress
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    expect(page.get_by_test_id("import-status")).to_have_text("Waiting")
    expect(page.get_by_test_id("import-progress")).to_have_attribute("hx-trigger", "every 1s")
    expect(page.get_by_test_id("import-cancel")).to_be_visible()

    job = ImportJob.objects.get(is_dry_run=False)
    import_job_run(job.pk)

    # the poll notices the end and the page shows the outcome
    expect(page.get_by_test_id("import-status")).to_have_text("Done", timeout=5_000)
    progress = page.get_by_test_id("import-progress").locator("progress")
    expect(progress).to_have_attribute("value", "4")
    expect(progress).to_have_attribute("max", "4")
    expect(page.get_by_test_id("count-created")).to_contain_text("2")
    expect(page.get_by_test_id("count-failed")).to_contain_text("2")
    expect(page.get_by_test_id("import-cancel")).to_have_count(0)
    expect(page.get_by_test_id("import-report")).to_be_visible()
    assert sorted(Contact.objects.values_list("first_name", "job_title", "country")) == [
        ("Ana", "CTO", "DK"),
        ("Di", "Designer", "DK"),
    ]

    with page.expect_download() as download_info:
        page.get_by_test_id("import-report").click()
    download = download_info.value
    assert download.suggested_filename == f"import-{job.pk}-report.csv"
