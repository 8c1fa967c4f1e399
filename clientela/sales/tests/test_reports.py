"""Sales reports: exact durations, conversion, win rate, cycle, velocity, forecast and lead response
(with a controlled clock), their scope, and the reports page with its CSV downloads."""

import csv
import datetime
import html as html_lib
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from clientela.sales.choices import DealStatus
from clientela.sales.models import Deal, Stage, StageVisit
from clientela.sales.reports import (
    ReportFilters,
    report_forecast,
    report_lead_response,
    report_sales_cycle,
    report_stage_conversion,
    report_stage_durations,
    report_velocity,
    report_win_rate,
)
from clientela.sales.tests.factories import DealFactory, LeadFactory, PipelineFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
PAGE = "/reports/sales/"


@pytest.fixture
def pipeline(db):
    """Qualify 10 %, Meet 25 %, Propose 50 %, Negotiate 75 %, Won, Lost; amounts in EUR."""
    return PipelineFactory(name="New business")


def _stage(pipeline, name):
    return Stage.objects.get(pipeline=pipeline, name=name)


def _deal(pipeline, stage, owner, *, visits=(), **fields):
    """A deal at ``stage`` with the given history: (stage name, entered, left or None) per visit."""
    fields.setdefault("created_at", T0)
    deal = DealFactory(
        pipeline=pipeline, stage=_stage(pipeline, stage), owner=owner, visit=False, **fields
    )
    for name, entered_at, left_at in visits:
        StageVisit.objects.create(
            deal=deal, stage=_stage(pipeline, name), entered_at=entered_at, left_at=left_at
        )
    return deal


def _won(pipeline, owner, *, closed_at, **fields):
    return _deal(pipeline, "Won", owner, closed_at=closed_at, **fields)


def _lost(pipeline, owner, *, closed_at, **fields):
    return _deal(pipeline, "Lost", owner, closed_at=closed_at, **fields)


# -- 1. time per stage ---------------------------------------------------------------------------


def test_average_days_per_stage_are_exact_and_open_visits_count_until_now(pipeline, manager, rep):
    _deal(
        pipeline,
        "Propose",
        rep,
        visits=[
            ("Qualify", T0, T0 + 2 * DAY),
            ("Meet", T0 + 2 * DAY, T0 + 5 * DAY + 12 * HOUR),
            ("Propose", T0 + 5 * DAY + 12 * HOUR, None),
        ],
    )
    _deal(
        pipeline,
        "Meet",
        rep,
        visits=[("Qualify", T0, T0 + DAY), ("Meet", T0 + DAY, None)],
    )

    report = report_stage_durations(manager, ReportFilters(pipeline), now=T0 + 10 * DAY)

    assert [(row.stage.name, row.visits, row.average_days) for row in report] == [
        ("Qualify", 2, Decimal("1.50")),
        ("Meet", 2, Decimal("6.25")),  # 3.5 days, and 9 days up to now
        ("Propose", 1, Decimal("4.50")),
        ("Negotiate", 0, None),
    ]


def test_stage_durations_count_the_visits_that_began_in_the_range(pipeline, manager, rep):
    _deal(
        pipeline,
        "Propose",
        rep,
        visits=[
            ("Qualify", T0, T0 + 2 * DAY),
            ("Meet", T0 + 2 * DAY, T0 + 5 * DAY + 12 * HOUR),
            ("Propose", T0 + 5 * DAY + 12 * HOUR, None),
        ],
    )
    _deal(pipeline, "Meet", rep, visits=[("Qualify", T0, T0 + DAY), ("Meet", T0 + DAY, None)])
    day = (T0 + 2 * DAY).date()

    report = report_stage_durations(
        manager, ReportFilters(pipeline, start=day, end=day), now=T0 + 10 * DAY
    )

    assert [(row.stage.name, row.visits, row.average_days) for row in report] == [
        ("Qualify", 0, None),
        ("Meet", 1, Decimal("3.50")),
        ("Propose", 0, None),
        ("Negotiate", 0, None),
    ]


