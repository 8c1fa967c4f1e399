"""Pages of activities: the "Log activity" form of record pages (htmx), editing and deleting one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clientela.activities.forms import ActivityForm
from clientela.activities.selectors import activity_get, record_get, record_type_name
from clientela.activities.services import (
    activity_delete,
    activity_log,
    activity_may_change,
    activity_update,
)
from clientela.activities.templatetags.activities import record_url
from clientela.core.exceptions import ConflictError
from clientela.core.permissions import Perm, require_perm


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` address the request names when it is on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _relation_of(record: Any) -> dict[str, list[Any]]:
    return {f"{record_type_name(record)}s": [record]}


@login_required
@require_http_methods(["GET", "POST"])
def activity_log_view(request: HttpRequest) -> HttpResponse:
    """Log an activity on one record: the form's kind tabs load here with htmx, and a POST answers the
    record's refreshed activity block (htmx) or goes back to the record's page."""
    require_perm(request.user, Perm.ACTIVITIES_ADD)
    source = request.POST if request.method == "POST" else request.GET
    record = record_get(request.user, source.get("record_type", ""), source.get("record_id"))
    kind = source.get("kind", "note")
    record_type = record_type_name(record)
    initial = {"record_type": record_type, "record_id": record.pk}
    if request.method == "GET":
        form = ActivityForm(actor=request.user, kind=kind, initial=initial)
        template = (
            "activities/_activity_form.html"
            if _is_htmx(request)
            else "activities/activity_log.html"
        )
        response = render(
            request,
            template,
            {
                "form": form,
                "record": record,
                "record_type": record_type,
                "record_url": record_url(record),
            },
        )
        patch_vary_headers(response, ("HX-Request",))
        return response
    form = ActivityForm(request.POST, actor=request.user, kind=kind, initial=initial)
    saved = None
    if form.is_valid():
        try:
            values = {**form.service_values(), **_relation_of(record)}
            saved = activity_log(actor=request.user, **values)
        except ValidationError as error:
            form.add_service_errors(error)
    if saved is not None and not _is_htmx(request):
        messages.success(request, _("The activity was logged."))
        return redirect(record_url(record) or "activities:my_day")
    if not _is_htmx(request):
        return render(
            request,
            "activities/activity_log.html",
            {
                "form": form,
                "record": record,
                "record_type": record_type,
                "record_url": record_url(record),
            },
        )
    context = {"record": record, "activity_form": None if saved is not None else form}
    return render(request, "activities/_record_activities.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = activity_get(request.user, pk)
    if not activity_may_change(request.user, activity):
        require_perm(request.user, Perm.ACTIVITIES_ADD)
        raise Http404
    back = safe_next(request, _back_of(activity))
    if request.method == "POST":
        form = ActivityForm(request.POST, actor=request.user, kind=activity.kind)
        if form.is_valid():
            values = form.service_values()
            values.pop("kind")
            try:
                activity_update(
                    actor=request.user,
                    activity=activity,
                    expected_version=_int(request.POST.get("version")),
                    **values,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            except ConflictError:
                form.add_error(
                    None,
                    _("Someone else changed this activity meanwhile: reload the page to see it."),
                )
            except ObjectDoesNotExist as error:
                raise Http404 from error
            else:
                messages.success(request, _("Your changes were saved."))
                return redirect(back)
    else:
        form = ActivityForm(
            actor=request.user, kind=activity.kind, initial=ActivityForm.initial_from(activity)
        )
    context = {"nav": "", "activity": activity, "form": form, "back": back}
    return render(request, "activities/activity_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def activity_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    activity = activity_get(request.user, pk)
    if not activity_may_change(request.user, activity):
        require_perm(request.user, Perm.ACTIVITIES_ADD)
        raise Http404
    back = safe_next(request, _back_of(activity))
    if request.method == "POST":
        try:
            activity_delete(actor=request.user, activity=activity)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        messages.success(request, _("The activity was deleted."))
        return redirect(back)
    return render(
        request, "activities/activity_confirm_delete.html", {"activity": activity, "back": back}
    )


def _back_of(activity: Any) -> str:
    for name in ("contacts", "organizations", "deals", "leads"):
        for record in getattr(activity, name).all()[:1]:
            url = record_url(record)
            if url:
                return url
    from django.urls import reverse

    return reverse("activities:my_day")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


urlpatterns: list[Any] = [
    path("activities/log/", activity_log_view, name="activity_log"),
    path("activities/<int:pk>/edit/", activity_edit, name="activity_edit"),
    path("activities/<int:pk>/delete/", activity_delete_view, name="activity_delete"),
]
