"""The deal board in a real browser: drag a card to another stage, close a deal as lost."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from clientela.sales.choices import CloseOutcome, DealStatus
from clientela.sales.models import Deal
from clientela.sales.tests.factories import CloseReasonFactory, DealFactory, PipelineFactory


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


def _column(page, name):
    return page.locator(f'[data-testid="board-column"][data-stage-name="{name}"]')


def _drag(page, card, column):
    """Drag ``card`` onto ``column`` with small mouse steps, as a person does (SortableJS follows
    mouse events, not HTML5 drag and drop)."""
    handle = card.get_by_test_id("days-at-stage").bounding_box()
    target = column.locator("[data-board-cards]").bounding_box()
    start_x, start_y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + 10, start_y + 10, steps=5)
    page.mouse.move(
        target["x"] + target["width"] / 2, target["y"] + target["height"] - 10, steps=25
    )
    page.mouse.up()


@pytest.fixture
def board(rep):
    pipeline = PipelineFactory(name="New business", currency="EUR")
    qualify = pipeline.stages.get(name="Qualify")
    meet = pipeline.stages.get(name="Meet")
    big = DealFactory(owner=rep, stage=qualify, title="Big deal", amount=Decimal("1000.00"))
    DealFactory(owner=rep, stage=meet, title="Small deal", amount=Decimal("500.00"))
    return pipeline, big


@pytest.mark.usefixtures("browser_db")
def test_drag_a_card_to_another_stage_and_see_the_totals_and_the_timeline_change(
    page, login, rep, board
):
    pipeline, big = board
    login(rep)
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")
    expect(_column(page, "Qualify").get_by_test_id("column-total")).to_have_text("€1,000.00")
    expect(_column(page, "Meet").get_by_test_id("column-total")).to_have_text("€500.00")

    _drag(page, page.get_by_test_id("deal-card").filter(has_text="Big deal"), _column(page, "Meet"))

    expect(_column(page, "Meet").get_by_test_id("column-total")).to_have_text("€1,500.00")
    expect(_column(page, "Qualify").get_by_test_id("column-total")).to_have_text("€0.00")
    expect(_column(page, "Meet").get_by_test_id("deal-card")).to_have_count(2)
    assert Deal.objects.get(pk=big.pk).stage.name == "Meet"

    page.get_by_role("link", name="Big deal").click()
    change = page.get_by_test_id("timeline").locator("li.change").first
    expect(change).to_contain_text("Stage:")
    expect(change.locator("del")).to_have_text("Qualify")
    expect(change.locator("ins")).to_have_text("Meet")


@pytest.mark.usefixtures("browser_db")
def test_move_a_card_with_its_move_to_form(page, login, rep, board):
    pipeline, big = board
    login(rep)
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")

    card = page.get_by_test_id("deal-card").filter(has_text="Big deal")
    card.get_by_test_id("move-select").select_option(label="Meet")
    card.get_by_test_id("move-button").click()

    expect(_column(page, "Meet").get_by_test_id("column-total")).to_have_text("€1,500.00")
    expect(page.locator("main .messages")).to_contain_text("Big deal moved to Meet.")
    assert Deal.objects.get(pk=big.pk).stage.name == "Meet"


@pytest.mark.usefixtures("browser_db")
def test_drop_a_card_on_lost_and_close_it_with_a_reason(page, login, rep, board):
    pipeline, big = board
    CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    CloseReasonFactory(name="Great fit", outcome=CloseOutcome.WON)
    login(rep)
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")

    _drag(page, page.get_by_test_id("deal-card").filter(has_text="Big deal"), _column(page, "Lost"))
    dialog = page.locator("dialog[data-close-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("close-reason-won")).to_be_hidden()
    dialog.get_by_test_id("close-reason-lost").select_option(label="Price")
    dialog.get_by_label("Note").fill("Their budget was cut")
    dialog.get_by_test_id("close-submit").click()

    expect(_column(page, "Lost").get_by_test_id("column-total")).to_have_text("€1,000.00")
    expect(_column(page, "Qualify").get_by_test_id("deal-card")).to_have_count(0)
    deal = Deal.objects.get(pk=big.pk)
    assert (deal.status, deal.close_reason.name, deal.close_note) == (
        DealStatus.LOST,
        "Price",
        "Their budget was cut",
    )


@pytest.mark.usefixtures("browser_db")
def test_cancelling_the_close_dialog_puts_the_card_back(page, login, rep, board):
    pipeline, big = board
    CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    login(rep)
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")

    _drag(page, page.get_by_test_id("deal-card").filter(has_text="Big deal"), _column(page, "Lost"))
    page.locator("dialog[data-close-dialog]").get_by_role("button", name="Cancel").click()

    expect(_column(page, "Qualify").get_by_test_id("deal-card")).to_have_count(1)
    expect(_column(page, "Lost").get_by_test_id("deal-card")).to_have_count(0)
    assert Deal.objects.get(pk=big.pk).status == DealStatus.OPEN


@pytest.mark.usefixtures("browser_db")
def test_close_a_deal_as_lost_from_its_page(page, login, rep, board):
    _pipeline, big = board
    CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    login(rep)
    page.goto(f"/deals/{big.pk}/")

    page.get_by_test_id("close-lost").click()
    page.get_by_label("Reason").select_option(label="Price")
    page.get_by_label("Note").fill("Too expensive")
    page.get_by_role("button", name="Close as lost").click()

    page.wait_for_url(f"**/deals/{big.pk}/")
    expect(page.get_by_test_id("deal-status")).to_have_text("Lost")
    expect(page.get_by_test_id("close-reason")).to_have_text("Price")
    expect(page.get_by_test_id("timeline")).to_contain_text("Lost")
