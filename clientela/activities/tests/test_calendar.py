"""The calendar page and the private iCalendar feed."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.test import Client
from icalendar import Calendar

from clientela.activities.models import CalendarFeed
from clientela.activities.services import calendar_feed_create
from clientela.activities.tests.factories import ActivityFactory, TaskFactory

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def rep_client(rep):
    client = Client()
    client.force_login(rep)
    return client


def _meeting(owner, start, **kwargs):
    return ActivityFactory(
        owner=owner,
        kind="meeting",
        occurred_at=start,
        ends_at=start + dt.timedelta(hours=1),
        **kwargs,
    )


def test_the_month_shows_my_meetings_and_tasks_in_my_zone(rep_client, rep, rep_a2):
    rep.time_zone = "Asia/Kolkata"
    rep.save()
    # 20:00 UTC on the 10th is 01:30 on the 11th in India.
    _meeting(rep, dt.datetime(2026, 11, 10, 20, 0, tzinfo=dt.UTC), subject="Late call")
    attended = _meeting(
        rep_a2, dt.datetime(2026, 11, 12, 9, 0, tzinfo=dt.UTC), subject="Their demo"
    )
    attended.attendees.add(rep)
    _meeting(rep_a2, dt.datetime(2026, 11, 12, 9, 0, tzinfo=dt.UTC), subject="Not mine")
    ActivityFactory(owner=rep, kind="note", occurred_at=NOW, subject="A note")
    TaskFactory(owner=rep, title="Offer", due_at=dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))
    TaskFactory(owner=rep_a2, title="Their task", due_at=NOW)

    response = rep_client.get("/calendar/?month=2026-11")

    assert response.status_code == 200
    days = {
        cell["date"]: [item.title for item in cell["items"]]
        for week in response.context["weeks"]
        for cell in week
        if cell["items"]
    }
    assert days == {
        dt.date(2026, 11, 11): ["Late call"],
        dt.date(2026, 11, 12): ["Their demo"],
        dt.date(2026, 11, 23): ["Offer"],
    }
    assert response.context["previous_url"] == "/calendar/?month=2026-10"
    assert response.context["next_url"] == "/calendar/?month=2026-12"


def test_the_calendar_reads_a_fixed_number_of_queries(rep_client, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        rep_client.get("/calendar/?month=2026-11")
    for day in range(1, 20):
        _meeting(rep, dt.datetime(2026, 11, day, 9, 0, tzinfo=dt.UTC))
        TaskFactory(owner=rep, due_at=dt.datetime(2026, 11, day, 9, 0, tzinfo=dt.UTC))
    with CaptureQueriesContext(connection) as many:
        rep_client.get("/calendar/?month=2026-11")

    assert len(many) == len(few)


def test_a_bad_month_shows_this_month(rep_client):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        response = rep_client.get("/calendar/?month=nonsense")

    assert response.context["month"] == dt.date(2026, 11, 1)


def _feed_path(response):
    address = re.search(
        r'value="(http://testserver/calendar/feed/[^"]+\.ics)"', response.content.decode()
    )
    assert address is not None
    return address.group(1).removeprefix("http://testserver")


def test_the_feed_holds_exactly_my_meetings_and_dated_tasks(rep_client, rep, rep_a2):
    mine = _meeting(
        rep, dt.datetime(2030, 1, 2, 9, 0, tzinfo=dt.UTC), subject="Demo", location="HQ"
    )
    attended = _meeting(rep_a2, dt.datetime(2030, 1, 3, 9, 0, tzinfo=dt.UTC), subject="Theirs")
    attended.attendees.add(rep)
    _meeting(rep_a2, dt.datetime(2030, 1, 3, 9, 0, tzinfo=dt.UTC), subject="Not mine")
    ActivityFactory(owner=rep, kind="call", subject="A call")
    task = TaskFactory(
        owner=rep, title="Offer", due_at=dt.datetime(2030, 1, 4, 15, 0, tzinfo=dt.UTC)
    )
    TaskFactory(owner=rep, title="Undated")
    TaskFactory(owner=rep_a2, title="Their task", due_at=dt.datetime(2030, 1, 4, tzinfo=dt.UTC))
    created = rep_client.post("/calendar/feed/", {"action": "create"})
    path = _feed_path(created)

    response = Client().get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    events = {str(event["uid"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {
        f"activity-{mine.pk}@127.0.0.1",
        f"activity-{attended.pk}@127.0.0.1",
        f"task-{task.pk}@127.0.0.1",
    }
    demo = events[f"activity-{mine.pk}@127.0.0.1"]
    assert str(demo["summary"]) == "Demo"
    assert str(demo["location"]) == "HQ"
    assert demo.decoded("dtstart") == dt.datetime(2030, 1, 2, 9, 0, tzinfo=dt.UTC)
    assert demo.decoded("dtend") == dt.datetime(2030, 1, 2, 10, 0, tzinfo=dt.UTC)
    assert "DTSTART:20300102T090000Z" in response.content.decode()
    assert "dtstamp" in demo
    offer = events[f"task-{task.pk}@127.0.0.1"]
    assert str(offer["summary"]) == "Task: Offer"
    assert offer.decoded("dtstart") == dt.datetime(2030, 1, 4, 15, 0, tzinfo=dt.UTC)
    assert CalendarFeed.objects.get().last_fetched_at is not None


def test_the_address_is_shown_once(rep_client):
    created = rep_client.post("/calendar/feed/", {"action": "create"})
    _feed_path(created)

    later = rep_client.get("/calendar/feed/")

    assert ".ics" not in later.content.decode()
    assert "You have an address" in later.content.decode()


def test_a_wrong_secret_answers_not_found(rep):
    issued = calendar_feed_create(actor=rep)
    prefix = issued.token.split("_", 1)[0]

    assert Client().get(f"/calendar/feed/{prefix}_wrong.ics").status_code == 404
    assert Client().get("/calendar/feed/nonsense.ics").status_code == 404
    assert Client().get(f"/calendar/feed/{issued.token}.ics").status_code == 200


def test_a_new_address_replaces_the_old_one(rep):
    old = calendar_feed_create(actor=rep)
    new = calendar_feed_create(actor=rep)

    assert Client().get(f"/calendar/feed/{old.token}.ics").status_code == 404
    assert Client().get(f"/calendar/feed/{new.token}.ics").status_code == 200
    assert CalendarFeed.objects.count() == 1


def test_a_revoked_address_answers_not_found(rep_client, rep):
    issued = calendar_feed_create(actor=rep)

    response = rep_client.post("/calendar/feed/", {"action": "revoke"})

    assert response.status_code == 302
    assert Client().get(f"/calendar/feed/{issued.token}.ics").status_code == 404
    assert CalendarFeed.objects.count() == 0


def test_a_deactivated_users_feed_answers_not_found(rep):
    issued = calendar_feed_create(actor=rep)
    rep.is_active = False
    rep.save()

    assert Client().get(f"/calendar/feed/{issued.token}.ics").status_code == 404


def test_only_a_hash_of_the_secret_is_kept(rep):
    issued = calendar_feed_create(actor=rep)

    feed = CalendarFeed.objects.get()
    assert issued.token.split("_", 1)[1] not in (feed.key_hash, feed.prefix)
    assert len(feed.key_hash) == 64
