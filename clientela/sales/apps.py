from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "clientela.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from clientela.core.events import register_event_kinds
        from clientela.sales.events import (
            AssignmentRuleEvent,
            DealEvent,
            LeadEvent,
            PipelineEvent,
            WebFormEvent,
        )

        register_event_kinds(AssignmentRuleEvent, DealEvent, LeadEvent, PipelineEvent, WebFormEvent)
