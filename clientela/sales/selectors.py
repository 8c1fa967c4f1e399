"""Reads of pipelines, stages, close reasons and deals, always scoped to the person asking."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clientela.core.permissions import Perm, has_perm
from clientela.core.selectors import visible_to
from clientela.parties.models import Contact
from clientela.sales.choices import StageOutcome
from clientela.sales.models import CloseReason, Deal, DealLineItem, Pipeline, Stage, StageVisit

# The most cards a board column shows; its count and total still cover every deal at the stage.
BOARD_CARDS_PER_COLUMN = 100


def pipelines_visible_to(actor: Any) -> QuerySet[Pipeline]:
    """Every pipeline, with its stages in order, for those who may see sales; none for others."""
    if not has_perm(actor, Perm.SALES_VIEW):
        return Pipeline.objects.none()
    return Pipeline.objects.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))
    )


def pipeline_get(actor: Any, pk: Any) -> Pipeline:
    return get_object_or_404(pipelines_visible_to(actor), pk=pk)


def pipeline_default(actor: Any) -> Pipeline | None:
    """The pipeline a board or a new deal starts from: the first active one."""
    return pipelines_visible_to(actor).filter(is_active=True).first()


def stages_visible_to(actor: Any) -> QuerySet[Stage]:
    if not has_perm(actor, Perm.SALES_VIEW):
        return Stage.objects.none()
    return Stage.objects.select_related("pipeline").order_by("pipeline__position", "position", "id")


def close_reasons_visible_to(actor: Any) -> QuerySet[CloseReason]:
    """Every close reason (also inactive ones: closed deals cite them)."""
    if not has_perm(actor, Perm.SALES_VIEW):
        return CloseReason.objects.none()
    return CloseReason.objects.all()


def close_reasons_active(outcome: str | None = None) -> QuerySet[CloseReason]:
    """The reasons a person may choose when closing a deal now (of ``outcome``, when given)."""
    reasons = CloseReason.objects.filter(is_active=True)
    return reasons.filter(outcome=outcome) if outcome else reasons


def close_reason_get(actor: Any, pk: Any) -> CloseReason:
    return get_object_or_404(close_reasons_visible_to(actor), pk=pk)


def _visible_contacts(actor: Any) -> QuerySet[Contact]:
    return visible_to(Contact.objects.all(), actor).only("id", "first_name", "last_name")


def _deals(actor: Any) -> QuerySet[Deal]:
    if not has_perm(actor, Perm.SALES_VIEW):
        return Deal.objects.none()
    return visible_to(Deal.objects.all(), actor)


def deals_visible_to(actor: Any) -> QuerySet[Deal]:
    """Deals ``actor`` may see, with what the detail page and the API show loaded up front: stage,
    pipeline, owner, team, organization, close reason, tags, line items and the contacts ``actor``
    may see."""
    return (
        _deals(actor)
        .select_related("owner", "team", "pipeline", "stage", "organization", "close_reason")
        .prefetch_related(
            "tags",
            Prefetch("line_items", queryset=DealLineItem.objects.order_by("position", "id")),
            Prefetch("contacts", queryset=_visible_contacts(actor)),
        )
    )


def deals_listed_to(actor: Any) -> QuerySet[Deal]:
    """Deals ``actor`` may see with only what a row of the list shows."""
    return (
        _deals(actor)
        .select_related("owner", "team", "pipeline", "stage", "organization")
        .defer("search_text", "custom_fields", "close_note")
    )


def deal_get(actor: Any, pk: Any) -> Deal:
    """One visible deal, or Http404 (the same answer for someone else's and for a missing id)."""
    return get_object_or_404(deals_visible_to(actor), pk=pk)


def deals_of_organization(actor: Any, organization: Any) -> QuerySet[Deal]:
    return deals_listed_to(actor).filter(organization=organization)


@dataclass(frozen=True)
class StageStay:
    """One stretch of a deal's stage history, with how long it lasted (until ``now`` if current)."""

    visit: StageVisit
    duration: timedelta

    @property
    def is_current(self) -> bool:
        return self.visit.left_at is None

    @property
    def days(self) -> int:
        return self.duration.days

    @property
    def seconds(self) -> int:
        return int(self.duration.total_seconds())


def deal_stage_history(deal: Deal, *, now: datetime | None = None) -> list[StageStay]:
    """The stages ``deal`` went through, oldest first, with exact durations; one query."""
    now = now or timezone.now()
    visits = StageVisit.objects.filter(deal=deal).select_related("stage", "entered_by")
    return [
        StageStay(visit, (visit.left_at or max(now, visit.entered_at)) - visit.entered_at)
        for visit in visits.order_by("entered_at", "id")
    ]


@dataclass
class CurrencyTotal:
    currency: str
    count: int
    total: Decimal


@dataclass
class BoardCard:
    deal: Deal
    days_at_stage: int
    is_stale: bool


@dataclass
class BoardColumn:
    """One stage of the board: its cards, and the count and total of every deal at it.

    ``total`` adds the deals in the pipeline's currency; deals in other currencies are counted (and
    totalled) per currency in ``other_currencies``, never added to it.
    """

    stage: Stage
    currency: str
    count: int = 0
    total: Decimal = Decimal("0.00")
    cards: list[BoardCard] = field(default_factory=list)
    other_currencies: list[CurrencyTotal] = field(default_factory=list)

    @property
    def hidden_count(self) -> int:
        return self.count - len(self.cards)

    @property
    def is_closed(self) -> bool:
        return self.stage.outcome != StageOutcome.OPEN


def board_deals(actor: Any, pipeline: Pipeline, filters: dict[str, Any] | None = None) -> Any:
    """The deals of ``pipeline`` that ``actor`` may see, narrowed by ``filters`` (owner, team)."""
    deals = _deals(actor).filter(pipeline=pipeline)
    filters = filters or {}
    if filters.get("owner") is not None:
        deals = deals.filter(owner=filters["owner"])
    if filters.get("team") is not None:
        deals = deals.filter(team=filters["team"])
    return deals


def board_columns(
    actor: Any,
    pipeline: Pipeline,
    filters: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
    cards_per_column: int = BOARD_CARDS_PER_COLUMN,
) -> list[BoardColumn]:
    """The board of ``pipeline``: one column per stage, in order, with its cards (oldest at the stage
    first), count and totals. ``filters`` may name an ``owner`` and a ``team``. Three queries, however
    many deals there are."""
    now = now or timezone.now()
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    columns = {stage.pk: BoardColumn(stage=stage, currency=pipeline.currency) for stage in stages}
    deals = board_deals(actor, pipeline, filters)
    totals = (
        deals.order_by()
        .values("stage_id", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))
    )
    others: dict[int, list[CurrencyTotal]] = defaultdict(list)
    for row in totals:
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        amount = row["total"] or Decimal("0")
        column.count += row["count"]
        if row["currency"] == pipeline.currency:
            column.total = Decimal(amount).quantize(Decimal("0.01"))
        else:
            others[column.stage.pk].append(
                CurrencyTotal(
                    row["currency"], row["count"], Decimal(amount).quantize(Decimal("0.01"))
                )
            )
    for pk, items in others.items():
        columns[pk].other_currencies = sorted(items, key=lambda item: item.currency)
    ranked = (
        deals.select_related("owner", "organization")
        .only(
            "id",
            "title",
            "amount",
            "currency",
            "stage_id",
            "stage_entered_at",
            "version",
            "owner_id",
            "team_id",
            "is_shared_with_team",
            "status",
            "expected_close_date",
            "next_step",
            "organization_id",
            "owner__id",
            "owner__full_name",
            "owner__email",
            "organization__id",
            "organization__name",
        )
        .annotate(
            board_rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("stage_entered_at").asc(), F("id").asc()],
            )
        )
        .filter(board_rank__lte=cards_per_column)
        .order_by("stage_entered_at", "id")
    )
    for deal in ranked:
        column = columns.get(deal.stage_id)
        if column is None:
            continue
        days = max(0, (now - deal.stage_entered_at).days)
        stale_after = column.stage.stale_after_days
        column.cards.append(
            BoardCard(
                deal=deal,
                days_at_stage=days,
                is_stale=not column.is_closed and stale_after is not None and days > stale_after,
            )
        )
    return [columns[stage.pk] for stage in stages]
