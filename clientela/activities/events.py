"""Event kinds of activities and tasks (the activities themselves are on the records' timelines)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivityEvent(models.TextChoices):
    LOGGED = "activity.logged", _("Logged")
    CHANGED = "activity.changed", _("Changed")
    DELETED = "activity.deleted", _("Deleted")


class TaskEvent(models.TextChoices):
    CREATED = "task.created", _("Created")
    CHANGED = "task.changed", _("Changed")
    COMPLETED = "task.completed", _("Completed")
    REOPENED = "task.reopened", _("Reopened")
    REMINDED = "task.reminded", _("Reminder sent")
    DELETED = "task.deleted", _("Deleted")
