"""Pages of deals: the list, a deal with its products, stage history and timeline, the form, closing
as won or lost, and deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from clientela.core.exceptions import ConflictError
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, has_perm, require_perm
from clientela.core.selectors import events_of
from clientela.core.timeline import event_entries
from clientela.sales.choices import StageOutcome
from clientela.sales.filters import DealFilterSet
from clientela.sales.forms import CloseForm, DealFormGroup
from clientela.sales.models import Deal, Stage
from clientela.sales.selectors import (
    deal_get,
    deal_stage_history,
    deals_listed_to,
    pipeline_default,
    pipelines_visible_to,
)
from clientela.sales.services import (
    deal_create,
    deal_delete,
    deal_move_to_stage,
    deal_update,
    line_items_total,
)

PAGE_SIZES = (25, 50, 100)
TIMELINE_STEP = 50


# -- shared by the deal pages and the board ----------------------------------------------------


def is_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target == target and not htmx.history_restore_request


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` the request names when it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def closed_stage_of(deal: Deal, outcome: str) -> Stage | None:
    """The pipeline's won (or lost) stage."""
    return Stage.objects.filter(pipeline_id=deal.pipeline_id, outcome=outcome).first()


# -- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    sort: str | None = None


COLUMNS = (
    Column("organization", gettext_lazy("Organization")),
    Column("stage", gettext_lazy("Stage"), "stage"),
    Column("amount", gettext_lazy("Amount"), "amount"),
    Column("expected_close", gettext_lazy("Expected close"), "expected_close"),
    Column("owner", gettext_lazy("Owner"), "owner"),
    Column("created", gettext_lazy("Created"), "created"),
)


def _page_sizes() -> list[int]:
    return sorted({*PAGE_SIZES, settings.CLIENTELA_LIST_PAGE_SIZE})


def _page_size(value: str | None) -> int:
    default = settings.CLIENTELA_LIST_PAGE_SIZE
    try:
        size = int(value or default)
    except ValueError:
        return default
    return size if size in _page_sizes() else default


def _filter_data(request: HttpRequest, sort_keys: list[str]) -> QueryDict:
    data = request.GET.copy()
    for name in ("page", "per_page"):
        data.pop(name, None)
    if data.get("sort", "").strip().lstrip("-") not in sort_keys:
        data.pop("sort", None)
    return data


def _sort_headers(columns: list[Column], current: str) -> list[dict[str, Any]]:
    current = current or "-created"
    key, descending = current.lstrip("-"), current.startswith("-")
    headers = []
    for column in columns:
        state = None
        if column.sort is not None and column.sort == key:
            state = "descending" if descending else "ascending"
        next_sort = None
        if column.sort is not None:
            next_sort = f"-{column.sort}" if state == "ascending" else column.sort
        headers.append({"column": column, "state": state, "next_sort": next_sort})
    return headers


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_VIEW)
    sort_keys = DealFilterSet.base_filters["sort"].keys()
    data = _filter_data(request, sort_keys)
    filterset = DealFilterSet(data=data, queryset=deals_listed_to(request.user), request=request)
    per_page = _page_size(request.GET.get("per_page"))
    page = CappedPaginator(filterset.qs, per_page).get_page(request.GET.get("page"))
    sort = data.get("sort", "").strip()
    context = {
        "nav": "deals",
        "form_id": "deals-filters",
        "filterset": filterset,
        "filter_fields": [
            field
            for field in filterset.form
            if field.name not in ("q", "sort") and not field.is_hidden
        ],
        "hidden_filter_fields": [field for field in filterset.form if field.is_hidden],
        "page": page,
        "per_page": per_page,
        "page_sizes": _page_sizes(),
        "sort": sort,
        "title_header": _sort_headers([Column("title", "", "title")], sort)[0],
        "headers": _sort_headers(list(COLUMNS), sort),
        "is_filtered": any(value for key, value in data.lists() if key != "sort" and any(value)),
    }
    template = "sales/deal_list.html"
    if is_partial(request, "results"):
        response = render(request, f"{template}#results", context)
    else:
        response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


# -- a deal ------------------------------------------------------------------------------------