def test_stage_durations_keep_microseconds_exact(pipeline, manager, rep):
    _deal(pipeline, "Meet", rep, visits=[("Qualify", T0, T0 + datetime.timedelta(hours=36))])
    _deal(
        pipeline,
        "Meet",
        rep,
        visits=[("Qualify", T0, T0 + datetime.timedelta(hours=12, microseconds=1))],
    )

    report = report_stage_durations(manager, ReportFilters(pipeline), now=T0 + 10 * DAY)

    # (36 h + 12 h + 1 µs) / 2 = 1.0000000000058 days: 1.00 after rounding, never 0.99.
    assert report[0].visits == 2
    assert report[0].average_days == Decimal("1.00")


# -- 2. conversion -------------------------------------------------------------------------------


def test_conversion_counts_a_stage_reached_when_a_later_one_was_or_the_deal_was_won(
    pipeline, manager, rep
):
    _deal(
        pipeline,
        "Propose",
        rep,
        visits=[
            ("Qualify", T0, T0 + DAY),
            ("Meet", T0 + DAY, T0 + 2 * DAY),
            ("Propose", T0 + 2 * DAY, None),
        ],
    )
    _lost(
        pipeline,
        rep,
        closed_at=T0 + 3 * DAY,
        visits=[("Qualify", T0, T0 + 3 * DAY), ("Lost", T0 + 3 * DAY, None)],
    )
    # Skipped Meet and Propose, then won.
    _won(
        pipeline,
        rep,
        closed_at=T0 + 4 * DAY,
        visits=[
            ("Qualify", T0, T0 + DAY),
            ("Negotiate", T0 + DAY, T0 + 4 * DAY),
            ("Won", T0 + 4 * DAY, None),
        ],
    )
    # Won without any history: it passed every stage.
    _won(pipeline, rep, closed_at=T0 + 5 * DAY)
    # At Meet without history: its current stage counts as visited.
    _deal(pipeline, "Meet", rep)
    # Created before the range: left out.
    _deal(pipeline, "Negotiate", rep, created_at=T0 - 10 * DAY)

    report = report_stage_conversion(manager, ReportFilters(pipeline, start=T0.date()))

    assert [
        (row.stage.name if row.stage else None, row.reached, row.advanced, row.rate)
        for row in report
    ] == [
        ("Qualify", 5, 4, Decimal("80.0")),
        ("Meet", 4, 3, Decimal("75.0")),
        ("Propose", 3, 2, Decimal("66.7")),
        ("Negotiate", 2, 2, Decimal("100.0")),
        (None, 2, 2, None),
    ]


def test_conversion_without_deals_has_no_rates(pipeline, manager):
    report = report_stage_conversion(manager, ReportFilters(pipeline))

    assert [(row.reached, row.advanced, row.rate) for row in report] == [(0, 0, None)] * 5


# -- 3. win rate ---------------------------------------------------------------------------------


def test_win_rate_of_deals_closed_in_the_range_overall_and_by_owner(pipeline, manager, rep, rep_a2):
    in_range = T0 + 5 * DAY
    _won(pipeline, rep, closed_at=in_range)
    _won(pipeline, rep, closed_at=in_range)
    _lost(pipeline, rep, closed_at=in_range)
    _lost(pipeline, rep_a2, closed_at=in_range)
    _won(pipeline, rep_a2, closed_at=T0 - DAY)  # before the range
    _deal(pipeline, "Meet", rep_a2)  # open: not closed at all

    report = report_win_rate(
        manager, ReportFilters(pipeline, start=T0.date(), end=(T0 + 30 * DAY).date())
    )

    assert (report.total.won, report.total.lost, report.total.rate) == (2, 2, Decimal("50.0"))
    assert [(row.owner_name, row.won, row.lost, row.rate) for row in report.by_owner] == [
        ("Rep", 2, 1, Decimal("66.7")),
        ("Rep2", 0, 1, Decimal("0.0")),
    ]


def test_the_range_ends_at_midnight_after_its_last_day_in_the_readers_time_zone(
    pipeline, manager, rep
):
    from django.utils import timezone

    # 23:30 on 31 March in Copenhagen (CEST, UTC+2) is 21:30 UTC; 00:30 on 1 April is 22:30 UTC.
    _won(pipeline, rep, closed_at=datetime.datetime(2026, 3, 31, 21, 30, tzinfo=UTC))
    _won(pipeline, rep, closed_at=datetime.datetime(2026, 3, 31, 22, 30, tzinfo=UTC))
    march = ReportFilters(pipeline, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 3, 31))

    with timezone.override("Europe/Copenhagen"):
        in_copenhagen = report_win_rate(manager, march).total.won
    in_utc = report_win_rate(manager, march).total.won

    assert (in_copenhagen, in_utc) == (1, 2)


