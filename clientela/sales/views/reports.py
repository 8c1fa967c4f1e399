"""Pages: the sales reports, ``/reports/sales/`` (charts and tables), and each table as CSV.

One filter form (pipeline, date range, team, owner) drives every section; the reports themselves are
the selectors of ``sales.reports``. ``/reports/sales/<table>.csv`` downloads one table with the same
filters.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from clientela.core.locale import money
from clientela.core.permissions import Perm, require_perm
from clientela.core.spreadsheets import spreadsheet_safe
from clientela.core.widgets import FastSelect
from clientela.identity.models import Team, User
from clientela.identity.selectors import team_choices_for, users_visible_to
from clientela.sales.models import Pipeline
from clientela.sales.reports import (
    COMMITTED_PROBABILITY,
    Forecast,
    ReportFilters,
    report_cycle_and_velocity,
    report_default_pipeline,
    report_forecast,
    report_lead_response,
    report_pipelines,
    report_stage_conversion,
    report_stage_durations,
    report_win_rate,
)

# -- the filter form -----------------------------------------------------------------------------


class ReportFilterForm(forms.Form):
    """Pipeline (the first active one when none is chosen), date range, team and owner."""

    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.none(),
        required=False,
        empty_label=None,
        label=gettext_lazy("Pipeline"),
        widget=FastSelect,
    )
    start = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False,
        label=gettext_lazy("Until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label=gettext_lazy("Every team"),
        label=gettext_lazy("Team"),
        widget=FastSelect,
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Everyone"),
        label=gettext_lazy("Owner"),
        widget=FastSelect,
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["pipeline"].queryset = report_pipelines()
        # Choices come from what the person asking may see: another id is an invalid choice.
        fields["team"].queryset = team_choices_for(actor)
        fields["owner"].queryset = users_visible_to(actor).prefetch_related(None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end of the range comes before its start."))
        return cleaned


def _filters_from(request: HttpRequest) -> tuple[ReportFilterForm, ReportFilters | None]:
    """The page's form and the filters it asks for; None when the query is invalid (the form then
    says why) or there is no pipeline at all. Without a query: the default pipeline, everything."""
    form = ReportFilterForm(request.GET or None, actor=request.user)
    if form.is_bound and not form.is_valid():
        return form, None
    cleaned = form.cleaned_data if form.is_bound else {}
    pipeline = cleaned.get("pipeline") or report_default_pipeline()
    if pipeline is None:
        return form, None
    filters = ReportFilters(
        pipeline=pipeline,
        start=cleaned.get("start"),
        end=cleaned.get("end"),
        team=cleaned.get("team"),
        owner=cleaned.get("owner"),
    )
    return form, filters


# -- tables: the rows each section shows, and its CSV ----------------------------------------------


@dataclass(frozen=True)
class Money:
    """An amount in a table cell: shown as the reader's locale writes money, written plainly to CSV."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return money(self.amount, self.currency)


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


