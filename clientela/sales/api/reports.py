"""API: the sales reports, ``/api/v1/reports/<report>/?pipeline=…&start=…&end=…&team=…&owner=…``.

The same selectors as the reports page (``sales.reports``), for roles with the sales reports
permission, over the deals the caller may see. Amounts are Decimal strings in the pipeline's currency;
averages and rates are Decimal strings too (null when there is nothing to average).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import PROBLEM_CONTENT_TYPE, ProblemSerializer, ScopedPrimaryKeyRelatedField
from clientela.core.api_views import ApiSchema, ApiViewSet
from clientela.core.permissions import Perm
from clientela.identity.models import Team, User
from clientela.identity.selectors import team_choices_for, users_visible_to
from clientela.sales.models import Pipeline
from clientela.sales.reports import (
    ReportFilters,
    report_default_pipeline,
    report_forecast,
    report_lead_response,
    report_sales_cycle,
    report_stage_conversion,
    report_stage_durations,
    report_velocity,
    report_win_rate,
)

# -- the query ---------------------------------------------------------------------------------


class ReportQuerySerializer(serializers.Serializer):
    """The query parameters every report takes."""

    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, allow_null=True
    )
    start = serializers.DateField(required=False, allow_null=True)
    end = serializers.DateField(required=False, allow_null=True)
    team = ScopedPrimaryKeyRelatedField(
        selector=team_choices_for, queryset=Team.objects.all(), required=False, allow_null=True
    )
    owner = ScopedPrimaryKeyRelatedField(
        selector=lambda actor: users_visible_to(actor).prefetch_related(None),
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"end": [_("The end of the range comes before its start.")]}
            )
        return attrs


REPORT_PARAMETERS = [
    OpenApiParameter(
        "pipeline",
        int,
        description=gettext_lazy("The pipeline's id; the first active pipeline by default."),
    ),
    OpenApiParameter(
        "start",
        datetime.date,
        description=gettext_lazy(
            "The first day of the range (YYYY-MM-DD, in the caller's time zone). Which date of a "
            "deal it applies to depends on the report."
        ),
    ),
    OpenApiParameter(
        "end",
        datetime.date,
        description=gettext_lazy("The last day of the range, included (YYYY-MM-DD)."),
    ),
    OpenApiParameter("team", int, description=gettext_lazy("Only the deals of this team.")),
    OpenApiParameter("owner", int, description=gettext_lazy("Only the deals of this user.")),
]


# -- the answers -------------------------------------------------------------------------------


def _decimal(places: int, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=24, decimal_places=places, allow_null=True, read_only=True, **kwargs
    )


class ReportScopeSerializer(serializers.Serializer):
    """What the report covers."""

    pipeline = serializers.IntegerField(source="pipeline.pk")
    currency = serializers.CharField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    team = serializers.IntegerField(source="team.pk", allow_null=True, default=None)
    owner = serializers.IntegerField(source="owner.pk", allow_null=True, default=None)


class StageDurationSerializer(serializers.Serializer):
    """The visits of one stage and their average length."""

    stage = serializers.IntegerField(source="stage.pk")
    name = serializers.CharField(source="stage.name")
    visits = serializers.IntegerField()
    average_days = _decimal(2)


class StageDurationsSerializer(serializers.Serializer):
    """Average days per open stage, in pipeline order: visits that began in the range, those not
    left yet counted up to now."""

    scope = ReportScopeSerializer()
    stages = StageDurationSerializer(many=True)


class StageConversionSerializer(serializers.Serializer):
    """Of the deals that reached a stage, those that reached the next step."""

    stage = serializers.IntegerField(
        source="stage.pk", allow_null=True, default=None, help_text=gettext_lazy("Null: won.")
    )
    name = serializers.SerializerMethodField()
    reached = serializers.IntegerField()
    advanced = serializers.IntegerField()
    rate = _decimal(1, help_text=gettext_lazy("advanced / reached, in percent."))

    def get_name(self, row: Any) -> str:
        return row.stage.name if row.stage is not None else _("Won")


class StageConversionsSerializer(serializers.Serializer):
    """Stage-to-stage conversion of the deals created in the range."""

    scope = ReportScopeSerializer()
    stages = StageConversionSerializer(many=True)


class WinRateRowSerializer(serializers.Serializer):
    """Deals won and lost, and the share won, in percent."""

    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    owner_name = serializers.CharField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    rate = _decimal(1)


class WinRateSerializer(serializers.Serializer):
    """Won / (won + lost) of the deals closed in the range, overall and by owner."""

    scope = ReportScopeSerializer()
    total = WinRateRowSerializer()
    by_owner = WinRateRowSerializer(many=True)


class SalesCycleSerializer(serializers.Serializer):
    """Days from creation to closing of the won deals closed in the range."""

    scope = ReportScopeSerializer()
    deals = serializers.IntegerField()
    average_days = _decimal(2)
    median_days = _decimal(2)


class VelocitySerializer(serializers.Serializer):
    """open_deals * average_won_amount * win_rate / average_cycle_days: expected wins per day."""

    scope = ReportScopeSerializer()
    open_deals = serializers.IntegerField()
    average_won_amount = _decimal(2)
    win_rate = _decimal(1)
    average_cycle_days = _decimal(2)
    per_day = _decimal(2)
    excluded_deals = serializers.IntegerField(
        help_text=gettext_lazy("Won deals in another currency, left out of the average amount.")
    )


class ForecastMonthSerializer(serializers.Serializer):
    """One month: the open deals expected to close in it and the deals won in it."""

    month = serializers.DateField(
        allow_null=True,
        help_text=gettext_lazy("The month's first day; null for open deals without a date."),
    )
    open_deals = serializers.IntegerField()
    weighted = _decimal(2, help_text=gettext_lazy("Σ amount * win probability / 100."))
    committed = _decimal(2)
    best_case = _decimal(2)
    won_deals = serializers.IntegerField()
    closed = _decimal(2)


class ForecastTotalSerializer(ForecastMonthSerializer):
    """Every month together."""

    month = None  # type: ignore[assignment]


class ForecastSerializer(serializers.Serializer):
    """Open deals by month of expected close date (weighted, committed, best case) and the amounts
    won by month of closing, in the pipeline's currency."""

    scope = ReportScopeSerializer()
    committed_probability = serializers.IntegerField()
    excluded_deals = serializers.IntegerField(
        help_text=gettext_lazy("Deals in another currency than the pipeline's, left out.")
    )
    months = ForecastMonthSerializer(many=True)
    total = ForecastTotalSerializer()


