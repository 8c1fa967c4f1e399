"""Pages of tasks: My day, creating and changing tasks, marking them done; and the notifications."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clientela.activities.forms import QuickTaskForm, TaskForm
from clientela.activities.selectors import my_day, record_get, task_get
from clientela.activities.services import (
    task_complete,
    task_create,
    task_delete,
    task_may_change,
    task_reopen,
    task_update,
)
from clientela.activities.views.activities import safe_next
from clientela.core.exceptions import ConflictError
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import notifications_of
from clientela.core.services import notifications_mark_read

NOTIFICATIONS_PER_PAGE = 50


def _htmx_target(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target or ""


def _my_day_context(request: HttpRequest, quick_form: Any = None) -> dict[str, Any]:
    return {
        "nav": "my_day",
        "day": my_day(request.user),
        "quick_form": quick_form or QuickTaskForm(actor=request.user),
    }


def _my_day_response(request: HttpRequest, quick_form: Any = None) -> HttpResponse:
    context = _my_day_context(request, quick_form)
    if _htmx_target(request) == "my-day-tasks":
        response = render(request, "activities/my_day.html#tasks", context)
    else:
        response = render(request, "activities/my_day.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
def my_day_view(request: HttpRequest) -> HttpResponse:
    """Overdue, today's and the coming week's open tasks, and the deals that need a next step."""
    require_perm(request.user, Perm.ACTIVITIES_VIEW)
    return _my_day_response(request)


def _record_of(request: HttpRequest) -> dict[str, Any]:
    source = request.POST if request.method == "POST" else request.GET
    record_type = source.get("record_type", "")
    if not record_type:
        return {}
    return {record_type: record_get(request.user, record_type, source.get("record_id"))}


@login_required
@require_http_methods(["GET", "POST"])
def task_create_view(request: HttpRequest) -> HttpResponse:
    """A new task (the full form, or My day's quick add, which answers My day's task lists)."""
    require_perm(request.user, Perm.ACTIVITIES_ADD)
    record = _record_of(request)
    is_quick = request.POST.get("quick") == "1"
    form_class = QuickTaskForm if is_quick else TaskForm
    initial = {}
    if record:
        ((record_type, instance),) = record.items()
        initial = {"record_type": record_type, "record_id": instance.pk}
    if request.method == "POST":
        form = form_class(request.POST, actor=request.user, initial=initial)
        if form.is_valid():
            try:
                task = task_create(actor=request.user, **form.service_values(), **record)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if is_quick and _htmx_target(request) == "my-day-tasks":
                    return _my_day_response(request)
                messages.success(request, _("The task “%(title)s” was created.") % {"title": task})
                return redirect(safe_next(request, reverse("activities:my_day")))
        if is_quick and _htmx_target(request) == "my-day-tasks":
            return _my_day_response(request, quick_form=form)
    else:
        form = TaskForm(actor=request.user, initial=initial)
    context = {
        "nav": "my_day",
        "form": form,
        "task": None,
        "record": next(iter(record.values()), None),
        "next": safe_next(request, ""),
    }
    return render(request, "activities/task_form.html", context)


def _task_for_change(request: HttpRequest, pk: int) -> Any:
    task = task_get(request.user, pk)
    if not task_may_change(request.user, task):
        require_perm(request.user, Perm.ACTIVITIES_ADD)
        raise Http404
    return task


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    if request.method == "POST":
        form = TaskForm(request.POST, actor=request.user, task=task)
        if form.is_valid():
            try:
                task_update(
                    actor=request.user,
                    task=task,
                    expected_version=_int(request.POST.get("version")),
                    **form.service_values(),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            except ConflictError:
                form.add_error(
                    None, _("Someone else changed this task meanwhile: reload the page to see it.")
                )
            except ObjectDoesNotExist as error:
                raise Http404 from error
            else:
                messages.success(
                    request, _("Your changes to “%(title)s” were saved.") % {"title": task}
                )
                return redirect(safe_next(request, reverse("activities:my_day")))
    else:
        form = TaskForm(actor=request.user, task=task)
    context = {
        "nav": "my_day",
        "form": form,
        "task": task,
        "record": None,
        "next": safe_next(request, ""),
    }
    return render(request, "activities/task_form.html", context)


def _done_or_reopened(request: HttpRequest, pk: int, service: Any, message: str) -> HttpResponse:
    task = _task_for_change(request, pk)
    try:
        task = service(actor=request.user, task=task)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    if _htmx_target(request) == "my-day-tasks":
        return _my_day_response(request)
    messages.success(request, message % {"title": task})
    return redirect(safe_next(request, reverse("activities:my_day")))


@login_required
@require_POST
def task_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _done_or_reopened(request, pk, task_complete, _("“%(title)s” is done."))


@login_required
@require_POST
def task_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _done_or_reopened(request, pk, task_reopen, _("“%(title)s” is open again."))


@login_required
@require_http_methods(["GET", "POST"])
def task_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    if request.method == "POST":
        try:
            task_delete(actor=request.user, task=task)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        messages.success(request, _("The task “%(title)s” was deleted.") % {"title": task})
        return redirect(safe_next(request, reverse("activities:my_day")))
    return render(
        request,
        "activities/task_confirm_delete.html",
        {"nav": "my_day", "task": task, "next": safe_next(request, "")},
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# -- notifications -----------------------------------------------------------------------------


@login_required
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The bell's unread count, loaded by htmx after the page: no page pays a query for it."""
    return render(request, "core/_notifications.html#badge", {})


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """One's own notifications, newest first, unread ones marked."""
    page = CappedPaginator(notifications_of(request.user), NOTIFICATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "activities/notification_list.html", {"nav": "notifications", "page": page}
    )


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one's notifications read: the ones whose ids are posted, else all of them."""
    ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
    notifications_mark_read(user=request.user, ids=ids or None)
    return redirect(safe_next(request, reverse("activities:notification_list")))


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a notification read and go where it points (a page of this site only)."""
    notification = get_object_or_404(notifications_of(request.user), pk=pk)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("activities:notification_list")
    return redirect(target)


urlpatterns: list[Any] = [
    path("my-day/", my_day_view, name="my_day"),
    path("tasks/new/", task_create_view, name="task_create"),
    path("tasks/<int:pk>/", task_edit, name="task_edit"),
    path("tasks/<int:pk>/complete/", task_complete_view, name="task_complete"),
    path("tasks/<int:pk>/reopen/", task_reopen_view, name="task_reopen"),
    path("tasks/<int:pk>/delete/", task_delete_view, name="task_delete"),
    path("notifications/", notification_list, name="notification_list"),
    path("notifications/badge/", notification_badge, name="notification_badge"),
    path("notifications/read/", notification_read, name="notification_read"),
    path("notifications/<int:pk>/open/", notification_open, name="notification_open"),
]