@dataclass(frozen=True)
class Table:
    """One table of the report: its heading row and its rows, as the page and the CSV show them."""

    header: list[str]
    rows: list[list[Any]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return _text(value.amount)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _month_label(month: Any) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT") if month else _("No expected close date")


def _stage_durations_table(report: Any) -> Table:
    return Table(
        header=[_("Stage"), _("Visits"), _("Average days")],
        rows=[[row.stage.name, row.visits, row.average_days] for row in report],
    )


def _conversion_table(report: Any) -> Table:
    return Table(
        header=[_("Stage"), _("Deals reached"), _("Went on to the next step"), _("Conversion (%)")],
        rows=[
            [row.stage.name if row.stage else _("Won"), row.reached, row.advanced, row.rate]
            for row in report
        ],
    )


def _win_rate_table(report: Any) -> Table:
    rows = [[row.owner_name, row.won, row.lost, row.rate] for row in report.by_owner]
    total = report.total
    rows.append([_("Everyone"), total.won, total.lost, total.rate])
    return Table(header=[_("Owner"), _("Won"), _("Lost"), _("Win rate (%)")], rows=rows)


def _cycle_table(cycle: Any, velocity: Any) -> Table:
    return Table(
        header=[_("Measure"), _("Value")],
        rows=[
            [_("Won deals"), cycle.deals],
            [_("Average sales cycle (days)"), cycle.average_days],
            [_("Median sales cycle (days)"), cycle.median_days],
            [_("Open deals"), velocity.open_deals],
            [
                _("Average won amount (%(currency)s)") % {"currency": velocity.currency},
                _money(velocity.average_won_amount, velocity.currency),
            ],
            [_("Win rate (%)"), velocity.win_rate],
            [
                _("Pipeline velocity per day (%(currency)s)") % {"currency": velocity.currency},
                _money(velocity.per_day, velocity.currency),
            ],
        ],
    )


def _forecast_table(report: Forecast) -> Table:
    currency = report.currency

    def cells(label: str, month: Any) -> list[Any]:
        return [
            label,
            month.open_deals,
            Money(month.weighted, currency),
            Money(month.committed, currency),
            Money(month.best_case, currency),
            month.won_deals,
            Money(month.closed, currency),
        ]

    rows = [cells(_month_label(month.month), month) for month in report.months]
    rows.append(cells(_("Total"), report.total))
    return Table(
        header=[
            _("Month"),
            _("Open deals"),
            _("Weighted (%(currency)s)") % {"currency": currency},
            _("Committed (%(currency)s)") % {"currency": currency},
            _("Best case (%(currency)s)") % {"currency": currency},
            _("Won deals"),
            _("Closed (%(currency)s)") % {"currency": currency},
        ],
        rows=rows,
    )


def _lead_response_table(report: Any) -> Table:
    def cells(name: str, row: Any) -> list[Any]:
        return [
            name,
            row.leads,
            row.responded,
            row.without_response,
            row.average_hours,
            row.median_hours,
        ]

    rows = [cells(row.owner_name, row) for row in report.by_owner]
    rows.append(cells(_("Everyone"), report.total))
    return Table(
        header=[
            _("Owner"),
            _("Leads"),
            _("With an activity"),
            _("Without an activity yet"),
            _("Average hours"),
            _("Median hours"),
        ],
        rows=rows,
    )


def _tables(request: HttpRequest, filters: ReportFilters) -> dict[str, Any]:
    """Every report of the page, computed once."""
    actor = request.user
    durations = report_stage_durations(actor, filters)
    conversion = report_stage_conversion(actor, filters)
    win_rate = report_win_rate(actor, filters)
    cycle, velocity = report_cycle_and_velocity(actor, filters, win_rate=win_rate)
    forecast = report_forecast(actor, filters)
    leads = report_lead_response(actor, filters)
    return {
        "durations": durations,
        "conversion": conversion,
        "win_rate": win_rate,
        "cycle": cycle,
        "velocity": velocity,
        "forecast": forecast,
        "leads": leads,
    }


# What each CSV holds: the table's name in the address, and how to make it from the filters.
CSV_TABLES: dict[str, Callable[[Any, ReportFilters], Table]] = {
    "stage-durations": lambda actor, f: _stage_durations_table(report_stage_durations(actor, f)),
    "conversion": lambda actor, f: _conversion_table(report_stage_conversion(actor, f)),
    "win-rate": lambda actor, f: _win_rate_table(report_win_rate(actor, f)),
    "sales-cycle": lambda actor, f: _cycle_table(*report_cycle_and_velocity(actor, f)),
    "forecast": lambda actor, f: _forecast_table(report_forecast(actor, f)),
    "lead-response": lambda actor, f: _lead_response_table(report_lead_response(actor, f)),
}


def _csv_rows(table: Table) -> Iterable[list[str]]:
    yield [spreadsheet_safe(cell) for cell in table.header]
    for row in table.rows:
        yield [spreadsheet_safe(_text(cell)) for cell in row]


def csv_content(table: Table) -> str:
    """``table`` as CSV text for spreadsheets: a byte order mark, CRLF lines, no formula cells."""
    buffer = io.StringIO()
    # The byte order mark tells Excel the file is UTF-8 (else accents come out garbled).
    buffer.write("\ufeff")
    csv.writer(buffer).writerows(_csv_rows(table))
    return buffer.getvalue()


# -- charts --------------------------------------------------------------------------------------


def _number(value: Decimal | int | None) -> str | None:
    return None if value is None else _text(value)


def _charts(reports: dict[str, Any]) -> dict[str, Any]:
    """The data of each chart, for static/js/charts.js (numbers as text: Decimals stay exact)."""
    forecast: Forecast = reports["forecast"]
    months = [month for month in forecast.months if month.month is not None]
    return {
        "durations": {
            "type": "bar",
            "labels": [row.stage.name for row in reports["durations"]],
            "datasets": [
                {
                    "label": _("Average days"),
                    "data": [_number(row.average_days) for row in reports["durations"]],
                }
            ],
        },
        "conversion": {
            "type": "bar",
            "horizontal": True,
            "labels": [row.stage.name if row.stage else _("Won") for row in reports["conversion"]],
            "datasets": [
                {
                    "label": _("Deals reached"),
                    "data": [row.reached for row in reports["conversion"]],
                }
            ],
        },
        "forecast": {
            "type": "bar",
            "labels": [_month_label(month.month) for month in months],
            "datasets": [
                {"label": _("Weighted"), "data": [_number(m.weighted) for m in months]},
                {"label": _("Committed"), "data": [_number(m.committed) for m in months]},
                {"label": _("Best case"), "data": [_number(m.best_case) for m in months]},
                {
                    "label": _("Closed"),
                    "data": [_number(m.closed) for m in months],
                    "type": "line",
                },
            ],
        },
    }


# -- pages ---------------------------------------------------------------------------------------


def _is_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return bool(htmx.target == target and not htmx.history_restore_request)


def _page(
    request: HttpRequest, form: ReportFilterForm, filters: ReportFilters | None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "nav": "reports",
        "form": form,
        "filters": filters,
        "query": request.GET.urlencode(),
        "committed_probability": COMMITTED_PROBABILITY,
    }
    if filters is not None:
        reports = _tables(request, filters)
        context.update(reports)
        context["tables"] = {
            "durations": _stage_durations_table(reports["durations"]),
            "conversion": _conversion_table(reports["conversion"]),
            "win_rate": _win_rate_table(reports["win_rate"]),
            "cycle": _cycle_table(reports["cycle"], reports["velocity"]),
            "forecast": _forecast_table(reports["forecast"]),
            "leads": _lead_response_table(reports["leads"]),
        }
        context["charts"] = json.dumps(_charts(reports))
    template = "sales/reports.html"
    if _is_partial(request, "report"):
        template += "#report"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_REPORTS)
    form, filters = _filters_from(request)
    return _page(request, form, filters)


@login_required
@require_GET
def report_csv(request: HttpRequest, table: str) -> HttpResponse:
    require_perm(request.user, Perm.SALES_REPORTS)
    make = CSV_TABLES.get(table)
    if make is None:
        raise Http404
    form, filters = _filters_from(request)
    if filters is None:
        # An invalid filter (or no pipeline at all): the page says what is wrong.
        return _page(request, form, None, status=400 if form.errors else 404)
    content = csv_content(make(request.user, filters))
    response = HttpResponse(content.encode("utf-8"), content_type="text/csv; charset=utf-8")
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="sales-{table}-{day}.csv"'
    # Figures of other people's work: never kept by a shared cache or the browser's.
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("reports/sales/", report_page, name="reports"),
    path("reports/sales/<slug:table>.csv", report_csv, name="report_csv"),
]
