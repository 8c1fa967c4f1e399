"""The sales reports as a manager uses them: charts drawn, filters applied in place, a table as CSV."""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from clientela.sales.tests.factories import PipelineFactory
from clientela.sales.tests.test_reports import DAY, T0, _deal, _lost, _won


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_a_manager_reads_the_sales_reports_filters_them_and_downloads_a_table(
    page, login, manager, rep, rep_a2
):
    pipeline = PipelineFactory(name="New business")
    _deal(
        pipeline,
        "Propose",
        rep,
        amount=Decimal("1000.00"),
        expected_close_date=datetime.date(2026, 12, 10),
    )
    _won(pipeline, rep, closed_at=T0 + 10 * DAY)
    _lost(pipeline, rep_a2, closed_at=T0 + 5 * DAY)
    login(manager)

    page.goto("/reports/sales/")

    expect(page.get_by_role("heading", name="Sales reports")).to_be_visible()
    for name in ("durations", "conversion", "forecast"):
        canvas = page.locator(f'canvas[data-chart="{name}"]')
        expect(canvas).to_be_visible()
        assert canvas.evaluate("canvas => window.Chart.getChart(canvas) !== undefined")
    forecast = page.get_by_test_id("report-forecast")
    expect(forecast.get_by_role("row", name="December 2026")).to_contain_text("€500.00")
    win_rate = page.get_by_test_id("report-win-rate")
    expect(win_rate.get_by_role("row", name="Everyone")).to_contain_text("50.0")

    filters = page.get_by_role("complementary", name="Filters")
    filters.get_by_label("Owner").select_option(label="Rep2")
    filters.get_by_role("button", name="Show").click()

    expect(page).to_have_url(
        re.compile(rf"/reports/sales/\?pipeline={pipeline.pk}&.*owner={rep_a2.pk}")
    )
    win_rate = page.get_by_test_id("report-win-rate")
    expect(win_rate.get_by_role("row", name="Everyone")).to_contain_text("0.0")
    expect(page.get_by_test_id("report-forecast").get_by_role("row", name="Total")).to_contain_text(
        "€0.00"
    )
    # The new report's charts are drawn too.
    page.wait_for_function(
        "() => window.Chart.getChart(document.querySelector('canvas[data-chart=forecast]'))"
        " !== undefined"
    )

    with page.expect_download() as download_info:
        page.get_by_test_id("csv-win-rate").click()
    download = download_info.value

    assert download.suggested_filename.startswith("sales-win-rate-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8-sig"), newline="")))
    assert rows == [
        ["Owner", "Won", "Lost", "Win rate (%)"],
        ["Rep2", "0", "1", "0.0"],
        ["Everyone", "0", "1", "0.0"],
    ]