def _timeline_context(request: HttpRequest, deal: Deal) -> dict[str, Any]:
    try:
        limit = max(TIMELINE_STEP, int(request.GET.get("events", TIMELINE_STEP)))
    except ValueError:
        limit = TIMELINE_STEP
    limit = min(limit, 5000)
    events = list(events_of(deal)[: limit + 1])
    query = request.GET.copy()
    query["events"] = str(limit + TIMELINE_STEP)
    return {
        "entries": event_entries(events[:limit], model=Deal),
        "has_more": len(events) > limit,
        "more_url": f"{request.path}?{query.urlencode()}",
    }


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_VIEW)
    deal = deal_get(request.user, pk)
    stages = list(deal.pipeline.stages.all())
    line_items = list(deal.line_items.all())
    context = {
        "nav": "deals",
        "deal": deal,
        "line_items": line_items,
        "line_items_total": line_items_total(line_items),
        "history": deal_stage_history(deal),
        "stages": stages,
        "won_stage": next((s for s in stages if s.outcome == StageOutcome.WON), None),
        "lost_stage": next((s for s in stages if s.outcome == StageOutcome.LOST), None),
        "can_change": has_perm(request.user, Perm.SALES_CHANGE),
        **_timeline_context(request, deal),
    }
    template = "sales/deal_detail.html"
    if is_partial(request, "timeline"):
        response = render(request, f"{template}#timeline", context)
    else:
        response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _form_page(request: HttpRequest, deal: Deal | None) -> HttpResponse:
    pipeline = None
    if deal is None:
        wanted = request.GET.get("pipeline")
        pipelines = pipelines_visible_to(request.user).filter(is_active=True)
        pipeline = (
            pipelines.filter(pk=wanted).first() if wanted and wanted.isdigit() else None
        ) or pipeline_default(request.user)
        if pipeline is None:
            messages.error(request, _("Deals need a pipeline; an administrator creates one."))
            return redirect("sales:deal_list")
    group = DealFormGroup(
        request.POST if request.method == "POST" else None,
        actor=request.user,
        deal=deal,
        pipeline=pipeline,
    )
    is_conflict = False
    if request.method == "POST" and group.is_valid():
        values = group.service_values()
        try:
            if deal is None:
                saved = deal_create(actor=request.user, **values)
                messages.success(request, _("The deal %(name)s was created.") % {"name": saved})
            else:
                saved = deal_update(
                    actor=request.user,
                    deal=deal,
                    expected_version=group.expected_version,
                    **values,
                )
                messages.success(
                    request, _("Your changes to %(name)s were saved.") % {"name": saved}
                )
        except ValidationError as error:
            group.add_service_errors(error)
        except ConflictError:
            is_conflict = True
        except ObjectDoesNotExist as error:
            raise Http404 from error
        else:
            return redirect("sales:deal_detail", saved.pk)
    context = {
        "nav": "deals",
        "deal": deal,
        "group": group,
        "form": group.form,
        "is_conflict": is_conflict,
    }
    return render(request, "sales/deal_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def deal_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_ADD)
    return _form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_get(request.user, pk)
    require_perm(request.user, Perm.SALES_CHANGE)
    return _form_page(request, deal)


@login_required
@require_http_methods(["GET", "POST"])
def deal_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_get(request.user, pk)
    require_perm(request.user, Perm.SALES_DELETE)
    if request.method == "POST":
        try:
            deal_delete(actor=request.user, deal=deal)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        messages.success(request, _("The deal %(name)s was deleted.") % {"name": deal})
        return redirect("sales:deal_list")
    return render(request, "sales/deal_confirm_delete.html", {"nav": "deals", "deal": deal})


@login_required
@require_http_methods(["GET", "POST"])
def deal_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a deal as won or lost (``?stage=<id>`` or ``?outcome=won|lost``): a reason is required."""
    deal = deal_get(request.user, pk)
    require_perm(request.user, Perm.SALES_CHANGE)
    source = request.POST if request.method == "POST" else request.GET
    stage = None
    stage_id = source.get("stage", "")
    if stage_id.isdigit():
        stage = Stage.objects.filter(pk=stage_id, pipeline_id=deal.pipeline_id).first()
    elif source.get("outcome") in (StageOutcome.WON, StageOutcome.LOST):
        stage = closed_stage_of(deal, source["outcome"])
    if stage is None or not stage.is_closed:
        raise Http404
    detail_url = reverse("sales:deal_detail", args=[deal.pk])
    next_url = safe_next(request, detail_url)
    form = CloseForm(
        request.POST if request.method == "POST" else None,
        stage=stage,
        initial={"stage": stage.pk, "version": deal.version},
    )
    is_conflict = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal_move_to_stage(
                actor=request.user,
                deal=deal,
                stage=stage,
                close_reason=data["close_reason"],
                close_note=data["close_note"],
                expected_version=data.get("version"),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except ConflictError:
            is_conflict = True
        except ObjectDoesNotExist as error:
            raise Http404 from error
        else:
            if stage.outcome == StageOutcome.WON:
                messages.success(request, _("%(name)s was closed as won.") % {"name": deal})
            else:
                messages.success(request, _("%(name)s was closed as lost.") % {"name": deal})
            return redirect(next_url)
    context = {
        "nav": "deals",
        "deal": deal,
        "stage": stage,
        "form": form,
        "next": next_url,
        "cancel_url": next_url,
        "is_conflict": is_conflict,
    }
    return render(request, "sales/close_form.html", context)


urlpatterns: list[Any] = [
    path("deals/", deal_list, name="deal_list"),
    path("deals/new/", deal_create_view, name="deal_create"),
    path("deals/<int:pk>/", deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", deal_edit, name="deal_edit"),
    path("deals/<int:pk>/delete/", deal_delete_view, name="deal_delete"),
    path("deals/<int:pk>/close/", deal_close, name="deal_close"),
]
