"""The board: a pipeline's deals in one column per stage, moved by dragging (static/js/board.js) or,
without JavaScript, with each card's "Move to" form. Both post to ``deal_move``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clientela.core.exceptions import ConflictError
from clientela.core.permissions import Perm, has_perm, require_perm
from clientela.sales.choices import StageOutcome
from clientela.sales.filters import BoardFilterForm
from clientela.sales.models import Stage
from clientela.sales.selectors import (
    board_columns,
    close_reasons_active,
    deal_get,
    pipeline_default,
)
from clientela.sales.services import deal_move_to_stage
from clientela.sales.views.deals import safe_next

# board.js says so in this header: it wants the board back (or a message), never a redirect.
SCRIPT_HEADER = "X-Board"


def _board_context(request: HttpRequest, source: Any) -> dict[str, Any] | None:
    """The board that ``source`` (the query, or a move's POST) asks for; None without a pipeline."""
    actor = request.user
    form = BoardFilterForm(
        {key: source.get(key, "") for key in ("pipeline", "owner", "team")}, actor=actor
    )
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    pipeline = data.get("pipeline") or pipeline_default(actor)
    if pipeline is None:
        return None
    if not data.get("pipeline"):
        form = BoardFilterForm(
            {
                "pipeline": pipeline.pk,
                "owner": source.get("owner", ""),
                "team": source.get("team", ""),
            },
            actor=actor,
        )
        form.is_valid()
    filters = {"owner": data.get("owner"), "team": data.get("team")}
    columns = board_columns(actor, pipeline, filters)
    query = {"pipeline": pipeline.pk}
    if filters["owner"] is not None:
        query["owner"] = filters["owner"].pk
    if filters["team"] is not None:
        query["team"] = filters["team"].pk
    return {
        "nav": "board",
        "form": form,
        "pipeline": pipeline,
        "columns": columns,
        "stages": [column.stage for column in columns],
        "board_query": query,
        "board_url": f"{reverse('sales:deal_board')}?{urlencode(query)}",
        "can_move": has_perm(actor, Perm.SALES_CHANGE),
    }


@login_required
def deal_board(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_VIEW)
    context = _board_context(request, request.GET)
    if context is None:
        return render(request, "sales/board_empty.html", {"nav": "board"})
    context["won_reasons"] = list(close_reasons_active(StageOutcome.WON))
    context["lost_reasons"] = list(close_reasons_active(StageOutcome.LOST))
    template = "sales/board.html"
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "board" and not htmx.history_restore_request:
        response = render(request, f"{template}#board", context)
    else:
        response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _refused(request: HttpRequest, message: str, status: int, back: str) -> HttpResponse:
    if request.headers.get(SCRIPT_HEADER):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect(back)


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to the posted ``stage``; answers board.js with the updated board, and a page
    with a redirect back to ``next`` (a won or lost stage without a reason: to the close form)."""
    is_script = bool(request.headers.get(SCRIPT_HEADER))
    try:
        deal = deal_get(request.user, pk)
    except Http404:
        if is_script:
            return HttpResponse(
                _("This deal no longer exists, or you cannot see it."),
                status=404,
                content_type="text/plain; charset=utf-8",
            )
        raise
    if not has_perm(request.user, Perm.SALES_CHANGE):
        if is_script:
            return HttpResponse(
                _("Your role does not allow moving deals."),
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        raise PermissionDenied(_("Your role does not allow moving deals."))
    back = safe_next(request, reverse("sales:deal_detail", args=[deal.pk]))
    stage_id = request.POST.get("stage", "")
    stage = (
        Stage.objects.filter(pk=stage_id, pipeline_id=deal.pipeline_id).first()
        if stage_id.isdigit()
        else None
    )
    if stage is None:
        return _refused(request, _("Choose a stage of the deal's pipeline."), 400, back)
    reason = request.POST.get("close_reason", "")
    if stage.is_closed and not reason and not is_script:
        query = urlencode({"stage": stage.pk, "next": back})
        return redirect(f"{reverse('sales:deal_close', args=[deal.pk])}?{query}")
    version = request.POST.get("version", "")
    try:
        deal_move_to_stage(
            actor=request.user,
            deal=deal,
            stage=stage,
            expected_version=int(version) if version.isdigit() else None,
            close_reason=int(reason) if reason.isdigit() else None,
            close_note=request.POST.get("close_note", ""),
        )
    except PermissionDenied as error:
        return _refused(request, str(error) or _("Your role does not allow this."), 403, back)
    except ConflictError:
        return _refused(
            request,
            _("Someone changed %(name)s meanwhile; reload the board to see it as it is now.")
            % {"name": deal},
            409,
            back,
        )
    except ValidationError as error:
        return _refused(request, " ".join(error.messages), 400, back)
    except ObjectDoesNotExist:
        return _refused(request, _("This deal no longer exists, or you cannot see it."), 404, back)
    if is_script:
        context = _board_context(request, request.POST)
        if context is None:
            raise Http404
        return render(request, "sales/board.html#board", context)
    messages.success(
        request, _("%(name)s moved to %(stage)s.") % {"name": deal, "stage": stage.name}
    )
    return redirect(back)


urlpatterns: list[Any] = [
    path("deals/board/", deal_board, name="deal_board"),
    path("deals/<int:pk>/move/", deal_move, name="deal_move"),
]
