"""Background jobs of activities: task reminders. Each takes ids, loads fresh rows and is safe to run
twice (a reminder goes out once however often, and by however many workers, these run)."""

from __future__ import annotations

from django.tasks import task


@task
def task_reminder_send_task(*, task_id: int) -> bool:
    """Send one task's reminder, enqueued for its reminder time when the task was saved. The row is
    checked again: a task done, deleted or given another time meanwhile sends nothing now."""
    from clientela.activities.services import task_reminder_send

    return task_reminder_send(task_id=task_id)


@task
def task_reminders_send_task() -> int:
    """Send every reminder whose time has come (the sweep, for reminders a backend could not defer)."""
    from clientela.activities.services import task_reminders_send

    return task_reminders_send()
