from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    name = "clientela.parties"
    label = "parties"
    verbose_name = _("People and organizations")

    def ready(self) -> None:
        from clientela.core.events import register_event_kinds
        from clientela.parties.events import ContactEvent, OrganizationEvent

        register_event_kinds(ContactEvent, OrganizationEvent)
