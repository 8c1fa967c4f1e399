"""Event kinds of organizations and contacts; they feed timelines and the audit trail."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationEvent(models.TextChoices):
    CREATED = "organization.created", _("Created")
    CHANGED = "organization.changed", _("Changed")
    OWNER_CHANGED = "organization.owner_changed", _("Owner changed")
    TAGGED = "organization.tagged", _("Tagged")
    UNTAGGED = "organization.untagged", _("Tag removed")
    DELETED = "organization.deleted", _("Deleted")
    # Duplicates merged into this one (data: the merge id, the merged records, where values came
    # from), and that merge undone.
    MERGED = "organization.merged", _("Merged with duplicates")
    MERGE_UNDONE = "organization.merge_undone", _("Merge undone")


class ContactEvent(models.TextChoices):
    CREATED = "contact.created", _("Created")
    CHANGED = "contact.changed", _("Changed")
    OWNER_CHANGED = "contact.owner_changed", _("Owner changed")
    TAGGED = "contact.tagged", _("Tagged")
    UNTAGGED = "contact.untagged", _("Tag removed")
    DELETED = "contact.deleted", _("Deleted")
    # As for organizations.
    MERGED = "contact.merged", _("Merged with duplicates")
    MERGE_UNDONE = "contact.merge_undone", _("Merge undone")
