"""What every domain shares: base models and mixins, tags, custom field definitions, the event log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    """Created and updated times, in UTC."""

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        abstract = True


class VersionedModel(models.Model):
    """A version number that every service write increments, for optimistic locking and ETags."""

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True


class OwnedModel(models.Model):
    """A record that belongs to a user and a team; visibility is derived from these (core.selectors)."""

    # PROTECT: a user who still owns records is deactivated, never deleted, so history keeps its owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # PROTECT: a team is emptied (its records reassigned) before it can be deleted.
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    is_shared_with_team = models.BooleanField(
        _("shared with the team"),
        default=True,
        help_text=_("Everyone in the team can see and edit it, not only its owner."),
    )

    class Meta:
        abstract = True


class CustomFieldsModel(models.Model):
    """Values of the custom fields an administrator defined for this record type, keyed by field key."""

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True


class Tag(TimestampedModel):
    """A label that any taggable record can carry; names are unique regardless of case."""

    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("color"), max_length=7, default="#6c757d")

    class Meta:
        ordering = [Lower("name")]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(Lower("name"), name="core_tag_name_ci_unique")]
        indexes = [models.Index(Lower("name"), name="core_tag_name_lower_idx")]

    def __str__(self) -> str:
        return self.name


class TaggedModel(models.Model):
    """A record that can carry tags."""

    tags = models.ManyToManyField(
        Tag, verbose_name=_("tags"), blank=True, related_name="%(app_label)s_%(class)s_set"
    )

    class Meta:
        abstract = True


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")
    URL = "url", _("URL")


class CustomFieldDefinition(TimestampedModel):
    """A field an administrator adds to one record type (for example contacts)."""

    record_type = models.CharField(_("record type"), max_length=64)
    key = models.SlugField(
        _("key"), max_length=50, help_text=_("Used in the API, imports and exports.")
    )
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    is_required = models.BooleanField(_("required"), default=False)
    min_value = models.DecimalField(
        _("minimum"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["record_type", "position", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "key"], name="core_customfield_record_type_key_unique"
            )
        ]
        indexes = [models.Index(fields=["record_type", "position", "id"], name="core_cf_order_idx")]

    def __str__(self) -> str:
        return self.label


class Event(models.Model):
    """One thing that happened to one record: the timeline, the audit trail and (later) webhooks.

    Services write events; nothing else does. ``kind`` is one of the typed constants that each domain
    declares in its ``events.py``; ``data`` holds what is needed to tell the story later (old and new
    values, the record's label at the time) because the record itself may be gone.
    """

    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    # SET_NULL: the audit trail outlives a user row (users are normally deactivated, not deleted).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # PROTECT: content types are never deleted while events point at them.
    record_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), on_delete=models.PROTECT, related_name="+"
    )
    record_id = models.BigIntegerField(_("record id"))
    kind = models.CharField(_("kind"), max_length=64)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(
                fields=["record_type", "record_id", "-occurred_at", "-id"],
                name="core_event_record_idx",
            ),
            models.Index(fields=["-occurred_at", "-id"], name="core_event_time_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="core_event_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_type_id}:{self.record_id}"


class DemoDataset(models.Model):
    """Marks that demo data was loaded, so that `clientela demo --if-empty` never loads it twice."""

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    size = models.CharField(_("size"), max_length=10)
    seed = models.IntegerField(_("seed"))

    class Meta:
        verbose_name = _("demo dataset")
        verbose_name_plural = _("demo datasets")

    def __str__(self) -> str:
        return f"{self.size} ({self.seed})"


class IdempotencyKey(models.Model):
    """The first answer to an API POST sent with an ``Idempotency-Key``, returned again on a retry.

    ``response_status`` is null while the first request is still running; a second request with the
    same key meanwhile answers 409. Keys expire after CLIENTELA_IDEMPOTENCY_HOURS.
    """

    # CASCADE: keys are per user and worthless without them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=2000)
    # SHA-256 of method, path and body: the same key with another request answers 422.
    request_hash = models.CharField(_("request hash"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    response_body = models.BinaryField(_("response body"), default=b"", blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="core_idempotency_user_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="core_idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    """A message for one person inside Clientela (the bell in the header): a lead assigned to them, a
    task reminder. Sent by services; read when the person opens it."""

    # CASCADE: notifications are the person's own.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="core_notification_user_idx"),
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="core_notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title
