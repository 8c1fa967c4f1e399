"""Event kinds of the sales domain; they feed timelines and the audit trail."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PipelineEvent(models.TextChoices):
    CREATED = "pipeline.created", _("Created")
    CHANGED = "pipeline.changed", _("Changed")
    STAGES_CHANGED = "pipeline.stages_changed", _("Stages changed")
    DELETED = "pipeline.deleted", _("Deleted")


class DealEvent(models.TextChoices):
    CREATED = "deal.created", _("Created")
    CHANGED = "deal.changed", _("Changed")
    OWNER_CHANGED = "deal.owner_changed", _("Owner changed")
    # data: the stages (ids and names) from and to, and the days spent at the one left.
    STAGE_CHANGED = "deal.stage_changed", _("Moved to another stage")
    WON = "deal.won", _("Won")
    LOST = "deal.lost", _("Lost")
    REOPENED = "deal.reopened", _("Reopened")
    LINE_ITEMS_CHANGED = "deal.line_items_changed", _("Products changed")
    TAGGED = "deal.tagged", _("Tagged")
    UNTAGGED = "deal.untagged", _("Tag removed")
    DELETED = "deal.deleted", _("Deleted")


class LeadEvent(models.TextChoices):
    CREATED = "lead.created", _("Created")
    # From a web form: data holds the form and the submission.
    SUBMITTED = "lead.submitted", _("Sent a web form")
    CHANGED = "lead.changed", _("Changed")
    ASSIGNED = "lead.assigned", _("Assigned")
    OWNER_CHANGED = "lead.owner_changed", _("Owner changed")
    CONVERTED = "lead.converted", _("Converted")
    DISQUALIFIED = "lead.disqualified", _("Disqualified")
    DELETED = "lead.deleted", _("Deleted")


class WebFormEvent(models.TextChoices):
    CREATED = "web_form.created", _("Created")
    CHANGED = "web_form.changed", _("Changed")
    DELETED = "web_form.deleted", _("Deleted")


class AssignmentRuleEvent(models.TextChoices):
    CREATED = "assignment_rule.created", _("Created")
    CHANGED = "assignment_rule.changed", _("Changed")
    DELETED = "assignment_rule.deleted", _("Deleted")
