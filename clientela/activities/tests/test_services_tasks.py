"""Task services: who may own a task, the record it is about, done and open again, events."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clientela.activities.models import Task
from clientela.activities.services import (
    task_complete,
    task_create,
    task_delete,
    task_reopen,
    task_update,
)
from clientela.activities.tests.factories import TaskFactory
from clientela.core.models import Event, Notification
from clientela.parties.tests.factories import ContactFactory
from clientela.sales.tests.factories import DealFactory

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def test_create_a_task_about_a_deal(rep):
    deal = DealFactory(owner=rep)

    task = task_create(
        actor=rep,
        title="  Send   the offer ",
        due_at=NOW + dt.timedelta(days=1),
        priority="high",
        deal=deal,
        now=NOW,
    )

    task.refresh_from_db()
    assert (task.title, task.priority, task.status) == ("Send the offer", "high", "open")
    assert (task.owner, task.created_by, task.team) == (rep, rep, rep.teams.get())
    assert task.deal == deal
    assert task.due_at == NOW + dt.timedelta(days=1)
    assert list(Event.objects.values_list("kind", "record_id")) == [("task.created", task.pk)]
    assert Notification.objects.count() == 0


def test_a_task_needs_a_title(rep):
    with pytest.raises(ValidationError) as error:
        task_create(actor=rep, title=" ")

    assert error.value.message_dict == {"title": ["A task needs a title."]}
    assert Task.objects.count() == 0


def test_a_task_is_about_one_record_at_most(rep):
    with pytest.raises(ValidationError):
        task_create(
            actor=rep, title="x", contact=ContactFactory(owner=rep), deal=DealFactory(owner=rep)
        )

    assert Task.objects.count() == 0


def test_a_task_about_a_record_one_cannot_see_is_refused(rep, rep_b):
    with pytest.raises(ValidationError) as error:
        task_create(actor=rep, title="x", contact=ContactFactory(owner=rep_b))

    assert error.value.message_dict == {"contact": ["Choose records you can see."]}
    assert Task.objects.count() == 0


def test_a_representative_cannot_give_a_task_to_a_colleague(rep, rep_a2):
    with pytest.raises(PermissionDenied):
        task_create(actor=rep, title="x", owner=rep_a2)

    assert Task.objects.count() == 0
    assert Notification.objects.count() == 0


def test_a_manager_gives_a_task_to_a_team_member_who_is_notified(manager, rep):
    task = task_create(actor=manager, title="Call Ana", owner=rep)

    assert (task.owner, task.created_by) == (rep, manager)
    notification = Notification.objects.get()
    assert (notification.user, notification.kind) == (rep, "task.created")
    assert notification.title == "Manager gave you a task: Call Ana"
    assert notification.url == f"/tasks/{task.pk}/"


def test_a_manager_cannot_give_a_task_outside_their_teams(manager, rep_b):
    with pytest.raises(PermissionDenied):
        task_create(actor=manager, title="x", owner=rep_b)

    assert Task.objects.count() == 0


def test_an_administrator_gives_a_task_to_anyone(admin_user, rep_b):
    task = task_create(actor=admin_user, title="x", owner=rep_b)

    assert task.owner == rep_b


def test_complete_and_reopen(rep):
    task = TaskFactory(owner=rep)

    task = task_complete(actor=rep, task=task, now=NOW)
    assert (task.status, task.completed_at, task.version) == ("done", NOW, 2)
    task_complete(actor=rep, task=task, now=NOW)  # already done: nothing happens
    task = task_reopen(actor=rep, task=task)

    task.refresh_from_db()
    assert (task.status, task.completed_at, task.version) == ("open", None, 3)
    assert list(Event.objects.order_by("id").values_list("kind", flat=True)) == [
        "task.completed",
        "task.reopened",
    ]


def test_a_colleague_cannot_complete_someone_elses_task(rep, rep_a2):
    task = TaskFactory(owner=rep)

    with pytest.raises(PermissionDenied):
        task_complete(actor=rep_a2, task=task)

    task.refresh_from_db()
    assert (task.status, task.version) == ("open", 1)


def test_someone_who_cannot_see_a_task_gets_not_found(rep, rep_b):
    task = TaskFactory(owner=rep)

    with pytest.raises(Task.DoesNotExist):
        task_delete(actor=rep_b, task=task)

    assert Task.objects.count() == 1


def test_update_records_what_changed_and_a_new_reminder_time_is_sent_again(rep):
    task = TaskFactory(owner=rep, remind_at=NOW, reminded_at=NOW)

    task = task_update(
        actor=rep, task=task, title="New", remind_at=NOW + dt.timedelta(hours=1), expected_version=1
    )

    task.refresh_from_db()
    assert (task.title, task.version, task.reminded_at) == ("New", 2, None)
    event = Event.objects.get(kind="task.changed")
    assert set(event.data["changes"]) == {"title", "remind_at"}


def test_update_without_changes_writes_nothing(rep):
    task = TaskFactory(owner=rep, title="Same")

    task_update(actor=rep, task=task, title="Same")

    task.refresh_from_db()
    assert task.version == 1
    assert Event.objects.count() == 0


def test_the_creator_and_a_manager_may_delete(manager, rep):
    task = TaskFactory(owner=rep, created_by=manager)

    task_delete(actor=manager, task=task)

    assert Task.objects.count() == 0
    assert Event.objects.get().kind == "task.deleted"