# -- 4. sales cycle ------------------------------------------------------------------------------


def test_sales_cycle_average_and_median_days_of_won_deals(pipeline, manager, rep):
    _won(pipeline, rep, closed_at=T0 + 10 * DAY)
    _won(pipeline, rep, closed_at=T0 + 20 * DAY + 12 * HOUR)
    _won(pipeline, rep, closed_at=T0 + 3 * DAY)
    _lost(pipeline, rep, closed_at=T0 + 90 * DAY)

    cycle = report_sales_cycle(manager, ReportFilters(pipeline))

    assert (cycle.deals, cycle.average_days, cycle.median_days) == (
        3,
        Decimal("11.17"),  # 33.5 / 3
        Decimal("10.00"),
    )


def test_sales_cycle_without_won_deals(pipeline, manager, rep):
    _lost(pipeline, rep, closed_at=T0 + DAY)

    cycle = report_sales_cycle(manager, ReportFilters(pipeline))

    assert (cycle.deals, cycle.average_days, cycle.median_days) == (0, None, None)


# -- 5. velocity ---------------------------------------------------------------------------------


def test_pipeline_velocity(pipeline, manager, rep):
    for _number in range(4):
        _deal(pipeline, "Meet", rep)
    _won(pipeline, rep, closed_at=T0 + 10 * DAY, amount=Decimal("1000.00"))
    _won(pipeline, rep, closed_at=T0 + 20 * DAY, amount=Decimal("3000.00"))
    _won(pipeline, rep, closed_at=T0 + 30 * DAY, amount=Decimal("500.00"), currency="USD")
    _lost(pipeline, rep, closed_at=T0 + 5 * DAY)

    velocity = report_velocity(manager, ReportFilters(pipeline))

    assert (
        velocity.open_deals,
        velocity.average_won_amount,
        velocity.win_rate,
        velocity.average_cycle_days,
        velocity.per_day,
        velocity.excluded_deals,
    ) == (4, Decimal("2000.00"), Decimal("75.0"), Decimal("20.00"), Decimal("300.00"), 1)


def test_velocity_is_unknown_without_won_deals(pipeline, manager, rep):
    _deal(pipeline, "Meet", rep)

    velocity = report_velocity(manager, ReportFilters(pipeline))

    assert (velocity.open_deals, velocity.per_day, velocity.average_won_amount) == (1, None, None)


# -- 6. forecast ---------------------------------------------------------------------------------


def _forecast_deals(pipeline, owner):
    december, january = datetime.date(2026, 12, 10), datetime.date(2027, 1, 31)
    _deal(pipeline, "Qualify", owner, amount=Decimal("1000.00"), expected_close_date=december)
    _deal(
        pipeline,
        "Meet",
        owner,
        amount=Decimal("2500.50"),
        probability=80,
        expected_close_date=december,
    )
    _deal(pipeline, "Propose", owner, amount=Decimal("333.33"), expected_close_date=january)
    _deal(pipeline, "Propose", owner, amount=Decimal("333.33"), expected_close_date=january)
    _deal(pipeline, "Negotiate", owner, amount=Decimal("100.01"), expected_close_date=january)
    _deal(pipeline, "Qualify", owner, amount=Decimal("200.00"))
    _deal(
        pipeline,
        "Negotiate",
        owner,
        amount=Decimal("999.00"),
        currency="USD",
        expected_close_date=december,
    )
    _won(
        pipeline,
        owner,
        closed_at=datetime.datetime(2026, 12, 15, 12, tzinfo=UTC),
        amount=Decimal("4000.00"),
    )
    _lost(pipeline, owner, closed_at=datetime.datetime(2026, 12, 16, 12, tzinfo=UTC))


