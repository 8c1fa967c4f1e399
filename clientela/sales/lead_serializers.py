"""The JSON form of leads, conversions, assignment rules and web forms in the API.

Serializers check shapes and types only; the services validate values (emails, phone numbers,
countries, rules, form fields) with the same messages the pages show, and do every write.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
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
from clientela.parties.choices import ContactSource
from clientela.parties.models import Contact, Organization
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to
from clientela.sales.choices import AssignmentMethod, WebFormField
from clientela.sales.models import AssignmentRule, Lead, Pipeline, WebForm
from clientela.sales.webforms import webform_public_url, webform_snippet


class LeadSerializer(StrictModelSerializer):
    """Someone who may become a customer."""

    url = serializers.HyperlinkedIdentityField(view_name="lead-detail")
    full_name = serializers.CharField(read_only=True)
    email = serializers.CharField(
        max_length=254,
        allow_blank=True,
        required=False,
        help_text=_("Stored in lower case."),
    )
    phone = serializers.CharField(
        max_length=40,
        allow_blank=True,
        required=False,
        help_text=_("Any common format on input; E.164 (+4532123456) on output."),
    )
    owner = ScopedPrimaryKeyRelatedField(
        selector=users_visible_to,
        queryset=User.objects.all(),
        required=False,
        help_text=_("The owning user's id. Without it, the assignment rules decide."),
    )
    team = ScopedPrimaryKeyRelatedField(
        selector=teams_visible_to,
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("The team's id."),
    )
    tags = TagNamesField(required=False)
    custom_fields = CustomFieldsField(required=False)

    class Meta:
        model = Lead
        fields = [
            "id",
            "url",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "company_name",
            "job_title",
            "country",
            "source",
            "status",
            "message",
            "web_form",
            "owner",
            "team",
            "is_shared_with_team",
            "tags",
            "custom_fields",
            "first_activity_at",
            "converted_at",
            "converted_contact",
            "converted_organization",
            "converted_deal",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "web_form",
            "first_activity_at",
            "converted_at",
            "converted_contact",
            "converted_organization",
            "converted_deal",
            "version",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "country": {"help_text": _("ISO 3166 code, such as DK.")},
            "status": {"help_text": _("“converted” comes only from the convert action.")},
        }


class LeadConvertSerializer(StrictSerializer):
    """What a lead becomes. Left out, the contact and organization are found or created."""

    contact = ScopedPrimaryKeyRelatedField(
        selector=lambda actor: contacts_visible_to(actor).prefetch_related(None),
        queryset=Contact.objects.all(),
        required=False,
        allow_null=True,
        help_text=_(
            "An existing contact's id. Left out: the contact with the lead's email address, else "
            "a new one."
        ),
    )
    organization = ScopedPrimaryKeyRelatedField(
        selector=lambda actor: organizations_visible_to(actor).prefetch_related(None),
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
        help_text=_(
            "An existing organization's id. Left out: the one with the lead's company name or email "
            "domain, else a new one from the company name."
        ),
    )
    create_deal = serializers.BooleanField(required=False, default=False)
    deal_title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text=_("Left out: the lead's web form's pipeline, else the first active one."),
    )
    amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, required=False, allow_null=True
    )


class ConversionSerializer(serializers.Serializer):
    """What converting a lead made or found."""

    lead = LeadSerializer(read_only=True)
    contact = serializers.IntegerField(source="contact.pk", read_only=True)
    organization = serializers.IntegerField(
        source="organization.pk", read_only=True, allow_null=True
    )
    deal = serializers.IntegerField(source="deal.pk", read_only=True, allow_null=True)
    is_contact_new = serializers.BooleanField(read_only=True)
    is_organization_new = serializers.BooleanField(read_only=True)


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "enum": list(ContactSource.values)}}
)
class SourceListField(serializers.ListField):
    """Lead sources, described inline: the source enum component keeps its one name."""


class AssignmentRuleSerializer(StrictModelSerializer):
    """Who gets new leads: the first active rule whose conditions a lead meets decides."""

    url = serializers.HyperlinkedIdentityField(view_name="assignment-rule-detail")
    sources = SourceListField(
        child=serializers.ChoiceField(choices=ContactSource.choices),
        required=False,
        help_text=_("Only leads from these sources; empty: any."),
    )
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2),
        required=False,
        help_text=_("Only leads from these countries (ISO 3166 codes); empty: any."),
    )
    method = serializers.ChoiceField(choices=AssignmentMethod.choices, required=False)
    position = serializers.IntegerField(
        min_value=0, required=False, help_text=_("Left out: after every existing rule.")
    )

    class Meta:
        model = AssignmentRule
        fields = [
            "id",
            "url",
            "name",
            "position",
            "is_active",
            "sources",
            "countries",
            "web_form",
            "method",
            "team",
            "user",
            "last_assigned",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "last_assigned", "created_at", "updated_at"]


class WebFormFieldSerializer(StrictSerializer):
    """One field a web form asks for."""

    field = serializers.ChoiceField(choices=WebFormField.choices)
    required = serializers.BooleanField(default=False)


class WebFormSerializer(StrictModelSerializer):
    """A lead-capture form: its hosted page, its embeddable snippet and where its leads go."""

    url = serializers.HyperlinkedIdentityField(view_name="web-form-detail")
    slug = serializers.SlugField(
        max_length=60, required=False, allow_blank=True, help_text=_("Left out: from the name.")
    )
    fields = WebFormFieldSerializer(many=True, required=False)  # type: ignore[assignment]
    redirect_url = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text=_("http or https only.")
    )
    default_owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("Gets the leads no rule routes. Left out on creation: you."),
    )
    public_url = serializers.SerializerMethodField(
        help_text=_("The hosted page, and where submissions go (form-encoded or JSON).")
    )
    embed_html = serializers.SerializerMethodField(
        help_text=_("An HTML snippet to paste into a website.")
    )

    class Meta:
        model = WebForm
        fields = [
            "id",
            "url",
            "name",
            "slug",
            "is_active",
            "fields",
            "title",
            "intro",
            "submit_label",
            "consent_text",
            "thank_you_message",
            "redirect_url",
            "source",
            "default_owner",
            "team",
            "pipeline",
            "public_url",
            "embed_html",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]

    def get_public_url(self, web_form: WebForm) -> str:
        return webform_public_url(web_form)

    def get_embed_html(self, web_form: WebForm) -> str:
        return webform_snippet(web_form)


def webform_service_fields(validated: dict[str, Any]) -> dict[str, Any]:
    data = dict(validated)
    if "fields" in data:
        data["fields"] = [dict(item) for item in data["fields"]]
    return data
