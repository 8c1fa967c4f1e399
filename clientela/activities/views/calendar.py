"""Pages of the calendar: a month of one's meetings and tasks, and one's private iCalendar feed."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from typing import Any

from babel import Locale
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from clientela.activities.feeds import calendar_feed_render
from clientela.activities.selectors import calendar_feed_of, calendar_items
from clientela.activities.services import (
    calendar_feed_authenticate,
    calendar_feed_create,
    calendar_feed_revoke,
)
from clientela.core.locale import babel_locale
from clientela.core.permissions import Perm, require_perm


def _month_of(value: str | None, today: dt.date) -> dt.date:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


@login_required
def calendar_view(request: HttpRequest) -> HttpResponse:
    """One month (``?month=2026-11``) of one's meetings and tasks, in one's own time zone."""
    require_perm(request.user, Perm.ACTIVITIES_VIEW)
    today = timezone.localdate()
    first = _month_of(request.GET.get("month"), today)
    if not 1 <= first.year <= 9998:
        raise Http404
    # Weeks start on the day the reader's locale starts them (Monday in most, Sunday in the US).
    first_weekday = Locale.parse(babel_locale()).first_week_day
    weeks = pycalendar.Calendar(firstweekday=first_weekday).monthdatescalendar(
        first.year, first.month
    )
    start, end = weeks[0][0], weeks[-1][-1] + dt.timedelta(days=1)
    items = calendar_items(request.user, _midnight(start), _midnight(end))
    previous_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    context = {
        "nav": "calendar",
        "month": first,
        "weekdays": [weeks[0][index] for index in range(7)],
        "weeks": [
            [
                {"date": day, "items": items.get(day, []), "in_month": day.month == first.month}
                for day in week
            ]
            for week in weeks
        ],
        "today": today,
        "previous_url": f"{reverse('activities:calendar')}?month={previous_month:%Y-%m}",
        "next_url": f"{reverse('activities:calendar')}?month={next_month:%Y-%m}",
        "today_url": reverse("activities:calendar"),
    }
    return render(request, "activities/calendar.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def calendar_feed_settings(request: HttpRequest) -> HttpResponse:
    """Create, replace or revoke one's private feed address; a new address is shown once, here."""
    require_perm(request.user, Perm.ACTIVITIES_VIEW)
    address = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if calendar_feed_revoke(actor=request.user):
                messages.success(request, _("Your calendar feed address no longer works."))
            return redirect("activities:calendar_feed")
        issued = calendar_feed_create(actor=request.user)
        path_ = reverse("activities:calendar_feed_ics", args=[issued.token])
        address = request.build_absolute_uri(path_)
    context = {"nav": "calendar", "feed": calendar_feed_of(request.user), "address": address}
    return render(request, "activities/calendar_feed.html", context)


@require_GET
@never_cache
def calendar_feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself, for calendar clients: no login, the secret in the address opens it."""
    user = calendar_feed_authenticate(token)
    if user is None:
        raise Http404
    response = HttpResponse(calendar_feed_render(user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="clientela.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


urlpatterns: list[Any] = [
    path("calendar/", calendar_view, name="calendar"),
    path("calendar/feed/", calendar_feed_settings, name="calendar_feed"),
    path("calendar/feed/<str:token>.ics", calendar_feed_ics, name="calendar_feed_ics"),
]
