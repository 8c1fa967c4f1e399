from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "clientela.identity"
    label = "identity"
    verbose_name = _("Identity")

    def ready(self) -> None:
        from clientela.core.events import register_event_kinds
        from clientela.identity.events import ApiTokenEvent, TeamEvent, UserEvent

        register_event_kinds(UserEvent, TeamEvent, ApiTokenEvent)
