"""Sales reports: time per stage, stage-to-stage conversion, win rate, sales cycle, pipeline velocity,
forecast by month and lead response time.

Every report is a selector: it reads only the deals (or leads) the person asking may see
(``core.selectors.scope_filter``), of one pipeline, narrowed by the optional team, owner and date range
of ``ReportFilters``. Each runs a fixed number of queries, whatever the number of deals.

Which date the range applies to depends on the report (all dates are days in the reader's time zone,
both ends included):

- time per stage: stage visits that began in the range;
- conversion: deals created in the range;
- win rate, sales cycle and the won amounts of velocity: deals closed in the range;
- forecast: open deals whose expected close date is in the range (without a range, open deals without
  an expected close date form a row of their own), and won deals closed in the range;
- lead response: leads created in the range;
- velocity counts the deals open now, whatever the range.

Money is never mixed across currencies: amounts are summed only for deals in the pipeline's currency,
and the reports say how many deals in other currencies were left out. Counts (visits, conversion, win
rate, cycle) take every deal. Amounts are exact Decimals; averages are rounded half up to two places
(days, hours, money) and rates to one decimal place of a percent.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, TruncMonth
from django.utils import timezone

from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import scope_filter
from clientela.sales.choices import DealStatus, StageOutcome
from clientela.sales.models import Deal, Lead, Pipeline, Stage, StageVisit

# A deal whose (effective) probability is at least this is "committed" in the forecast.
COMMITTED_PROBABILITY = 75

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
SECONDS_PER_DAY = Decimal(86_400)
SECONDS_PER_HOUR = Decimal(3_600)


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers: one pipeline, and optionally a team, an owner and a range of days."""

    pipeline: Pipeline
    start: datetime.date | None = None
    end: datetime.date | None = None
    team: Any = None
    owner: Any = None

    @property
    def currency(self) -> str:
        return self.pipeline.currency


def report_pipelines() -> QuerySet[Pipeline]:
    """The pipelines reports can be about, active ones first, in board order."""
    return Pipeline.objects.order_by("-is_active", "position", "id")


def report_default_pipeline() -> Pipeline | None:
    """The pipeline a report shows when none is chosen: the first active one (else the first)."""
    return report_pipelines().first()


# -- scope ---------------------------------------------------------------------------------------


