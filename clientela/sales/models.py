"""Sales: pipelines and their stages, deals with line items and stage history, close reasons, leads,
the rules that assign them, and the web forms that capture them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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
from clientela.parties.choices import ContactSource
from clientela.sales.choices import (
    AssignmentMethod,
    CloseOutcome,
    DealStatus,
    LeadStatus,
    StageOutcome,
)

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Pipeline(TimestampedModel, VersionedModel):
    """An ordered series of stages that deals move through (new business, renewals, partners...)."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive pipelines take no new deals.")
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="EUR",
        help_text=_("What the board's totals are shown in, and the default for new deals."),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="sales_pipeline_name_unique"),
        ]
        indexes = [models.Index(fields=["position", "id"], name="sales_pipeline_order_idx")]

    def __str__(self) -> str:
        return self.name


class Stage(TimestampedModel):
    """One step of a pipeline. Its outcome says whether reaching it closes the deal as won or lost."""

    # CASCADE: a pipeline is only deleted when it holds no deals (services check), and its stages go too.
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"),
        default=10,
        validators=PERCENT,
        help_text=_("The default chance that a deal at this stage is won; forecasts weigh by it."),
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=StageOutcome.choices, default=StageOutcome.OPEN
    )
    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after (days)"),
        null=True,
        blank=True,
        help_text=_("Deals that stay longer at this stage are flagged on the board."),
    )

    class Meta:
        ordering = ["pipeline_id", "position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint("pipeline", Lower("name"), name="sales_stage_name_unique"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="sales_stage_probability_range"
            ),
        ]
        indexes = [
            models.Index(fields=["pipeline", "position", "id"], name="sales_stage_order_idx")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.outcome != StageOutcome.OPEN


class CloseReason(TimestampedModel):
    """Why deals are won or lost, from a list administrators keep: "why customers choose us"."""

    outcome = models.CharField(_("outcome"), max_length=10, choices=CloseOutcome.choices)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["outcome", "position", "id"]
        verbose_name = _("close reason")
        verbose_name_plural = _("close reasons")
        constraints = [
            models.UniqueConstraint("outcome", Lower("name"), name="sales_closereason_name_unique"),
        ]
        indexes = [
            models.Index(fields=["outcome", "position", "id"], name="sales_closereason_order_idx")
        ]

    def __str__(self) -> str:
        return self.name


class Deal(TimestampedModel, VersionedModel, OwnedModel, TaggedModel, CustomFieldsModel):
    """A sale being worked on: what, for how much, with whom, and where it is in its pipeline."""

    title = models.CharField(_("title"), max_length=200)
    # PROTECT: a pipeline or stage that deals use is not deleted; deals are moved first.
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    # Kept equal to the stage's outcome by the services: lists and reports filter on it.
    status = models.CharField(
        _("status"), max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN
    )
    amount = models.DecimalField(
        _("amount"), max_digits=16, decimal_places=2, default=Decimal("0.00")
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"),
        null=True,
        blank=True,
        validators=PERCENT,
        help_text=_("Leave empty to use the stage's."),
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    # SET_NULL: the deal and its history stay when the organization is deleted.
    organization = models.ForeignKey(
        "parties.Organization",
        verbose_name=_("organization"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
    )
    contacts = models.ManyToManyField(
        "parties.Contact", verbose_name=_("contacts"), blank=True, related_name="deals"
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("at this stage since"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # PROTECT: reasons are deactivated, not deleted, once deals cite them.
    close_reason = models.ForeignKey(
        CloseReason,
        verbose_name=_("close reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    close_note = models.TextField(_("close note"), blank=True)
    # What search matches (core.search): title, organization, contacts.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="sales_deal_created_idx"),
            models.Index(fields=["stage", "-stage_entered_at"], name="sales_deal_stage_idx"),
            models.Index(fields=["pipeline", "status"], name="sales_deal_pipeline_idx"),
            models.Index(fields=["status", "expected_close_date"], name="sales_deal_close_idx"),
            models.Index(fields=["owner", "status"], name="sales_deal_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="sales_deal_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(probability__isnull=True) | models.Q(probability__lte=100),
                name="sales_deal_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def effective_probability(self) -> int:
        """The deal's own probability, else its stage's (a closed deal: 100 won, 0 lost)."""
        if self.status == DealStatus.WON:
            return 100
        if self.status == DealStatus.LOST:
            return 0
        return self.probability if self.probability is not None else self.stage.probability


class DealLineItem(models.Model):
    """A product or service of interest on a deal: quantity times unit price, less a discount."""

    # CASCADE: line items are part of the deal.
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="line_items"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=3, default=Decimal("1")
    )
    unit_price = models.DecimalField(_("unit price"), max_digits=16, decimal_places=2)
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["deal_id", "position", "id"]
        verbose_name = _("line item")
        verbose_name_plural = _("line items")
        indexes = [models.Index(fields=["deal", "position", "id"], name="sales_lineitem_order_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="sales_lineitem_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="sales_lineitem_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(discount_percent__gte=0) & models.Q(discount_percent__lte=100),
                name="sales_lineitem_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return (gross * (100 - self.discount_percent) / 100).quantize(Decimal("0.01"))


class StageVisit(models.Model):
    """A stretch of time a deal spent at one stage: the stage history that durations come from."""

    # CASCADE: the history is part of the deal.
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="stage_visits"
    )
    # PROTECT: a stage with history is not deleted (stages of a pipeline in use are renamed).
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="visits"
    )
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)
    # SET_NULL: history outlives the user who moved the deal.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["deal_id", "entered_at", "id"]
        verbose_name = _("stage visit")
        verbose_name_plural = _("stage visits")
        indexes = [
            models.Index(fields=["deal", "entered_at", "id"], name="sales_visit_deal_idx"),
            models.Index(fields=["stage", "entered_at"], name="sales_visit_stage_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(left_at__isnull=True)
                | models.Q(left_at__gte=models.F("entered_at")),
                name="sales_visit_left_after_entered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}@{self.stage_id}"


class Lead(TimestampedModel, VersionedModel, OwnedModel, TaggedModel, CustomFieldsModel):
    """Someone who may become a customer, not yet qualified: from a web form, an import or a
    representative. Converting it makes (or finds) a contact, an organization and optionally a deal."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=ContactSource.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    message = models.TextField(_("message"), blank=True)
    # SET_NULL: a lead stays when the form that brought it is deleted.
    web_form = models.ForeignKey(
        "sales.WebForm",
        verbose_name=_("web form"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    # Lead response time: from creation to the first activity logged on the lead.
    first_activity_at = models.DateTimeField(_("first activity"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    # SET_NULL: what the lead became may be deleted or merged later; the lead keeps its story.
    converted_contact = models.ForeignKey(
        "parties.Contact",
        verbose_name=_("converted to contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="converted_leads",
    )
    converted_organization = models.ForeignKey(
        "parties.Organization",
        verbose_name=_("converted to organization"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="converted_leads",
    )
    converted_deal = models.ForeignKey(
        Deal,
        verbose_name=_("converted to deal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="converted_leads",
    )
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="sales_lead_created_idx"),
            models.Index(fields=["status", "-created_at"], name="sales_lead_status_idx"),
            models.Index(fields=["owner", "status"], name="sales_lead_owner_idx"),
            models.Index(Lower("email"), name="sales_lead_email_idx"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.company_name or str(_("Lead %(id)s") % {"id": self.pk})

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class AssignmentRule(TimestampedModel):
    """Who gets a new lead: the first active rule whose conditions the lead meets decides, in order."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Conditions; an empty one matches every lead.
    sources = models.JSONField(
        _("sources"), default=list, blank=True, help_text=_("Only leads from these sources.")
    )
    countries = models.JSONField(
        _("countries"),
        default=list,
        blank=True,
        help_text=_("Only leads from these countries (the territory)."),
    )
    # CASCADE: a rule about one form means nothing without it.
    web_form = models.ForeignKey(
        "sales.WebForm",
        verbose_name=_("web form"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assignment_rules",
        help_text=_("Only leads from this web form."),
    )
    method = models.CharField(
        _("assign"),
        max_length=20,
        choices=AssignmentMethod.choices,
        default=AssignmentMethod.ROUND_ROBIN,
    )
    # PROTECT: a team or user that rules assign to is taken out of the rules first.
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Round robin: the member who got the last lead (the next active member after them gets the next).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last assigned"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        indexes = [models.Index(fields=["position", "id"], name="sales_rule_order_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(method=AssignmentMethod.ROUND_ROBIN, team__isnull=False)
                    | models.Q(method=AssignmentMethod.USER, user__isnull=False)
                ),
                name="sales_rule_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebForm(TimestampedModel, VersionedModel):
    """A lead-capture form for the company's website: a hosted page and an embeddable snippet."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    # [{"field": "email", "required": true}, ...] in display order (sales.choices.WebFormField).
    fields = models.JSONField(_("fields"), default=list)
    title = models.CharField(_("title"), max_length=200, blank=True)
    intro = models.TextField(_("introduction"), blank=True)
    submit_label = models.CharField(_("button text"), max_length=60, blank=True)
    consent_text = models.TextField(
        _("consent text"),
        blank=True,
        help_text=_(
            "When given, visitors must tick a box with this text; what they agreed to is kept."
        ),
    )
    thank_you_message = models.TextField(_("thank-you message"), blank=True)
    redirect_url = models.URLField(_("redirect to"), max_length=500, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=ContactSource.choices, default=ContactSource.WEBSITE
    )
    # PROTECT: a form names who gets its leads when no assignment rule applies.
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("default owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Gets the leads that no assignment rule routes."),
    )
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # SET_NULL: the form keeps working without a pipeline (its leads convert into the default one).
    pipeline = models.ForeignKey(
        Pipeline,
        verbose_name=_("pipeline"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Where the deals of its converted leads go."),
    )

    class Meta:
        ordering = [Lower("name"), "id"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        indexes = [models.Index(Lower("name"), "id", name="sales_webform_name_idx")]

    def __str__(self) -> str:
        return self.name


class WebFormSubmission(models.Model):
    """One submission of a web form: what was sent, from where, and the consent given."""

    # CASCADE: submissions belong to their form (the leads they made stay).
    web_form = models.ForeignKey(
        WebForm, verbose_name=_("web form"), on_delete=models.CASCADE, related_name="submissions"
    )
    # SET_NULL: the submission is the consent record; it stays when the lead is deleted.
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    page_url = models.CharField(_("page"), max_length=500, blank=True)
    data = models.JSONField(_("data"), default=dict)
    consent_given = models.BooleanField(_("consent given"), default=False)
    consent_text = models.TextField(_("consent text"), blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("web form submission")
        verbose_name_plural = _("web form submissions")
        indexes = [
            models.Index(fields=["web_form", "-submitted_at"], name="sales_submission_form_idx"),
            models.Index(fields=["ip_address", "-submitted_at"], name="sales_submission_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.web_form_id} {self.submitted_at:%Y-%m-%d %H:%M}"
