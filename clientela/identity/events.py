"""Event kinds of users, teams and tokens."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UserEvent(models.TextChoices):
    INVITED = "user.invited", _("Invited")
    CHANGED = "user.changed", _("Changed")
    DEACTIVATED = "user.deactivated", _("Deactivated")
    REACTIVATED = "user.reactivated", _("Reactivated")
    PASSWORD_CHANGED = "user.password_changed", _("Password changed")
    LOGGED_IN = "user.logged_in", _("Logged in")


class TeamEvent(models.TextChoices):
    CREATED = "team.created", _("Team created")
    CHANGED = "team.changed", _("Team changed")
    DELETED = "team.deleted", _("Team deleted")


class ApiTokenEvent(models.TextChoices):
    CREATED = "api_token.created", _("API token created")
    REVOKED = "api_token.revoked", _("API token revoked")
