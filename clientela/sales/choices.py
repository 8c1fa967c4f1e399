"""Choices of the sales domain."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StageOutcome(models.TextChoices):
    """What reaching a stage means: the deal is still open, or closed as won or lost."""

    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class CloseOutcome(models.TextChoices):
    """Which closing a reason explains."""

    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")


class AssignmentMethod(models.TextChoices):
    """How an assignment rule picks the representative of a new lead."""

    ROUND_ROBIN = "round_robin", _("In turn among the team's active members")
    USER = "user", _("Always the same person")


class WebFormField(models.TextChoices):
    """The lead fields a web form may ask for."""

    FIRST_NAME = "first_name", _("First name")
    LAST_NAME = "last_name", _("Last name")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    COMPANY_NAME = "company_name", _("Company")
    JOB_TITLE = "job_title", _("Job title")
    COUNTRY = "country", _("Country")
    MESSAGE = "message", _("Message")
