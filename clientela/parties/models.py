"""Organizations and contacts: the people and companies a business deals with."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clientela.core.models import (
    CustomFieldsModel,
    OwnedModel,
    TaggedModel,
    TimestampedModel,
    VersionedModel,
)
from clientela.parties.choices import (
    ContactSource,
    DuplicateStatus,
    EmailKind,
    ImportOnMatch,
    ImportRecordType,
    ImportStatus,
    Industry,
    LifecycleStage,
    PhoneKind,
    SizeBand,
)


class PartyModel(TimestampedModel, VersionedModel, OwnedModel, TaggedModel, CustomFieldsModel):
    """What organizations and contacts share: owner and team, tags, custom fields, version, address."""

    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # What search matches (core.search): names, emails, phone digits, organizations; normalized and
    # kept current by the services in the same transaction as the write.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)

    class Meta:
        abstract = True


class Organization(PartyModel):
    """A company or institution the business deals with."""

    name = models.CharField(_("name"), max_length=200)
    website = models.URLField(_("website"), max_length=300, blank=True)
    domain = models.CharField(
        _("domain"), max_length=253, blank=True, help_text=_("Taken from the website.")
    )
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    size_band = models.CharField(_("size"), max_length=10, choices=SizeBand.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(
        _("currency"), max_length=3, default=settings.CLIENTELA_DEFAULT_CURRENCY
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = [Lower("name"), "id"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [
            models.Index(Lower("name"), "id", name="parties_org_name_idx"),
            models.Index(fields=["-created_at", "-id"], name="parties_org_created_idx"),
            models.Index(fields=["country"], name="parties_org_country_idx"),
            models.Index(fields=["domain"], name="parties_org_domain_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_revenue__isnull=True) | models.Q(annual_revenue__gte=0),
                name="parties_org_revenue_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contact(PartyModel):
    """A person the business deals with: a lead, a customer, someone at an organization."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=30,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    source = models.CharField(_("source"), max_length=20, choices=ContactSource.choices, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    # Copies of the primary email and phone, kept by the services, so lists sort and show them
    # without a join.
    primary_email = models.CharField(_("email"), max_length=254, blank=True)
    primary_phone = models.CharField(_("phone"), max_length=20, blank=True)
    organizations = models.ManyToManyField(
        Organization,
        verbose_name=_("organizations"),
        through="Affiliation",
        related_name="contacts",
        blank=True,
    )

    class Meta:
        ordering = [Lower("last_name"), Lower("first_name"), "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(
                Lower("last_name"), Lower("first_name"), "id", name="parties_contact_name_idx"
            ),
            models.Index(fields=["-created_at", "-id"], name="parties_contact_created_idx"),
            # A filter on stage or country, in name order: the first page is the index's first rows
            # with that value, not a sort of every match (a fifth of a million contacts for one country).
            models.Index(
                "lifecycle_stage",
                Lower("last_name"),
                Lower("first_name"),
                "id",
                name="parties_contact_stage_nm_idx",
            ),
            models.Index(
                "country",
                Lower("last_name"),
                Lower("first_name"),
                "id",
                name="parties_contact_cntry_name_idx",
            ),
            models.Index(fields=["primary_email"], name="parties_contact_email_idx"),
            # Duplicate detection: people with the same last name in the same city and country.
            models.Index(
                Lower("last_name"), Lower("city"), "country", name="parties_contact_name_city_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(first_name="", last_name=""),
                name="parties_contact_has_name",
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class ContactEmail(models.Model):
    """One of a contact's email addresses; exactly one is primary when there are any."""

    # CASCADE: an address belongs to its contact.
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="emails"
    )
    email = models.EmailField(_("email"), max_length=254)
    kind = models.CharField(
        _("kind"), max_length=10, choices=EmailKind.choices, default=EmailKind.WORK
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        constraints = [
            models.UniqueConstraint("contact", Lower("email"), name="parties_contactemail_unique"),
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(is_primary=True),
                name="parties_contactemail_one_primary",
            ),
        ]
        indexes = [models.Index(Lower("email"), name="parties_email_lower_idx")]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    """One of a contact's phone numbers, stored in E.164 (+4512345678)."""

    # CASCADE: a number belongs to its contact.
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(_("number"), max_length=20)
    kind = models.CharField(
        _("kind"), max_length=10, choices=PhoneKind.choices, default=PhoneKind.MOBILE
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "number"], name="parties_contactphone_unique"
            ),
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(is_primary=True),
                name="parties_contactphone_one_primary",
            ),
        ]
        indexes = [models.Index(fields=["number"], name="parties_phone_number_idx")]

    def __str__(self) -> str:
        return self.number


class Affiliation(models.Model):
    """A contact's place at an organization: their role there, and whether it is their main one."""

    # CASCADE: the link means nothing once either side is gone.
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="affiliations"
    )
    # CASCADE: as above.
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="affiliations",
    )
    role = models.CharField(_("role"), max_length=150, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "organization"], name="parties_affiliation_unique"
            ),
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(is_primary=True),
                name="parties_affiliation_one_primary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.organization}"


# -- imports ------------------------------------------------------------------------------------


