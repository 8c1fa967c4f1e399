"""Exporting a list as a person does it: filter, sort, Export → CSV, and get the file."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from clientela.parties.services import contact_create


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_export_a_filtered_and_sorted_contact_list_as_csv(page, login, manager, rep):
    contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Customer",
        lifecycle_stage="customer",
        phones=["+45 32 12 34 56"],
    )
    contact_create(actor=rep, first_name="Bo", last_name="Lead", lifecycle_stage="lead")
    contact_create(actor=rep, first_name="=Cy", last_name="Buyer", lifecycle_stage="customer")
    login(manager)
    page.goto("/contacts/")
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(3)

    filters = page.get_by_role("complementary", name="Filters")
    filters.get_by_label("Lifecycle stage").select_option("customer")
    filters.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(rows.first).to_contain_text("Ana Customer")

    page.get_by_test_id("export-menu").get_by_text("Export").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-menu").get_by_role("link", name="CSV").click()
    download = download_info.value

    assert re.fullmatch(r"contacts-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows_in_file = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [(row[1], row[2], row[4], row[7]) for row in rows_in_file[1:]] == [
        ("Ana", "Customer", "'+4532123456", "customer"),
        ("'=Cy", "Buyer", "", "customer"),
    ]