def _range_bounds(
    filters: ReportFilters,
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """The range as [start, end) instants: from the start day's midnight to the midnight after the
    end day, in the current (the reader's) time zone."""
    zone = timezone.get_current_timezone()
    start = end = None
    if filters.start is not None:
        start = datetime.datetime.combine(filters.start, datetime.time.min, tzinfo=zone)
    if filters.end is not None:
        following = filters.end + datetime.timedelta(days=1)
        end = datetime.datetime.combine(following, datetime.time.min, tzinfo=zone)
    return start, end


def _in_range(filters: ReportFilters, field_name: str) -> Q:
    start, end = _range_bounds(filters)
    condition = Q()
    if start is not None:
        condition &= Q(**{f"{field_name}__gte": start})
    if end is not None:
        condition &= Q(**{f"{field_name}__lt": end})
    return condition


def _deal_condition(actor: Any, filters: ReportFilters, through: str = "") -> Q | None:
    """The deals of the report (reached ``through`` a relation): visible to ``actor``, of the
    pipeline, and of the team and owner when chosen. None: nothing is visible."""
    require_perm(actor, Perm.SALES_REPORTS)
    visible = scope_filter(actor, through)
    if visible is None:
        return None
    condition = visible & Q(**{f"{through}pipeline": filters.pipeline})
    if filters.team is not None:
        condition &= Q(**{f"{through}team": filters.team})
    if filters.owner is not None:
        condition &= Q(**{f"{through}owner": filters.owner})
    return condition


def _deals(actor: Any, filters: ReportFilters) -> QuerySet[Deal]:
    condition = _deal_condition(actor, filters)
    if condition is None:
        return Deal.objects.none()
    # No default ordering: it would join the GROUP BY of every aggregate below.
    return Deal.objects.filter(condition).order_by()


def _open_stages(pipeline: Pipeline) -> list[Stage]:
    return list(
        Stage.objects.filter(pipeline=pipeline, outcome=StageOutcome.OPEN).order_by(
            "position", "id"
        )
    )


# -- arithmetic ----------------------------------------------------------------------------------


def _seconds(duration: datetime.timedelta) -> Decimal:
    """A duration in seconds, exactly (a float would lose microseconds over long spans)."""
    return (
        Decimal(duration.days) * SECONDS_PER_DAY
        + Decimal(duration.seconds)
        + Decimal(duration.microseconds) / Decimal(1_000_000)
    )


def _round(value: Decimal | None, step: Decimal = CENT) -> Decimal | None:
    return None if value is None else value.quantize(step, rounding=ROUND_HALF_UP)


def _cents(amount: Decimal) -> Decimal:
    """A sum of amounts as SQL gives it, to the cent: SQLite sums decimals as floating point, so its
    sums come back with noise in the far decimals (each amount has whole cents, and so has the sum)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` as a percentage with one decimal; None when there is no whole."""
    if not whole:
        return None
    return _round(Decimal(part) * 100 / Decimal(whole), TENTH)


def _average(values: list[Decimal]) -> Decimal | None:
    return _round(sum(values, Decimal(0)) / len(values)) if values else None


def _median(values: list[Decimal]) -> Decimal | None:
    return _round(statistics.median(values)) if values else None


# -- 1. time per stage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StageDuration:
    """How long deals stayed at one stage: visits counted, and their average length in days."""

    stage: Stage
    visits: int
    average_days: Decimal | None


def report_stage_durations(
    actor: Any, filters: ReportFilters, *, now: datetime.datetime | None = None
) -> list[StageDuration]:
    """Average days per open stage of the pipeline, in pipeline order, with the number of visits.

    A visit lasts from ``entered_at`` to ``left_at``; a visit not left yet (the deal is still there)
    counts up to ``now``. Visits that began in the date range count. Won and lost stages are left
    out: a closed deal stays at them for good, so their "duration" means nothing.
    """
    now = now or timezone.now()
    stages = _open_stages(filters.pipeline)
    condition = _deal_condition(actor, filters, through="deal__")
    totals: dict[int, tuple[int, datetime.timedelta]] = {}
    if condition is not None and stages:
        length = ExpressionWrapper(
            Coalesce("left_at", Value(now, output_field=DateTimeField())) - F("entered_at"),
            output_field=DurationField(),
        )
        rows = (
            StageVisit.objects.filter(condition, _in_range(filters, "entered_at"))
            .filter(stage__in=[stage.pk for stage in stages])
            .order_by()
            .values("stage_id")
            .annotate(visits=Count("id"), total=Sum(length))
        )
        totals = {row["stage_id"]: (row["visits"], row["total"]) for row in rows}
    report = []
    for stage in stages:
        visits, total = totals.get(stage.pk, (0, datetime.timedelta(0)))
        average = _seconds(total) / visits / SECONDS_PER_DAY if visits else None
        report.append(StageDuration(stage=stage, visits=visits, average_days=_round(average)))
    return report


# -- 2. stage-to-stage conversion ----------------------------------------------------------------


@dataclass(frozen=True)
class StageConversion:
    """Of the deals that reached a stage, how many went on to reach the next step.

    ``stage`` is None for the last row, the "won" step after the last open stage.
    """

    stage: Stage | None
    reached: int
    advanced: int
    rate: Decimal | None


def report_stage_conversion(actor: Any, filters: ReportFilters) -> list[StageConversion]:
    """Stage-to-stage conversion over the open stages of the pipeline, then to "won".

    The deals are those created in the date range. A deal *reached* an open stage when it visited
    that stage or any later open stage (a deal that skips a stage passed it), or when it was won (a
    won deal passed every stage). "Later" is by the stages' position. A lost deal reached only the
    stages up to the furthest one it visited; its lost stage counts for nothing. Where the stage
    history is missing, the deal's current open stage counts as visited.

    Each row gives, for one open stage, the deals that reached it (``reached``) and, of those, the
    deals that reached the next open stage (``advanced``; for the last open stage, the deals won),
    and ``advanced / reached`` as a percentage. The last row (stage None) is the won deals.
    """
    stages = _open_stages(filters.pipeline)
    deals = _deals(actor, filters).filter(_in_range(filters, "created_at"))
    furthest_visit = (
        StageVisit.objects.filter(
            deal=OuterRef("pk"),
            stage__pipeline=filters.pipeline,
            stage__outcome=StageOutcome.OPEN,
        )
        .order_by()
        .values("deal")
        .annotate(furthest=Max("stage__position"))
        .values("furthest")
    )
    current_position = Case(
        When(stage__outcome=StageOutcome.OPEN, then=F("stage__position")),
        default=Value(-1),
        output_field=IntegerField(),
    )
    rows = (
        deals.annotate(
            furthest=Greatest(
                Coalesce(Subquery(furthest_visit, output_field=IntegerField()), Value(-1)),
                current_position,
            )
        )
        .values("furthest", "status")
        .annotate(deals=Count("id"))
        .order_by()
    )
    # How many deals went no further than each position; won deals went past every stage.
    furthest_counts: dict[int, int] = defaultdict(int)
    won = 0
    for row in rows:
        if row["status"] == DealStatus.WON:
            won += row["deals"]
        else:
            furthest_counts[row["furthest"]] += row["deals"]
    reached = [
        won + sum(n for position, n in furthest_counts.items() if position >= stage.position)
        for stage in stages
    ]
    report = []
    for index, stage in enumerate(stages):
        advanced = reached[index + 1] if index + 1 < len(stages) else won
        report.append(
            StageConversion(
                stage=stage,
                reached=reached[index],
                advanced=advanced,
                rate=_percent(advanced, reached[index]),
            )
        )
    report.append(StageConversion(stage=None, reached=won, advanced=won, rate=None))
    return report


# -- 3. win rate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinRateRow:
    """Won and lost deals, and the share won; for one owner, or for everyone (owner None)."""

    owner_id: int | None
    owner_name: str
    won: int
    lost: int
    rate: Decimal | None


@dataclass(frozen=True)
class WinRate:
    total: WinRateRow
    by_owner: list[WinRateRow]


def _closed_deals(actor: Any, filters: ReportFilters) -> QuerySet[Deal]:
    return _deals(actor, filters).filter(
        _in_range(filters, "closed_at"),
        closed_at__isnull=False,
        status__in=[DealStatus.WON, DealStatus.LOST],
    )


def report_win_rate(actor: Any, filters: ReportFilters) -> WinRate:
    """Won / (won + lost) of the deals closed in the range, overall and by owner (by name)."""
    rows = (
        _closed_deals(actor, filters)
        .values("owner_id", "owner__full_name", "status")
        .annotate(deals=Count("id"))
        .order_by()
    )
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        counts[(row["owner_id"], row["owner__full_name"])][row["status"]] += row["deals"]
    by_owner = [
        WinRateRow(
            owner_id=owner_id,
            owner_name=name,
            won=count[DealStatus.WON],
            lost=count[DealStatus.LOST],
            rate=_percent(count[DealStatus.WON], count[DealStatus.WON] + count[DealStatus.LOST]),
        )
        for (owner_id, name), count in sorted(
            counts.items(), key=lambda item: (item[0][1].casefold(), item[0][0])
        )
    ]
    won = sum(row.won for row in by_owner)
    lost = sum(row.lost for row in by_owner)
    total = WinRateRow(
        owner_id=None, owner_name="", won=won, lost=lost, rate=_percent(won, won + lost)
    )
    return WinRate(total=total, by_owner=by_owner)


# -- 4. sales cycle ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesCycle:
    """Days from creation to closing of the won deals closed in the range."""

    deals: int
    average_days: Decimal | None
    median_days: Decimal | None


def _won_deals(actor: Any, filters: ReportFilters) -> list[Any]:
    return list(
        _closed_deals(actor, filters)
        .filter(status=DealStatus.WON)
        .values("created_at", "closed_at", "amount", "currency")
    )


def _cycle(won: Iterable[dict[str, Any]]) -> SalesCycle:
    days = [_seconds(row["closed_at"] - row["created_at"]) / SECONDS_PER_DAY for row in won]
    return SalesCycle(deals=len(days), average_days=_average(days), median_days=_median(days))


def report_sales_cycle(actor: Any, filters: ReportFilters) -> SalesCycle:
    """Average and median days from ``created_at`` to ``closed_at`` of won deals closed in the range."""
    return _cycle(_won_deals(actor, filters))


# -- 5. pipeline velocity ------------------------------------------------------------------------


@dataclass(frozen=True)
class Velocity:
    """Pipeline velocity: the money the pipeline is expected to turn into won deals per day.

    ``per_day = open_deals * average_won_amount * win_rate / average_cycle_days``; None when a factor
    is unknown (no won deals, no closed deals) or the average cycle is zero days.
    """

    currency: str
    open_deals: int
    average_won_amount: Decimal | None
    win_rate: Decimal | None
    average_cycle_days: Decimal | None
    per_day: Decimal | None
    # Won deals in another currency than the pipeline's: left out of the average won amount.
    excluded_deals: int


def report_velocity(actor: Any, filters: ReportFilters) -> Velocity:
    """Pipeline velocity from the deals open now and the deals closed in the range.

    The average won amount counts only won deals in the pipeline's currency; the win rate and the
    average cycle are those of ``report_win_rate`` and ``report_sales_cycle``. The factors are used
    unrounded; the result is rounded to cents.
    """
    return report_cycle_and_velocity(actor, filters)[1]


def report_cycle_and_velocity(
    actor: Any, filters: ReportFilters, *, win_rate: WinRate | None = None
) -> tuple[SalesCycle, Velocity]:
    """``report_sales_cycle`` and ``report_velocity`` together, reading the won deals once (and the
    win rate not at all when the caller has it already)."""
    currency = filters.currency
    open_deals = _deals(actor, filters).filter(status=DealStatus.OPEN).count()
    won = _won_deals(actor, filters)
    rate = (win_rate or report_win_rate(actor, filters)).total
    amounts = [row["amount"] for row in won if row["currency"] == currency]
    average_amount = sum(amounts, Decimal(0)) / len(amounts) if amounts else None
    days = [_seconds(row["closed_at"] - row["created_at"]) / SECONDS_PER_DAY for row in won]
    average_days = sum(days, Decimal(0)) / len(days) if days else None
    closed = rate.won + rate.lost
    per_day = None
    if average_amount is not None and closed and average_days:
        per_day = open_deals * average_amount * rate.won / closed / average_days
    velocity = Velocity(
        currency=currency,
        open_deals=open_deals,
        average_won_amount=_round(average_amount),
        win_rate=rate.rate,
        average_cycle_days=_round(average_days),
        per_day=_round(per_day),
        excluded_deals=len(won) - len(amounts),
    )
    return _cycle(won), velocity


# -- 6. forecast ---------------------------------------------------------------------------------


@dataclass
class ForecastMonth:
    """One month of the forecast (``month`` is its first day; None: open deals without a date).

    ``weighted`` is Σ amount * effective probability / 100 of the open deals expected to close that
    month; ``best_case`` Σ amount of those deals; ``committed`` Σ amount of those whose effective
    probability is at least COMMITTED_PROBABILITY; ``closed`` Σ amount of the deals won that month.
    """

    month: datetime.date | None
    open_deals: int = 0
    weighted: Decimal = Decimal("0.00")
    best_case: Decimal = Decimal("0.00")
    committed: Decimal = Decimal("0.00")
    won_deals: int = 0
    closed: Decimal = Decimal("0.00")


@dataclass
class Forecast:
    currency: str
    months: list[ForecastMonth]
    total: ForecastMonth
    # Open or won deals in another currency than the pipeline's, left out of every sum.
    excluded_deals: int = 0
    committed_probability: int = field(default=COMMITTED_PROBABILITY)


def report_forecast(actor: Any, filters: ReportFilters) -> Forecast:
    """The forecast by month of expected close date, and the amounts won by month of closing.

    A deal's effective probability is its own, else its stage's. Only deals in the pipeline's
    currency are summed; the others are counted in ``excluded_deals``. The weighted amount of each
    month is exact (amounts are summed per probability in SQL, then weighed in Decimal) and then
    rounded half up to cents once, per month and for the total.
    """
    currency = filters.currency
    deals = _deals(actor, filters)
    open_deals = deals.filter(status=DealStatus.OPEN)
    if filters.start is not None or filters.end is not None:
        start, end = filters.start, filters.end
        open_deals = open_deals.filter(expected_close_date__isnull=False)
        if start is not None:
            open_deals = open_deals.filter(expected_close_date__gte=start)
        if end is not None:
            open_deals = open_deals.filter(expected_close_date__lte=end)
    open_rows = (
        open_deals.values(
            "currency",
            month=TruncMonth("expected_close_date"),
            probability_used=Coalesce("probability", "stage__probability"),
        )
        .annotate(deals=Count("id"), total_amount=Sum("amount"))
        .order_by()
    )
    zone = timezone.get_current_timezone()
    won_rows = (
        deals.filter(
            _in_range(filters, "closed_at"), status=DealStatus.WON, closed_at__isnull=False
        )
        .values("currency", month=TruncMonth("closed_at", tzinfo=zone))
        .annotate(deals=Count("id"), total_amount=Sum("amount"))
        .order_by()
    )
    months: dict[datetime.date | None, ForecastMonth] = {}
    weighted_exact: dict[datetime.date | None, Decimal] = defaultdict(Decimal)
    excluded = 0

    def month_of(key: datetime.date | None) -> ForecastMonth:
        if key not in months:
            months[key] = ForecastMonth(month=key)
        return months[key]

    for row in open_rows:
        if row["currency"] != currency:
            excluded += row["deals"]
            continue
        key = _as_date(row["month"])
        entry = month_of(key)
        amount = _cents(row["total_amount"])
        entry.open_deals += row["deals"]
        entry.best_case += amount
        weighted_exact[key] += amount * row["probability_used"] / 100
        if row["probability_used"] >= COMMITTED_PROBABILITY:
            entry.committed += amount
    for won_row in won_rows:
        if won_row["currency"] != currency:
            excluded += won_row["deals"]
            continue
        entry = month_of(_as_date(won_row["month"]))
        entry.won_deals += won_row["deals"]
        entry.closed += _cents(won_row["total_amount"])
    for key, exact in weighted_exact.items():
        months[key].weighted = _round(exact) or Decimal("0.00")
    ordered = sorted(months.values(), key=lambda m: (m.month is None, m.month or datetime.date.min))
    total = ForecastMonth(
        month=None,
        open_deals=sum(m.open_deals for m in ordered),
        weighted=_round(sum(weighted_exact.values(), Decimal(0))) or Decimal("0.00"),
        best_case=sum((m.best_case for m in ordered), Decimal("0.00")),
        committed=sum((m.committed for m in ordered), Decimal("0.00")),
        won_deals=sum(m.won_deals for m in ordered),
        closed=sum((m.closed for m in ordered), Decimal("0.00")),
    )
    return Forecast(currency=currency, months=ordered, total=total, excluded_deals=excluded)


def _as_date(value: datetime.date | datetime.datetime | None) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


# -- 7. lead response time -----------------------------------------------------------------------


@dataclass(frozen=True)
class LeadResponseRow:
    """Hours from a lead's creation to its first activity; for one owner, or everyone (owner None)."""

    owner_id: int | None
    owner_name: str
    leads: int
    responded: int
    average_hours: Decimal | None
    median_hours: Decimal | None

    @property
    def without_response(self) -> int:
        return self.leads - self.responded


@dataclass(frozen=True)
class LeadResponse:
    total: LeadResponseRow
    by_owner: list[LeadResponseRow]


def report_lead_response(actor: Any, filters: ReportFilters) -> LeadResponse:
    """Lead response time of the leads created in the range, overall and by owner.

    Leads belong to no pipeline: the pipeline filter does not apply, the team and owner do. A lead
    without a first activity yet counts in ``leads`` but not in the averages.
    """
    require_perm(actor, Perm.SALES_REPORTS)
    condition = scope_filter(actor)
    if condition is None:
        leads = Lead.objects.none()
    else:
        leads = Lead.objects.filter(condition, _in_range(filters, "created_at"))
        if filters.team is not None:
            leads = leads.filter(team=filters.team)
        if filters.owner is not None:
            leads = leads.filter(owner=filters.owner)
    rows = leads.order_by().values_list(
        "owner_id", "owner__full_name", "created_at", "first_activity_at"
    )
    hours: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for owner_id, name, created_at, first_activity_at in rows:
        counts[(owner_id, name)] += 1
        if first_activity_at is not None:
            # An activity dated before the lead (an import of older history) counts as no wait.
            waited = max(first_activity_at - created_at, datetime.timedelta(0))
            hours[(owner_id, name)].append(_seconds(waited) / SECONDS_PER_HOUR)

    def row(owner_id: int | None, name: str, leads: int, values: list[Decimal]) -> LeadResponseRow:
        return LeadResponseRow(
            owner_id=owner_id,
            owner_name=name,
            leads=leads,
            responded=len(values),
            average_hours=_average(values),
            median_hours=_median(values),
        )

    by_owner = [
        row(owner_id, name, count, hours[(owner_id, name)])
        for (owner_id, name), count in sorted(
            counts.items(), key=lambda item: (item[0][1].casefold(), item[0][0])
        )
    ]
    every = [value for values in hours.values() for value in values]
    return LeadResponse(
        total=row(None, "", sum(counts.values()), every),
        by_owner=by_owner,
    )
