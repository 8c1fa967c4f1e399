"""My day: tasks by when they are due in the user's own time zone, deals without a next step."""

import datetime as dt
from unittest import mock

import pytest
from django.test import Client

from clientela.activities.models import Task
from clientela.activities.tests.factories import TaskFactory
from clientela.sales.tests.factories import DealFactory

# 03:00 UTC on 24 November is still 23 November, 22:00, in New York.
NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def rep_client(rep):
    rep.time_zone = "America/New_York"
    rep.save()
    client = Client()
    client.force_login(rep)
    return client


def _at(day, hour, minute=0):
    """A time in New York, in UTC."""
    from zoneinfo import ZoneInfo

    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("America/New_York"))


def _titles(response, part):
    return [task.title for task in getattr(response.context["day"], part)]


def test_tasks_are_split_by_the_users_day(rep_client, rep, rep_a2):
    TaskFactory(owner=rep, title="Yesterday", due_at=_at(22, 9))
    TaskFactory(owner=rep, title="This morning", due_at=_at(23, 8))
    TaskFactory(owner=rep, title="Tonight", due_at=_at(23, 23, 30))
    TaskFactory(owner=rep, title="Tomorrow", due_at=_at(24, 0, 30))
    TaskFactory(owner=rep, title="In a week", due_at=_at(30, 23))
    TaskFactory(owner=rep, title="Too far", due_at=_at(30, 0, 30) + dt.timedelta(days=1))
    TaskFactory(owner=rep, title="No date")
    TaskFactory(owner=rep, title="Done", due_at=_at(23, 9), status="done")
    TaskFactory(owner=rep_a2, title="A colleague's", due_at=_at(23, 9))

    with mock.patch("django.utils.timezone.now", return_value=NOW):
        rep_client.force_login(rep)  # sessions end after 8 idle hours: one as of NOW
        response = rep_client.get("/my-day/")

    assert response.status_code == 200
    assert _titles(response, "overdue") == ["Yesterday"]
    assert _titles(response, "due_today") == ["This morning", "Tonight"]
    assert _titles(response, "upcoming") == ["Tomorrow", "In a week"]
    assert response.context["day"].today == dt.date(2026, 11, 23)


def test_deals_that_need_a_next_step(rep_client, rep, rep_a2):
    DealFactory(owner=rep, title="No step")
    DealFactory(
        owner=rep, title="Past step", next_step="Call", next_step_date=dt.date(2026, 11, 20)
    )
    DealFactory(owner=rep, title="Planned", next_step="Call", next_step_date=dt.date(2026, 11, 25))
    DealFactory(
        owner=rep, title="Today's step", next_step="Call", next_step_date=dt.date(2026, 11, 23)
    )
    DealFactory(owner=rep_a2, title="A colleague's")

    with mock.patch("django.utils.timezone.now", return_value=NOW):
        rep_client.force_login(rep)  # sessions end after 8 idle hours: one as of NOW
        response = rep_client.get("/my-day/")

    titles = {deal.title for deal in response.context["day"].deals}
    assert titles == {"No step", "Past step"}
    assert "Past step" in response.content.decode()


def test_my_day_reads_a_fixed_number_of_queries(rep_client, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        rep_client.get("/my-day/")
    for index in range(15):
        TaskFactory(owner=rep, due_at=NOW + dt.timedelta(hours=index - 5))
        DealFactory(owner=rep)
    with CaptureQueriesContext(connection) as many:
        response = rep_client.get("/my-day/")

    assert len(response.context["day"].deals) == 15
    assert len(many) == len(few)


def test_quick_add_answers_the_task_lists(rep_client, rep):
    response = rep_client.post(
        "/tasks/new/",
        {"quick": "1", "title": "Ring Bo", "priority": "normal", "due_at": "2030-01-02T09:30"},
        headers={"HX-Request": "true", "HX-Target": "my-day-tasks"},
    )

    assert response.status_code == 200
    task = Task.objects.get()
    assert (task.title, task.owner) == ("Ring Bo", rep)
    # Typed in New York time, stored in UTC.
    assert task.due_at == dt.datetime(2030, 1, 2, 14, 30, tzinfo=dt.UTC)
    assert 'id="my-day-tasks"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_quick_add_without_a_title_shows_the_error(rep_client):
    response = rep_client.post(
        "/tasks/new/",
        {"quick": "1", "title": "", "priority": "normal"},
        headers={"HX-Request": "true", "HX-Target": "my-day-tasks"},
    )

    assert response.status_code == 200
    assert Task.objects.count() == 0
    assert "This field is required." in response.content.decode()


def test_done_button_marks_the_task_done(rep_client, rep):
    from django.utils import timezone

    task = TaskFactory(owner=rep, title="Ring", due_at=timezone.now() - dt.timedelta(hours=1))
    assert "Ring" in rep_client.get("/my-day/").content.decode()

    response = rep_client.post(
        f"/tasks/{task.pk}/complete/", headers={"HX-Request": "true", "HX-Target": "my-day-tasks"}
    )

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == "done"
    assert "Ring" not in response.content.decode()


def test_someone_elses_task_is_not_found(rep_client, rep_b):
    task = TaskFactory(owner=rep_b)

    response = rep_client.post(f"/tasks/{task.pk}/complete/")

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == "open"


def test_full_task_form_with_times_in_the_users_zone(rep_client, rep):
    response = rep_client.post(
        "/tasks/new/",
        {
            "title": "Offer",
            "priority": "high",
            "due_at": "2030-06-01T10:00",
            "remind_at": "2030-06-01T09:00",
            "description": "Send it",
        },
    )

    assert response.status_code == 302
    task = Task.objects.get()
    # New York is on daylight time (UTC-4) in June.
    assert task.due_at == dt.datetime(2030, 6, 1, 14, 0, tzinfo=dt.UTC)
    assert task.remind_at == dt.datetime(2030, 6, 1, 13, 0, tzinfo=dt.UTC)
    edit = rep_client.get(f"/tasks/{task.pk}/")
    assert 'value="2030-06-01T10:00"' in edit.content.decode()


def test_editing_a_task_keeps_an_unchanged_reminder_sent(rep_client, rep):
    remind_at = dt.datetime(2030, 6, 1, 13, 0, 27, tzinfo=dt.UTC)
    task = TaskFactory(owner=rep, title="Old", remind_at=remind_at, reminded_at=remind_at)

    response = rep_client.post(
        f"/tasks/{task.pk}/",
        {"title": "New", "priority": "normal", "remind_at": "2030-06-01T09:00", "version": "1"},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.remind_at, task.reminded_at) == ("New", remind_at, remind_at)