class LeadResponseRowSerializer(serializers.Serializer):
    """Leads, those with a first activity, and the hours to it."""

    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    owner_name = serializers.CharField()
    leads = serializers.IntegerField()
    responded = serializers.IntegerField()
    without_response = serializers.IntegerField()
    average_hours = _decimal(2)
    median_hours = _decimal(2)


class LeadResponseSerializer(serializers.Serializer):
    """Hours from creation to first activity of the leads created in the range (every pipeline)."""

    scope = ReportScopeSerializer()
    total = LeadResponseRowSerializer()
    by_owner = LeadResponseRowSerializer(many=True)


# -- the endpoints -----------------------------------------------------------------------------


class _ReportSchema(ApiSchema):
    # One object, not a paginated list; 400 for invalid parameters, 403 without the permission.
    def _is_list_view(self, serializer: Any = None) -> bool:
        return False

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in ("400", "403"):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ProblemSerializer, code, (PROBLEM_CONTENT_TYPE,), direction
                )
        return responses


# One report (a comment, not a docstring: the schema would show it).
class _ReportViewSet(ApiViewSet):
    schema = _ReportSchema()
    action_permissions = {"list": Perm.SALES_REPORTS}
    pagination_class = None

    def report(self, filters: ReportFilters) -> Any:
        raise NotImplementedError

    def filters(self) -> ReportFilters:
        query = ReportQuerySerializer(
            data=self.request.query_params, context={"request": self.request}
        )
        query.is_valid(raise_exception=True)
        data = query.validated_data
        pipeline = data.get("pipeline") or report_default_pipeline()
        if pipeline is None:
            raise serializers.ValidationError({"pipeline": [_("There is no pipeline yet.")]})
        return ReportFilters(
            pipeline=pipeline,
            start=data.get("start"),
            end=data.get("end"),
            team=data.get("team"),
            owner=data.get("owner"),
        )

    def list(self, request: Request) -> Response:
        filters = self.filters()
        serializer_class = self.get_serializer_class()
        return Response(serializer_class(self.report(filters)).data)


def _document(operation_id: str, summary: Any, description: Any, response: Any) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        parameters=REPORT_PARAMETERS,
        responses=response,
    )