def test_forecast_by_month_weighted_committed_best_case_and_closed(pipeline, manager, rep):
    _forecast_deals(pipeline, rep)

    forecast = report_forecast(manager, ReportFilters(pipeline))

    rows = [
        (m.month, m.open_deals, m.weighted, m.committed, m.best_case, m.won_deals, m.closed)
        for m in forecast.months
    ]
    assert rows == [
        (
            datetime.date(2026, 12, 1),
            2,
            Decimal("2100.40"),  # 1000 * 10 % + 2500.50 * 80 %
            Decimal("2500.50"),
            Decimal("3500.50"),
            1,
            Decimal("4000.00"),
        ),
        (
            datetime.date(2027, 1, 1),
            3,
            Decimal("408.34"),  # 2 * 333.33 * 50 % + 100.01 * 75 % = 408.3375
            Decimal("100.01"),
            Decimal("766.67"),
            0,
            Decimal("0.00"),
        ),
        (None, 1, Decimal("20.00"), Decimal("0.00"), Decimal("200.00"), 0, Decimal("0.00")),
    ]
    total = forecast.total
    assert (total.open_deals, total.weighted, total.committed, total.best_case, total.closed) == (
        6,
        Decimal("2528.74"),
        Decimal("2600.51"),
        Decimal("4467.17"),
        Decimal("4000.00"),
    )
    assert (forecast.currency, forecast.excluded_deals) == ("EUR", 1)


def test_forecast_weighted_total_per_month_is_the_sum_of_amount_times_probability(
    pipeline, manager, rep
):
    _forecast_deals(pipeline, rep)
    by_hand: dict = {}
    for deal in Deal.objects.filter(status=DealStatus.OPEN, currency="EUR").select_related("stage"):
        month = deal.expected_close_date.replace(day=1) if deal.expected_close_date else None
        by_hand[month] = by_hand.get(month, Decimal(0)) + (
            deal.amount * deal.effective_probability / 100
        )

    forecast = report_forecast(manager, ReportFilters(pipeline))

    assert {m.month: m.weighted for m in forecast.months} == {
        month: total.quantize(Decimal("0.01")) for month, total in by_hand.items()
    }


def test_forecast_in_a_range_takes_the_open_deals_expected_in_it(pipeline, manager, rep):
    _forecast_deals(pipeline, rep)

    forecast = report_forecast(
        manager,
        ReportFilters(pipeline, start=datetime.date(2027, 1, 1), end=datetime.date(2027, 1, 31)),
    )

    assert [(m.month, m.open_deals, m.weighted) for m in forecast.months] == [
        (datetime.date(2027, 1, 1), 3, Decimal("408.34"))
    ]
    assert forecast.excluded_deals == 0


def test_forecast_closed_months_are_the_readers_months(pipeline, manager, rep):
    from django.utils import timezone

    # 23:30 UTC on 30 November is 00:30 on 1 December in Copenhagen.
    _won(
        pipeline,
        rep,
        closed_at=datetime.datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
        amount=Decimal("10.00"),
    )

    with timezone.override("Europe/Copenhagen"):
        in_copenhagen = report_forecast(manager, ReportFilters(pipeline))
    in_utc = report_forecast(manager, ReportFilters(pipeline))

    assert [(m.month, m.closed) for m in in_copenhagen.months] == [
        (datetime.date(2026, 12, 1), Decimal("10.00"))
    ]
    assert [(m.month, m.closed) for m in in_utc.months] == [
        (datetime.date(2026, 11, 1), Decimal("10.00"))
    ]


# -- 7. lead response ----------------------------------------------------------------------------


def test_lead_response_hours_by_owner_and_leads_without_an_activity(pipeline, manager, rep, rep_a2):
    LeadFactory(owner=rep, created_at=T0, first_activity_at=T0 + 90 * datetime.timedelta(minutes=1))
    LeadFactory(owner=rep, created_at=T0, first_activity_at=T0 + 4 * HOUR)
    LeadFactory(owner=rep, created_at=T0)
    LeadFactory(owner=rep_a2, created_at=T0, first_activity_at=T0 + 2 * DAY)
    LeadFactory(owner=rep_a2, created_at=T0 - 30 * DAY, first_activity_at=T0)  # before the range

    report = report_lead_response(manager, ReportFilters(pipeline, start=T0.date()))

    assert [
        (
            row.owner_name,
            row.leads,
            row.responded,
            row.without_response,
            row.average_hours,
            row.median_hours,
        )
        for row in report.by_owner
    ] == [
        ("Rep", 3, 2, 1, Decimal("2.75"), Decimal("2.75")),
        ("Rep2", 1, 1, 0, Decimal("48.00"), Decimal("48.00")),
    ]
    total = report.total
    assert (total.leads, total.responded, total.without_response) == (4, 3, 1)
    assert (total.average_hours, total.median_hours) == (Decimal("17.83"), Decimal("4.00"))


