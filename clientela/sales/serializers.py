"""The JSON form of pipelines, stages, close reasons and deals in the API.

Serializers check shapes and types only; the services validate values and do every write.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clientela.core.api import (
    CustomFieldsField,
    ScopedPrimaryKeyRelatedField,
    StrictModelSerializer,
    StrictSerializer,
    TagNamesField,
)
from clientela.identity.models import Team, User
from clientela.identity.selectors import teams_visible_to, users_visible_to
from clientela.parties.models import Contact, Organization
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to
from clientela.sales.choices import CloseOutcome, StageOutcome
from clientela.sales.models import CloseReason, Deal, Pipeline, Stage
from clientela.sales.selectors import (
    close_reasons_visible_to,
    pipelines_visible_to,
    stages_visible_to,
)


class StageSerializer(StrictSerializer):
    """One stage of a pipeline, in the pipeline's order."""

    id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=_("An existing stage's id keeps that stage; leave it out for a new stage."),
    )
    name = serializers.CharField(max_length=100)
    probability = serializers.IntegerField(min_value=0, max_value=100, default=10)
    outcome = serializers.ChoiceField(choices=StageOutcome.choices, default=StageOutcome.OPEN)
    stale_after_days = serializers.IntegerField(
        min_value=1,
        max_value=32767,
        allow_null=True,
        required=False,
        help_text=_("Deals that stay longer at the stage are flagged on the board."),
    )


class PipelineSerializer(StrictModelSerializer):
    """A series of stages that deals move through."""

    url = serializers.HyperlinkedIdentityField(view_name="pipeline-detail")
    stages = StageSerializer(
        many=True,
        required=False,
        help_text=_(
            "Writing replaces the stages, in this order: stages sent with their id are kept, new "
            "ones are added, and the others removed (refused while deals or their history use them)."
        ),
    )

    class Meta:
        model = Pipeline
        fields = [
            "id",
            "url",
            "name",
            "position",
            "is_active",
            "currency",
            "stages",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        extra_kwargs = {"position": {"required": False}}


class CloseReasonSerializer(StrictModelSerializer):
    """A reason deals are won or lost for, from the list administrators keep."""

    url = serializers.HyperlinkedIdentityField(view_name="close-reason-detail")
    outcome = serializers.ChoiceField(choices=CloseOutcome.choices)

    class Meta:
        model = CloseReason
        fields = [
            "id",
            "url",
            "outcome",
            "name",
            "position",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"position": {"required": False}, "is_active": {"required": False}}


class DealLineItemSerializer(StrictSerializer):
    """A product or service of interest: quantity times unit price, less the discount."""

    name = serializers.CharField(max_length=200)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, default="1")
    unit_price = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default="0"
    )
    total = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)


class DealSerializer(StrictModelSerializer):
    """A sale being worked on. The stage changes through the move action only."""

    url = serializers.HyperlinkedIdentityField(view_name="deal-detail")
    pipeline = ScopedPrimaryKeyRelatedField(
        selector=lambda actor: pipelines_visible_to(actor).prefetch_related(None),
        queryset=Pipeline.objects.all(),
        help_text=_("The pipeline's id; it cannot change once the deal exists."),
    )
    stage = ScopedPrimaryKeyRelatedField(
        selector=stages_visible_to,
        queryset=Stage.objects.all(),
        required=False,
        help_text=_(
            "On creation, an open stage of the pipeline (its first open stage when left out). "
            "Afterwards read-only: POST to …/move/."
        ),
    )
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    organization = ScopedPrimaryKeyRelatedField(
        selector=lambda actor: organizations_visible_to(actor).prefetch_related(None),
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
    )
    contacts = ScopedPrimaryKeyRelatedField(
        selector=lambda actor: contacts_visible_to(actor).prefetch_related(None),
        queryset=Contact.objects.all(),
        many=True,
        required=False,
        help_text=_("Ids of contacts you can see. Writing replaces them."),
    )
    amount = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_(
            "Left out when line items are sent: the sum of the line items' totals. Left out "
            "otherwise: unchanged (0 for a new deal)."
        ),
    )
    line_items = DealLineItemSerializer(
        many=True, required=False, help_text=_("Writing replaces every line item.")
    )
    owner = ScopedPrimaryKeyRelatedField(
        selector=users_visible_to,
        queryset=User.objects.all(),
        required=False,
        help_text=_("The owning user's id. New deals belong to their creator unless given."),
    )
    team = ScopedPrimaryKeyRelatedField(
        selector=teams_visible_to,
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
    )
    close_reason = serializers.PrimaryKeyRelatedField(read_only=True)
    effective_probability = serializers.IntegerField(read_only=True)
    tags = TagNamesField(required=False)
    custom_fields = CustomFieldsField(required=False)

    class Meta:
        model = Deal
        fields = [
            "id",
            "url",
            "title",
            "pipeline",
            "stage",
            "stage_name",
            "status",
            "amount",
            "currency",
            "probability",
            "effective_probability",
            "expected_close_date",
            "organization",
            "contacts",
            "line_items",
            "next_step",
            "next_step_date",
            "stage_entered_at",
            "closed_at",
            "close_reason",
            "close_note",
            "owner",
            "team",
            "is_shared_with_team",
            "tags",
            "custom_fields",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "stage_entered_at",
            "closed_at",
            "close_note",
            "version",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "currency": {
                "required": False,
                "help_text": _("ISO 4217 code; the pipeline's currency when left out."),
            },
        }


class DealUpdateSerializer(DealSerializer):
    pipeline = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[assignment]
    stage = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[assignment]


class DealMoveSerializer(StrictSerializer):
    """Where a deal moves: a stage of its pipeline; a won or lost stage needs a reason."""

    stage = serializers.IntegerField(min_value=1, help_text=_("A stage of the deal's pipeline."))
    close_reason = ScopedPrimaryKeyRelatedField(
        selector=close_reasons_visible_to,
        queryset=CloseReason.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Required for a won or lost stage: an active reason of that outcome."),
    )
    close_note = serializers.CharField(allow_blank=True, required=False, default="")


def deal_service_fields(validated: dict[str, Any]) -> dict[str, Any]:
    """Validated deal data as the keyword arguments of ``deal_create``/``deal_update``."""
    data = dict(validated)
    if "line_items" in data:
        data["line_items"] = [dict(item) for item in data["line_items"]]
    if "contacts" in data:
        data["contacts"] = list(data["contacts"])
    return data
