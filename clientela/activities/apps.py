from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "clientela.activities"
    label = "activities"
    verbose_name = _("Activities and tasks")

    def ready(self) -> None:
        from clientela.activities.events import ActivityEvent, TaskEvent
        from clientela.core.events import register_event_kinds

        register_event_kinds(ActivityEvent, TaskEvent)