# -- scope and filters ---------------------------------------------------------------------------


def test_a_manager_sees_only_the_figures_of_deals_in_their_teams(
    pipeline, manager, admin_user, rep, rep_b
):
    december = datetime.date(2026, 12, 1)
    _deal(pipeline, "Propose", rep, amount=Decimal("100.00"), expected_close_date=december)
    _deal(pipeline, "Propose", rep_b, amount=Decimal("900.00"), expected_close_date=december)
    LeadFactory(owner=rep_b, created_at=T0, first_activity_at=T0 + HOUR)

    for_manager = report_forecast(manager, ReportFilters(pipeline))
    for_admin = report_forecast(admin_user, ReportFilters(pipeline))

    assert [(m.open_deals, m.best_case) for m in for_manager.months] == [(1, Decimal("100.00"))]
    assert [(m.open_deals, m.best_case) for m in for_admin.months] == [(2, Decimal("1000.00"))]
    assert report_lead_response(manager, ReportFilters(pipeline)).total.leads == 0
    assert report_lead_response(admin_user, ReportFilters(pipeline)).total.leads == 1


def test_roles_without_the_reports_permission_get_no_figures(pipeline, rep):
    _deal(pipeline, "Propose", rep, expected_close_date=datetime.date(2026, 12, 1))

    with pytest.raises(PermissionDenied):
        report_forecast(rep, ReportFilters(pipeline))
    with pytest.raises(PermissionDenied):
        report_stage_durations(rep, ReportFilters(pipeline))


def test_owner_and_team_filters_narrow_every_report(pipeline, admin_user, rep, rep_a2, rep_b):
    _won(pipeline, rep, closed_at=T0 + DAY)
    _lost(pipeline, rep_a2, closed_at=T0 + DAY)
    _won(pipeline, rep_b, closed_at=T0 + DAY)

    by_owner = report_win_rate(admin_user, ReportFilters(pipeline, owner=rep_a2)).total
    by_team = report_win_rate(admin_user, ReportFilters(pipeline, team=rep.teams.get())).total

    assert (by_owner.won, by_owner.lost) == (0, 1)
    assert (by_team.won, by_team.lost) == (1, 1)


def test_other_pipelines_deals_are_not_counted(pipeline, manager, rep):
    other = PipelineFactory(name="Renewals")
    _won(pipeline, rep, closed_at=T0 + DAY)
    _won(other, rep, closed_at=T0 + DAY)

    assert report_win_rate(manager, ReportFilters(pipeline)).total.won == 1


# -- the page ------------------------------------------------------------------------------------


def test_the_reports_page_shows_every_section(client, manager, rep, pipeline):
    _forecast_deals(pipeline, rep)
    client.force_login(manager)

    response = client.get(PAGE, {"pipeline": pipeline.pk})

    assert response.status_code == 200
    html = response.content.decode()
    for test_id in (
        "report-stage-durations",
        "report-conversion",
        "report-win-rate",
        "report-sales-cycle",
        "report-forecast",
        "report-lead-response",
    ):
        assert f'data-testid="{test_id}"' in html
    charts = json.loads(
        html_lib.unescape(re.search(r'id="report-charts" data-charts="([^"]*)"', html)[1])
    )
    assert charts["forecast"]["labels"] == [
        "December 2026",
        "January 2027",
    ]
    assert charts["forecast"]["datasets"][0] == {
        "label": "Weighted",
        "data": ["2100.40", "408.34"],
    }
    assert "€2,100.40" in html
    assert response.context["forecast"].total.weighted == Decimal("2528.74")


