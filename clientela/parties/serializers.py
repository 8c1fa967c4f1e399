"""The JSON form of organizations and contacts in the API.

Serializers check shapes and types only; the services validate values (emails, phone numbers, countries,
custom fields) with the same messages the pages show, and do every write.
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
from clientela.parties.choices import EmailKind, PhoneKind
from clientela.parties.models import Contact, Organization

_PARTY_FIELDS = [
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "owner",
    "team",
    "is_shared_with_team",
    "tags",
    "custom_fields",
    "version",
    "created_at",
    "updated_at",
]
_READ_ONLY = ["id", "version", "created_at", "updated_at"]


def _owner_field() -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(
        selector=users_visible_to,
        queryset=User.objects.all(),
        required=False,
        help_text=_("The owning user's id. New records belong to their creator unless given."),
    )


def _team_field() -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(
        selector=teams_visible_to,
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("The team's id. New records go to their owner's first team unless given."),
    )


class OrganizationSerializer(StrictModelSerializer):
    """A company or institution."""

    url = serializers.HyperlinkedIdentityField(view_name="organization-detail")
    phone = serializers.CharField(
        max_length=40,
        allow_blank=True,
        required=False,
        help_text=_("Any common format on input; E.164 (+4532123456) on output."),
    )
    annual_revenue = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, allow_null=True, required=False
    )
    owner = _owner_field()
    team = _team_field()
    tags = TagNamesField(required=False)
    custom_fields = CustomFieldsField(required=False)

    class Meta:
        model = Organization
        fields = [
            "id",
            "url",
            "name",
            "website",
            "domain",
            "industry",
            "size_band",
            "phone",
            "annual_revenue",
            "currency",
            "description",
            *_PARTY_FIELDS,
        ]
        read_only_fields = [*_READ_ONLY, "domain"]
        extra_kwargs = {
            "country": {"help_text": _("ISO 3166 code, such as DK.")},
            "currency": {"help_text": _("ISO 4217 code, such as EUR.")},
        }


class ContactEmailSerializer(StrictSerializer):
    """One of a contact's email addresses."""

    email = serializers.CharField(max_length=254)
    kind = serializers.ChoiceField(choices=EmailKind.choices, default=EmailKind.WORK)
    is_primary = serializers.BooleanField(default=False)


class ContactPhoneSerializer(StrictSerializer):
    """One of a contact's phone numbers."""

    number = serializers.CharField(
        max_length=40, help_text=_("Any common format on input; E.164 (+4532123456) on output.")
    )
    kind = serializers.ChoiceField(choices=PhoneKind.choices, default=PhoneKind.MOBILE)
    is_primary = serializers.BooleanField(default=False)


class AffiliationSerializer(StrictSerializer):
    """A contact's place at an organization."""

    organization = serializers.IntegerField(
        source="organization_id", min_value=1, help_text=_("The organization's id.")
    )
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    role = serializers.CharField(max_length=150, allow_blank=True, default="")
    is_primary = serializers.BooleanField(default=False)


class ContactSerializer(StrictModelSerializer):
    """A person the business deals with."""

    url = serializers.HyperlinkedIdentityField(view_name="contact-detail")
    full_name = serializers.CharField(read_only=True)
    emails = ContactEmailSerializer(
        many=True,
        required=False,
        help_text=_(
            "Writing replaces every address. One is primary: the first one marked, else the first."
        ),
    )
    phones = ContactPhoneSerializer(
        many=True,
        required=False,
        help_text=_(
            "Writing replaces every number. One is primary: the first one marked, else the first."
        ),
    )
    organizations = AffiliationSerializer(
        many=True,
        required=False,
        source="affiliations",
        help_text=_(
            "Where the contact works (organizations you can see). Writing replaces them all."
        ),
    )
    owner = _owner_field()
    team = _team_field()
    tags = TagNamesField(required=False)
    custom_fields = CustomFieldsField(required=False)

    class Meta:
        model = Contact
        fields = [
            "id",
            "url",
            "first_name",
            "last_name",
            "full_name",
            "job_title",
            "lifecycle_stage",
            "source",
            "preferred_language",
            "emails",
            "phones",
            "organizations",
            *_PARTY_FIELDS,
        ]
        read_only_fields = _READ_ONLY
        extra_kwargs = {
            "country": {"help_text": _("ISO 3166 code, such as DK.")},
            "preferred_language": {"help_text": _("A language code, such as da or en-GB.")},
        }


def contact_service_fields(validated: dict[str, Any]) -> dict[str, Any]:
    """Validated contact data as the keyword arguments of ``contact_create``/``contact_update``."""
    data = dict(validated)
    if "affiliations" in data:
        data["organizations"] = [
            {
                "organization": item["organization_id"],
                "role": item.get("role", ""),
                "is_primary": item.get("is_primary", False),
            }
            for item in data.pop("affiliations")
        ]
    for name in ("emails", "phones"):
        if name in data:
            data[name] = [dict(item) for item in data[name]]
    return data
