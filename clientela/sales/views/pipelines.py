"""Settings pages for administrators: pipelines with their stages, and close reasons."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clientela.core.exceptions import ConflictError
from clientela.core.permissions import Perm, require_perm
from clientela.sales.forms import CloseReasonForm, PipelineForm, StageFormSet, stage_rows
from clientela.sales.models import Pipeline
from clientela.sales.selectors import close_reason_get, close_reasons_visible_to, pipeline_get
from clientela.sales.selectors import pipelines_visible_to as _pipelines
from clientela.sales.services import (
    close_reason_create,
    close_reason_delete,
    close_reason_update,
    pipeline_create,
    pipeline_delete,
    pipeline_stages_set,
    pipeline_update,
)


@login_required
def pipeline_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    context = {
        "nav": "settings",
        "pipelines": list(_pipelines(request.user)),
        "close_reasons": list(close_reasons_visible_to(request.user)),
    }
    return render(request, "sales/pipeline_list.html", context)


def _stage_initial(pipeline: Pipeline | None) -> list[dict[str, Any]] | None:
    if pipeline is None:
        return None
    return [
        {
            "id": stage.pk,
            "name": stage.name,
            "probability": stage.probability,
            "outcome": stage.outcome,
            "stale_after_days": stage.stale_after_days,
        }
        for stage in pipeline.stages.all()
    ]


def _pipeline_form_page(request: HttpRequest, pipeline: Pipeline | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = PipelineForm(data, pipeline=pipeline)
    # Rows are read from what was posted (each carries its stage id); the initial rows only fill
    # the page, so an unchanged row is never taken for an empty one.
    initial = _stage_initial(pipeline) if data is None else None
    stages = StageFormSet(data, prefix="stages", initial=initial)
    stage_errors: list[str] = []
    is_conflict = False
    if request.method == "POST" and all([form.is_valid(), stages.is_valid()]):
        values = {name: form.cleaned_data[name] for name in ("name", "currency", "is_active")}
        try:
            with transaction.atomic():
                if pipeline is None:
                    saved = pipeline_create(actor=request.user, stages=stage_rows(stages), **values)
                else:
                    saved = pipeline_update(
                        actor=request.user,
                        pipeline=pipeline,
                        expected_version=form.cleaned_data.get("version"),
                        **values,
                    )
                    pipeline_stages_set(
                        actor=request.user, pipeline=saved, stages=stage_rows(stages)
                    )
        except ValidationError as error:
            stage_errors = form.add_service_errors(error).get("stages", [])
        except ConflictError:
            is_conflict = True
        else:
            messages.success(request, _("The pipeline %(name)s was saved.") % {"name": saved})
            return redirect("sales:pipeline_list")
    context = {
        "nav": "settings",
        "pipeline": pipeline,
        "form": form,
        "stages": stages,
        "stage_errors": stage_errors,
        "is_conflict": is_conflict,
    }
    return render(request, "sales/pipeline_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def pipeline_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _pipeline_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _pipeline_form_page(request, pipeline_get(request.user, pk))


@login_required
@require_http_methods(["GET", "POST"])
def pipeline_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    pipeline = pipeline_get(request.user, pk)
    error_messages: list[str] = []
    if request.method == "POST":
        try:
            pipeline_delete(actor=request.user, pipeline=pipeline)
        except ValidationError as error:
            error_messages = error.messages
        else:
            messages.success(request, _("The pipeline %(name)s was deleted.") % {"name": pipeline})
            return redirect("sales:pipeline_list")
    context = {"nav": "settings", "pipeline": pipeline, "errors": error_messages}
    return render(request, "sales/pipeline_confirm_delete.html", context)


def _close_reason_form_page(request: HttpRequest, reason: Any) -> HttpResponse:
    initial = None
    if reason is not None:
        initial = {"outcome": reason.outcome, "name": reason.name, "is_active": reason.is_active}
    else:
        initial = {"outcome": request.GET.get("outcome", "lost")}
    form = CloseReasonForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if reason is None:
                saved = close_reason_create(actor=request.user, **form.cleaned_data)
            else:
                saved = close_reason_update(
                    actor=request.user, close_reason=reason, **form.cleaned_data
                )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The reason %(name)s was saved.") % {"name": saved})
            return redirect("sales:pipeline_list")
    context = {"nav": "settings", "reason": reason, "form": form}
    return render(request, "sales/close_reason_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def close_reason_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _close_reason_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def close_reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _close_reason_form_page(request, close_reason_get(request.user, pk))


@login_required
@require_http_methods(["POST"])
def close_reason_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    reason = close_reason_get(request.user, pk)
    if close_reason_delete(actor=request.user, close_reason=reason):
        messages.success(request, _("The reason %(name)s was deleted.") % {"name": reason})
    else:
        messages.success(
            request,
            _("Deals were closed with %(name)s, so it was deactivated instead of deleted.")
            % {"name": reason},
        )
    return redirect("sales:pipeline_list")


urlpatterns: list[Any] = [
    path("settings/pipelines/", pipeline_list, name="pipeline_list"),
    path("settings/pipelines/new/", pipeline_create_view, name="pipeline_create"),
    path("settings/pipelines/<int:pk>/", pipeline_edit, name="pipeline_edit"),
    path("settings/pipelines/<int:pk>/delete/", pipeline_delete_view, name="pipeline_delete"),
    path("settings/close-reasons/new/", close_reason_create_view, name="close_reason_create"),
    path("settings/close-reasons/<int:pk>/", close_reason_edit, name="close_reason_edit"),
    path(
        "settings/close-reasons/<int:pk>/delete/",
        close_reason_delete_view,
        name="close_reason_delete",
    ),
]