def _with_scope(filters: ReportFilters, **values: Any) -> dict[str, Any]:
    return {"scope": filters, **values}


class StageDurationsViewSet(_ReportViewSet):
    serializer_class = StageDurationsSerializer

    @_document(
        "reports_stage_durations",
        gettext_lazy("Average days per stage"),
        gettext_lazy(
            "For each open stage of the pipeline, in order: the visits that began in the range and "
            "their average length in days. A deal still at a stage counts until now."
        ),
        StageDurationsSerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        return _with_scope(filters, stages=report_stage_durations(self.actor, filters))


class StageConversionViewSet(_ReportViewSet):
    serializer_class = StageConversionsSerializer

    @_document(
        "reports_conversion",
        gettext_lazy("Stage-to-stage conversion"),
        gettext_lazy(
            "Of the deals created in the range: for each open stage, the deals that reached it (at "
            "that stage or a later one, or won) and those that reached the next step; the last row "
            "(stage null) is the won deals."
        ),
        StageConversionsSerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        return _with_scope(filters, stages=report_stage_conversion(self.actor, filters))


class WinRateViewSet(_ReportViewSet):
    serializer_class = WinRateSerializer

    @_document(
        "reports_win_rate",
        gettext_lazy("Win rate"),
        gettext_lazy("Won / (won + lost) of the deals closed in the range, overall and by owner."),
        WinRateSerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        result = report_win_rate(self.actor, filters)
        return _with_scope(filters, total=result.total, by_owner=result.by_owner)


class SalesCycleViewSet(_ReportViewSet):
    serializer_class = SalesCycleSerializer

    @_document(
        "reports_sales_cycle",
        gettext_lazy("Sales cycle length"),
        gettext_lazy("Average and median days from creation to closing of deals won in the range."),
        SalesCycleSerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        cycle = report_sales_cycle(self.actor, filters)
        return _with_scope(
            filters,
            deals=cycle.deals,
            average_days=cycle.average_days,
            median_days=cycle.median_days,
        )


class VelocityViewSet(_ReportViewSet):
    serializer_class = VelocitySerializer

    @_document(
        "reports_velocity",
        gettext_lazy("Pipeline velocity"),
        gettext_lazy(
            "Open deals now * average amount of deals won in the range (in the pipeline's currency) "
            "× win rate ÷ average sales cycle in days: the amount expected to be won per day."
        ),
        VelocitySerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        velocity = report_velocity(self.actor, filters)
        return _with_scope(filters, **vars(velocity))


class ForecastViewSet(_ReportViewSet):
    serializer_class = ForecastSerializer

    @_document(
        "reports_forecast",
        gettext_lazy("Forecast by month"),
        gettext_lazy(
            "Open deals by month of expected close date (within the range, when one is given): "
            "weighted = Σ amount * win probability / 100 (the deal's own, else its stage's), "
            "committed = Σ amount of deals at 75 % or more, best case = Σ amount; and closed = Σ "
            "amount of the deals won in each month. Only deals in the pipeline's currency; "
            "excluded_deals counts the others."
        ),
        ForecastSerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        forecast = report_forecast(self.actor, filters)
        return _with_scope(
            filters,
            committed_probability=forecast.committed_probability,
            excluded_deals=forecast.excluded_deals,
            months=forecast.months,
            total=forecast.total,
        )


class LeadResponseViewSet(_ReportViewSet):
    serializer_class = LeadResponseSerializer

    @_document(
        "reports_lead_response",
        gettext_lazy("Lead response time"),
        gettext_lazy(
            "Hours from creation to first activity of the leads created in the range, overall and "
            "by owner; leads without an activity yet are counted in without_response. Leads belong "
            "to no pipeline: the pipeline parameter does not narrow them."
        ),
        LeadResponseSerializer,
    )
    def list(self, request: Request) -> Response:
        return super().list(request)

    def report(self, filters: ReportFilters) -> Any:
        result = report_lead_response(self.actor, filters)
        return _with_scope(filters, total=result.total, by_owner=result.by_owner)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    for prefix, viewset in (
        ("stage-durations", StageDurationsViewSet),
        ("conversion", StageConversionViewSet),
        ("win-rate", WinRateViewSet),
        ("sales-cycle", SalesCycleViewSet),
        ("velocity", VelocityViewSet),
        ("forecast", ForecastViewSet),
        ("lead-response", LeadResponseViewSet),
    ):
        router.register(f"reports/{prefix}", viewset, basename=f"report-{prefix}")