def test_the_reports_page_defaults_to_the_first_active_pipeline(client, manager):
    PipelineFactory(name="Old", is_active=False, position=0)
    active = PipelineFactory(name="Current", position=5)
    client.force_login(manager)

    response = client.get(PAGE)

    assert response.status_code == 200
    assert response.context["filters"].pipeline == active


def test_an_htmx_request_gets_only_the_report(client, manager, pipeline):
    client.force_login(manager)

    response = client.get(
        PAGE, {"pipeline": pipeline.pk}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="report"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report"')
    assert "<html" not in html


def test_invalid_filters_are_explained(client, manager, pipeline):
    client.force_login(manager)

    response = client.get(
        PAGE, {"pipeline": pipeline.pk, "start": "2026-05-02", "end": "2026-05-01"}
    )

    assert response.status_code == 200
    assert response.context["filters"] is None
    assert response.context["form"].errors == {
        "end": ["The end of the range comes before its start."]
    }


def test_the_reports_page_is_forbidden_without_the_permission(client, rep, pipeline):
    client.force_login(rep)

    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE + "forecast.csv").status_code == 403


@pytest.mark.parametrize("deals", [1, 6])
def test_the_reports_page_runs_the_same_queries_whatever_the_number_of_deals(
    client, manager, rep, pipeline, deals, django_assert_num_queries
):
    for number in range(deals):
        _deal(
            pipeline,
            "Propose",
            rep,
            visits=[("Qualify", T0, T0 + DAY), ("Propose", T0 + DAY, None)],
            expected_close_date=datetime.date(2026, 12, 1 + number),
        )
        _won(pipeline, rep, closed_at=T0 + (number + 1) * DAY)
        LeadFactory(owner=rep, created_at=T0, first_activity_at=T0 + HOUR)
    client.force_login(manager)

    with django_assert_num_queries(QUERIES_OF_THE_PAGE):
        response = client.get(PAGE, {"pipeline": pipeline.pk})

    assert response.status_code == 200


# The session, the user, the form's choices (pipelines, teams, owners), and the reports.
QUERIES_OF_THE_PAGE = 20


# -- CSV -----------------------------------------------------------------------------------------


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_forecast_downloads_as_csv(client, manager, rep, pipeline):
    _forecast_deals(pipeline, rep)
    client.force_login(manager)

    response = client.get(PAGE + "forecast.csv", {"pipeline": pipeline.pk})

    assert response["Content-Disposition"].startswith('attachment; filename="sales-forecast-')
    assert _csv(response) == [
        [
            "Month",
            "Open deals",
            "Weighted (EUR)",
            "Committed (EUR)",
            "Best case (EUR)",
            "Won deals",
            "Closed (EUR)",
        ],
        ["December 2026", "2", "2100.40", "2500.50", "3500.50", "1", "4000.00"],
        ["January 2027", "3", "408.34", "100.01", "766.67", "0", "0.00"],
        ["No expected close date", "1", "20.00", "0.00", "200.00", "0", "0.00"],
        ["Total", "6", "2528.74", "2600.51", "4467.17", "1", "4000.00"],
    ]


def test_csv_cells_cannot_run_as_formulas(client, manager, pipeline, team_a):
    from clientela.identity.tests.factories import UserFactory

    sneaky = UserFactory(full_name="=HYPERLINK(1)", teams=[team_a])
    _won(pipeline, sneaky, closed_at=T0)
    client.force_login(manager)

    rows = _csv(client.get(PAGE + "win-rate.csv", {"pipeline": pipeline.pk}))

    assert rows == [
        ["Owner", "Won", "Lost", "Win rate (%)"],
        ["'=HYPERLINK(1)", "1", "0", "100.0"],
        ["Everyone", "1", "0", "100.0"],
    ]


def test_every_table_downloads_as_csv(client, manager, pipeline):
    client.force_login(manager)

    for table, first_heading in (
        ("stage-durations", "Stage"),
        ("conversion", "Stage"),
        ("win-rate", "Owner"),
        ("sales-cycle", "Measure"),
        ("forecast", "Month"),
        ("lead-response", "Owner"),
    ):
        rows = _csv(client.get(f"{PAGE}{table}.csv", {"pipeline": pipeline.pk}))
        assert rows[0][0] == first_heading, table
    assert client.get(PAGE + "unknown.csv").status_code == 404
