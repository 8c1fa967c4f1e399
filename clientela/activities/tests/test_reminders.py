"""Reminders: not before their time, exactly once, in the assignee's language and time zone."""

import datetime as dt
from unittest import mock

import pytest
from django.core.management import call_command

from clientela.activities.models import Task
from clientela.activities.services import task_create, task_reminder_send, task_reminders_send
from clientela.activities.tests.factories import TaskFactory
from clientela.core.models import Event, Notification

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def due_task(rep):
    rep.time_zone = "America/New_York"
    rep.save()
    return TaskFactory(
        owner=rep,
        title="Call Ana",
        due_at=dt.datetime(2026, 11, 23, 17, 30, tzinfo=dt.UTC),
        remind_at=NOW,
    )


def test_no_reminder_before_its_time(due_task, mailoutbox):
    sent = task_reminders_send(now=NOW - dt.timedelta(seconds=1))

    assert sent == 0
    assert mailoutbox == []
    assert Notification.objects.count() == 0
    due_task.refresh_from_db()
    assert due_task.reminded_at is None


def test_a_reminder_goes_out_once_with_the_due_time_in_the_users_zone(due_task, rep, mailoutbox):
    assert task_reminders_send(now=NOW) == 1
    assert task_reminders_send(now=NOW + dt.timedelta(minutes=5)) == 0
    assert task_reminder_send(task_id=due_task.pk, now=NOW + dt.timedelta(minutes=6)) is False

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["rep@example.com"]
    assert message.subject == "Reminder: Call Ana"
    # 17:30 UTC is 12:30 in New York in November.
    assert "It is due Nov. 23, 2026, 12:30 p.m. (America/New_York)." in message.body
    assert f"/tasks/{due_task.pk}/" in message.body
    notification = Notification.objects.get()
    assert (notification.user, notification.kind) == (rep, "task.reminded")
    assert notification.title == "Reminder: Call Ana"
    assert notification.body == "Due Nov. 23, 2026, 12:30 p.m."
    due_task.refresh_from_db()
    assert due_task.reminded_at == NOW
    assert Event.objects.filter(kind="task.reminded", record_id=due_task.pk).count() == 1


def test_a_reminder_in_the_users_language(due_task, rep, mailoutbox):
    rep.language = "es"
    rep.save()

    task_reminders_send(now=NOW)

    assert mailoutbox[0].extra_headers["Content-Language"] == "es"


def test_a_done_task_is_not_reminded(due_task, mailoutbox):
    Task.objects.filter(pk=due_task.pk).update(status="done")

    assert task_reminders_send(now=NOW) == 0
    assert mailoutbox == []


def test_a_due_reminder_is_sent_when_the_task_is_saved(
    rep, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        task = task_create(actor=rep, title="Now", remind_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    assert len(mailoutbox) == 1
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_a_later_reminder_waits_for_the_sweep_with_a_backend_that_cannot_defer(
    rep, mailoutbox, django_capture_on_commit_callbacks
):
    later = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        task_create(actor=rep, title="Later", remind_at=later)

    assert mailoutbox == []


def test_a_later_reminder_is_enqueued_for_its_time(
    rep, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    later = dt.datetime(2099, 1, 1, 9, 0, tzinfo=dt.UTC)

    with django_capture_on_commit_callbacks(execute=True):
        task = task_create(actor=rep, title="Later", remind_at=later)

    job = DBTaskResult.objects.get()
    assert job.run_after == later
    assert job.task_path == "clientela.activities.tasks.task_reminder_send_task"
    assert job.args_kwargs == {"args": [], "kwargs": {"task_id": task.pk}}


def test_the_job_re_checks_the_row(due_task, mailoutbox):
    from clientela.activities.tasks import task_reminder_send_task

    with mock.patch("django.utils.timezone.now", return_value=NOW - dt.timedelta(minutes=1)):
        result = task_reminder_send_task.enqueue(task_id=due_task.pk)
    assert result.return_value is False
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        result = task_reminder_send_task.enqueue(task_id=due_task.pk)
    assert result.return_value is True
    assert len(mailoutbox) == 1


def test_the_sweep_command(due_task, mailoutbox, capsys):
    with mock.patch("django.utils.timezone.now", return_value=NOW + dt.timedelta(minutes=1)):
        call_command("reminders", "send")

    assert capsys.readouterr().out == "Sent 1 reminders.\n"
    assert len(mailoutbox) == 1