class ImportMapping(TimestampedModel):
    """A saved choice of which file column fills which field, offered again for the next file."""

    record_type = models.CharField(
        _("record type"), max_length=20, choices=ImportRecordType.choices
    )
    name = models.CharField(_("name"), max_length=100)
    # {column header as in the file: field key}; columns mapped to "" are ignored.
    columns = models.JSONField(_("columns"), default=dict)
    # PROTECT: users are deactivated, never deleted.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = [Lower("name"), "id"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        constraints = [
            models.UniqueConstraint(
                "record_type", Lower("name"), name="parties_importmapping_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(TimestampedModel):
    """One upload being checked (a dry run) or imported, in batches, by the worker.

    The counters and ``next_row`` are written after each batch commits, so a job that stops (the worker
    restarted) resumes at the first row not yet imported.
    """

    record_type = models.CharField(
        _("record type"), max_length=20, choices=ImportRecordType.choices
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    is_dry_run = models.BooleanField(_("dry run"), default=False)
    # PROTECT: users are deactivated, never deleted; the job acts with their rights.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    original_name = models.CharField(_("file name"), max_length=255)
    # Relative to the imports folder under CLIENTELA_VAR_DIR.
    stored_name = models.CharField(_("stored file"), max_length=255)
    file_size = models.BigIntegerField(_("file size"), default=0)
    file_format = models.CharField(_("format"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)
    # {column header: field key}
    mapping = models.JSONField(_("mapping"), default=dict)
    on_match = models.CharField(
        _("when a row matches an existing record"),
        max_length=10,
        choices=ImportOnMatch.choices,
        default=ImportOnMatch.SKIP,
    )
    # Defaults for every row: {"country": "DK", "tags": ["fair-2026"], "owner": user id, ...}.
    options = models.JSONField(_("options"), default=dict, blank=True)
    # The dry run this import was started from, when it was.
    # SET_NULL: the import's own history stands without it.
    dry_run_of = models.ForeignKey(
        "self",
        verbose_name=_("dry run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    next_row = models.PositiveIntegerField(_("next row"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    message = models.TextField(_("message"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="parties_import_user_idx"),
            models.Index(fields=["-created_at", "-id"], name="parties_import_created_idx"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def processed_rows(self) -> int:
        return self.created_count + self.updated_count + self.skipped_count + self.failed_count


class ImportBatch(models.Model):
    """What happened to each row of one committed batch: the report and the resume point come from here."""

    # CASCADE: a batch is part of its job.
    job = models.ForeignKey(
        ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="batches"
    )
    first_row = models.PositiveIntegerField(_("first row"))
    # One letter per row, in order: c created, u updated, s skipped, f failed.
    outcomes = models.TextField(_("outcomes"))
    # The record each row created, updated or matched (null for failed rows), in row order.
    record_ids = models.JSONField(_("records"), default=list)

    class Meta:
        ordering = ["job", "first_row"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        constraints = [
            models.UniqueConstraint(fields=["job", "first_row"], name="parties_importbatch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.first_row}"


class ImportRowError(models.Model):
    """Why one row of an import failed (or was skipped): row number, column and reason."""

    # CASCADE: part of its job.
    job = models.ForeignKey(
        ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="row_errors"
    )
    # As a spreadsheet numbers it: the header is row 1, the first data row is row 2.
    row_number = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    value = models.TextField(_("value"), blank=True)
    message = models.TextField(_("reason"))
    is_skip = models.BooleanField(_("skipped"), default=False)

    class Meta:
        ordering = ["job", "row_number", "id"]
        verbose_name = _("import row error")
        verbose_name_plural = _("import row errors")
        indexes = [models.Index(fields=["job", "row_number", "id"], name="parties_importerror_idx")]

    def __str__(self) -> str:
        return f"{self.row_number}: {self.message}"


# -- duplicates and merges ---------------------------------------------------------------------


class DuplicateCandidate(models.Model):
    """Two records that look like the same person or company, waiting for someone to decide.

    Exactly one pair of foreign keys is set, by ``record_type``; ``first`` has the smaller id.
    """

    record_type = models.CharField(
        _("record type"), max_length=20, choices=ImportRecordType.choices
    )
    # CASCADE: a pair means nothing once either record is gone (merged or deleted).
    first_contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    second_contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    first_organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    second_organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("confidence"))
    # Why they look alike: ["email", "phone", "name_organization", "name_city", ...].
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=20, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    detected_at = models.DateTimeField(_("detected"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # SET_NULL: the decision stands when the user row goes.
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["first_contact", "second_contact"],
                condition=models.Q(record_type="contacts"),
                name="parties_duplicate_contact_pair_unique",
            ),
            models.UniqueConstraint(
                fields=["first_organization", "second_organization"],
                condition=models.Q(record_type="organizations"),
                name="parties_duplicate_org_pair_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(score__lte=100), name="parties_duplicate_score_max"
            ),
        ]
        indexes = [
            models.Index(
                fields=["record_type", "status", "-score", "id"], name="parties_duplicate_queue_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.pk} ({self.score})"


class Merge(models.Model):
    """Records merged into one survivor, with everything needed to undo it."""

    record_type = models.CharField(
        _("record type"), max_length=20, choices=ImportRecordType.choices
    )
    survivor_id = models.BigIntegerField(_("survivor"))
    merged_ids = models.JSONField(_("merged records"), default=list)
    # The survivor's values before, the merged records' rows and every related row that moved (table,
    # id, column, old value), so that undo restores exactly what was.
    snapshot = models.JSONField(_("snapshot"), default=dict)
    # SET_NULL: the history stands when the user row goes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("merged"), default=timezone.now)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    # SET_NULL: as above.
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [
            models.Index(fields=["record_type", "survivor_id"], name="parties_merge_survivor_idx")
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.survivor_id} ← {self.merged_ids}"
