"""Organizations and contacts: the people and companies a business deals with."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
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
    EmailKind,
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
            models.Index(fields=["lifecycle_stage"], name="parties_contact_stage_idx"),
            models.Index(fields=["country"], name="parties_contact_country_idx"),
            models.Index(fields=["primary_email"], name="parties_contact_email_idx"),
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
