"""The board: columns with totals and stale cards, the page, and moves from it (script and no-JS)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientela.core.models import Event
from clientela.parties.tests.factories import OrganizationFactory
from clientela.sales.choices import CloseOutcome, DealStatus
from clientela.sales.events import DealEvent
from clientela.sales.models import Deal, Stage
from clientela.sales.selectors import board_columns
from clientela.sales.tests.factories import CloseReasonFactory, DealFactory, PipelineFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
SCRIPT = {"X-Board": "1"}


@pytest.fixture
def pipeline():
    pipeline = PipelineFactory(name="New business", currency="EUR")
    Stage.objects.filter(pipeline=pipeline, name="Meet").update(stale_after_days=7)
    return pipeline


def _stage(pipeline, name):
    return pipeline.stages.get(name=name)


def test_board_columns_have_cards_counts_and_totals_per_stage(rep, pipeline):
    meet = _stage(pipeline, "Meet")
    acme = OrganizationFactory(owner=rep, name="Acme")
    old = DealFactory(
        owner=rep, stage=meet, amount=Decimal("1000.50"), stage_entered_at=NOW - timedelta(days=8)
    )
    fresh = DealFactory(
        owner=rep,
        stage=meet,
        amount=Decimal("99.50"),
        organization=acme,
        stage_entered_at=NOW - timedelta(days=7, hours=23),
    )
    DealFactory(owner=rep, stage=meet, amount=Decimal("500"), currency="USD")
    DealFactory(owner=rep, stage=meet, amount=Decimal("250"), currency="USD")
    DealFactory(owner=rep, pipeline=pipeline, amount=Decimal("10"))

    columns = board_columns(rep, pipeline, now=NOW)

    assert [column.stage.name for column in columns] == [
        "Qualify",
        "Meet",
        "Propose",
        "Negotiate",
        "Won",
        "Lost",
    ]
    assert [(column.count, column.total) for column in columns] == [
        (1, Decimal("10.00")),
        (4, Decimal("1100.00")),
        (0, Decimal("0.00")),
        (0, Decimal("0.00")),
        (0, Decimal("0.00")),
        (0, Decimal("0.00")),
    ]
    meet_column = columns[1]
    assert [(item.currency, item.count, item.total) for item in meet_column.other_currencies] == [
        ("USD", 2, Decimal("750.00"))
    ]
    cards = {card.deal.pk: card for card in meet_column.cards}
    assert (cards[old.pk].days_at_stage, cards[old.pk].is_stale) == (8, True)
    assert (cards[fresh.pk].days_at_stage, cards[fresh.pk].is_stale) == (7, False)
    assert cards[fresh.pk].deal.organization.name == "Acme"
    assert meet_column.cards[0].deal == old  # longest at the stage first


def test_board_columns_show_only_visible_deals_and_filter_by_owner_and_team(
    manager, rep, rep_a2, rep_b, team_a, pipeline
):
    DealFactory(owner=rep, pipeline=pipeline, title="Rep's")
    DealFactory(owner=rep_a2, pipeline=pipeline, title="Rep 2's")
    DealFactory(owner=rep_b, pipeline=pipeline, title="Team B's")

    def titles(actor, **filters):
        return sorted(card.deal.title for card in board_columns(actor, pipeline, filters)[0].cards)

    assert titles(manager) == ["Rep 2's", "Rep's"]
    assert titles(manager, owner=rep) == ["Rep's"]
    assert titles(manager, team=team_a) == ["Rep 2's", "Rep's"]
    assert titles(rep_b) == ["Team B's"]


def test_board_columns_cap_the_cards_but_not_the_count(rep, pipeline):
    for _number in range(5):
        DealFactory(owner=rep, pipeline=pipeline, amount=Decimal("1"))

    column = board_columns(rep, pipeline, cards_per_column=3)[0]

    assert (len(column.cards), column.count, column.hidden_count, column.total) == (
        3,
        5,
        2,
        Decimal("5.00"),
    )


@pytest.mark.parametrize("cards", [3, 30])
def test_board_columns_take_three_queries_whatever_the_number_of_cards(
    rep, pipeline, cards, django_assert_num_queries
):
    stages = list(pipeline.stages.all())
    for number in range(cards):
        DealFactory(
            owner=rep, stage=stages[number % 4], organization=OrganizationFactory(owner=rep)
        )

    with django_assert_num_queries(3):
        columns = board_columns(rep, pipeline)
        rendered = [
            (card.deal.owner.full_name, card.deal.organization.name)
            for c in columns
            for card in c.cards
        ]

    assert len(rendered) == cards


@pytest.mark.parametrize("cards", [3, 30])
def test_the_board_page_fetches_the_same_number_of_queries_for_any_number_of_cards(
    client, rep, pipeline, cards, django_assert_num_queries
):
    stages = list(pipeline.stages.all())
    for number in range(cards):
        DealFactory(
            owner=rep, stage=stages[number % 4], organization=OrganizationFactory(owner=rep)
        )
    client.force_login(rep)
    client.get("/deals/board/")

    # session, user, the pipeline asked for, stages, totals, cards, won and lost reasons (dialog),
    # filter choices (pipelines, owners, teams), session save (savepoint, update, release)
    with django_assert_num_queries(QUERIES_BOARD_PAGE):
        response = client.get("/deals/board/", {"pipeline": pipeline.pk})

    assert response.content.decode().count('data-testid="deal-card"') == cards


QUERIES_BOARD_PAGE = 15


def test_the_board_page_shows_totals_and_a_stale_flag(client, rep, pipeline):
    DealFactory(
        owner=rep,
        stage=_stage(pipeline, "Meet"),
        amount=Decimal("1234.50"),
        stage_entered_at=datetime.now(UTC) - timedelta(days=10),
    )
    client.force_login(rep)

    content = client.get("/deals/board/").content.decode()

    assert "€1,234.50" in content
    assert 'data-testid="stale"' in content
    assert 'src="/static/js/board.js"' in content


def test_the_board_without_a_pipeline_says_so(client, rep):
    client.force_login(rep)

    response = client.get("/deals/board/")

    assert response.status_code == 200
    assert "There is no pipeline yet." in response.content.decode()


# -- moving from the board ---------------------------------------------------------------------


def test_a_scripted_move_answers_the_updated_board(client, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline, amount=Decimal("300"))
    meet = _stage(pipeline, "Meet")
    client.force_login(rep)

    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": meet.pk, "version": 1, "pipeline": pipeline.pk},
        headers=SCRIPT,
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="board"')
    assert "<html" not in content
    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (meet, 2)
    assert Event.objects.filter(record_id=deal.pk, kind=DealEvent.STAGE_CHANGED).count() == 1


def test_a_move_without_javascript_redirects_back_to_the_board(client, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    meet = _stage(pipeline, "Meet")
    client.force_login(rep)

    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": meet.pk, "version": 1, "next": f"/deals/board/?pipeline={pipeline.pk}"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/deals/board/?pipeline={pipeline.pk}"
    assert Deal.objects.get(pk=deal.pk).stage == meet


def test_a_move_to_a_closed_stage_without_javascript_goes_to_the_close_form(client, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    lost = _stage(pipeline, "Lost")
    client.force_login(rep)

    response = client.post(f"/deals/{deal.pk}/move/", {"stage": lost.pk, "next": "/deals/board/"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"/deals/{deal.pk}/close/?stage={lost.pk}")
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.OPEN


def test_a_scripted_move_to_a_closed_stage_with_a_reason_closes_the_deal(client, rep, pipeline):
    reason = CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    deal = DealFactory(owner=rep, pipeline=pipeline)
    client.force_login(rep)

    refused = client.post(
        f"/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Lost").pk}, headers=SCRIPT
    )
    response = client.post(
        f"/deals/{deal.pk}/move/",
        {
            "stage": _stage(pipeline, "Lost").pk,
            "close_reason": reason.pk,
            "close_note": "No budget",
        },
        headers=SCRIPT,
    )

    assert refused.status_code == 400
    assert refused.content.decode() == "Choose why the deal was lost."
    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.status, deal.close_reason, deal.close_note) == (
        DealStatus.LOST,
        reason,
        "No budget",
    )


def test_a_scripted_move_with_an_old_version_is_refused_with_a_message(client, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    Deal.objects.filter(pk=deal.pk).update(version=3)
    client.force_login(rep)

    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": _stage(pipeline, "Meet").pk, "version": 1},
        headers=SCRIPT,
    )

    assert response.status_code == 409
    assert "changed" in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


def test_a_rep_moving_a_colleagues_unshared_deal_gets_a_404(client, rep, rep_a2, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline, is_shared_with_team=False)
    client.force_login(rep_a2)

    page = client.post(f"/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Meet").pk})
    script = client.post(
        f"/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Meet").pk}, headers=SCRIPT
    )

    assert (page.status_code, script.status_code) == (404, 404)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert Event.objects.count() == 0


def test_an_analyst_moving_a_deal_gets_a_403(client, analyst, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    client.force_login(analyst)

    page = client.post(f"/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Meet").pk})
    script = client.post(
        f"/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Meet").pk}, headers=SCRIPT
    )

    assert (page.status_code, script.status_code) == (403, 403)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert Event.objects.count() == 0


def test_an_analyst_sees_the_board_without_move_controls(client, analyst, rep, pipeline):
    DealFactory(owner=rep, pipeline=pipeline)
    client.force_login(analyst)

    content = client.get("/deals/board/").content.decode()

    assert content.count('data-testid="deal-card"') == 1
    assert 'data-testid="move-select"' not in content
    assert 'data-can-move="false"' in content


def test_a_scripted_move_takes_a_constant_number_of_queries(client, rep, pipeline):
    stages = list(pipeline.stages.all())
    counts = []
    for cards in (3, 20):
        Deal.objects.all().delete()
        deals = [DealFactory(owner=rep, stage=stages[n % 4]) for n in range(cards)]
        client.force_login(rep)
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                f"/deals/{deals[0].pk}/move/",
                {"stage": stages[1].pk},
                headers=SCRIPT,
            )
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
