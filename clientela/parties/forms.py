"""Forms of the organization and contact pages.

The forms only parse what a person typed; the services validate it and write it. A service's
ValidationError is mapped back onto the fields it names (``add_service_errors``), so a message appears
next to what caused it, whether the form or the service found the problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.custom_fields import custom_field_form_field
from clientela.core.locale import country_choices, country_codes, currency_choices
from clientela.core.models import CustomFieldDefinition, CustomFieldType
from clientela.core.permissions import Perm, has_perm
from clientela.core.phones import phone_to_e164
from clientela.identity.selectors import assignable_owners_for, assignable_teams_for
from clientela.parties.choices import (
    ContactSource,
    EmailKind,
    Industry,
    LifecycleStage,
    PhoneKind,
    SizeBand,
)
from clientela.parties.models import Contact, Organization

CUSTOM_FIELD_PREFIX = "cf_"


def tag_names_parse(text: str) -> list[str]:
    """Comma-separated tag names, trimmed, without empty or repeated (any case) names."""
    names: dict[str, str] = {}
    for part in (text or "").split(","):
        name = " ".join(part.split())
        if name and name.casefold() not in names:
            names[name.casefold()] = name
    return list(names.values())


def _blank_choice(choices: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "—"), *choices]


class PartyForm(forms.Form):
    """What organization and contact forms share: address, owner and team, tags, custom fields, version."""

    # Address fields, in the order they are shown.
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas. New names create new tags."),
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)
    is_shared_with_team = forms.BooleanField(
        label=_("Shared with the team"),
        required=False,
        initial=True,
        help_text=_("Everyone in the team can see and edit it, not only its owner."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # The model fields this form edits directly (passed to the service as keyword arguments).
    record_fields: tuple[str, ...] = ()
    address_fields = ("street", "postal_code", "city", "region", "country")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        actor: Any,
        definitions: Sequence[CustomFieldDefinition],
        record: Any = None,
        **kwargs: Any,
    ) -> None:
        self.actor = actor
        self.record = record
        self.definitions = list(definitions)
        if record is not None:
            kwargs.setdefault("initial", self.initial_from(record))
        super().__init__(data, **kwargs)
        self.fields["country"].choices = _blank_choice(country_choices())
        if has_perm(actor, Perm.PARTIES_ASSIGN):
            owners = assignable_owners_for(actor)
            teams = assignable_teams_for(actor)
            if record is not None:
                # The current owner and team stay choosable even when the actor could not give the
                # record to them, so that saving other changes never moves the record by accident.
                owners = owners.model.objects.filter(
                    Q(pk__in=owners.values("pk")) | Q(pk=record.owner_id)
                )
                teams = teams.model.objects.filter(
                    Q(pk__in=teams.values("pk")) | Q(pk=record.team_id)
                )
            self.fields["owner"].queryset = owners.order_by(Lower("full_name"), "id")
            self.fields["team"].queryset = teams.order_by(Lower("name"), "id")
            if record is None:
                self.fields["owner"].empty_label = _("Me")
                self.fields["owner"].help_text = _("Empty: you own it.")
                self.fields["team"].help_text = _("Empty: your first team.")
            else:
                self.fields["owner"].empty_label = None
                if record.team_id is not None:
                    self.fields["team"].empty_label = None
        else:
            # Without the assign permission a record stays with its owner (the creator, when new).
            del self.fields["owner"]
            del self.fields["team"]
        if record is None:
            del self.fields["version"]
        else:
            self.fields["version"].required = True
        for definition in self.definitions:
            self.fields[CUSTOM_FIELD_PREFIX + definition.key] = custom_field_form_field(definition)

    def initial_from(self, record: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(record, name) for name in self.record_fields}
        initial.update(
            {
                "tags": ", ".join(tag.name for tag in record.tags.all()),
                "owner": record.owner_id,
                "team": record.team_id,
                "version": record.version,
            }
        )
        for definition in self.definitions:
            value = (record.custom_fields or {}).get(definition.key)
            if definition.field_type == CustomFieldType.BOOLEAN and isinstance(value, bool):
                value = "true" if value else "false"
            initial[CUSTOM_FIELD_PREFIX + definition.key] = value
        return initial

    # -- what the template shows -----------------------------------------------------------

    @property
    def has_assign_fields(self) -> bool:
        return "owner" in self.fields

    def custom_field_bound_fields(self) -> list[forms.BoundField]:
        return [self[CUSTOM_FIELD_PREFIX + definition.key] for definition in self.definitions]

    def address_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.address_fields]

    # -- what the service gets ---------------------------------------------------------------

    def service_values(self) -> dict[str, Any]:
        """Keyword arguments for the create/update service (after ``is_valid``)."""
        data = self.cleaned_data
        values: dict[str, Any] = {name: data[name] for name in self.record_fields}
        values["tags"] = tag_names_parse(data.get("tags", ""))
        values["custom_fields"] = {
            definition.key: data.get(CUSTOM_FIELD_PREFIX + definition.key)
            for definition in self.definitions
        }
        if self.has_assign_fields:
            if data.get("owner") is not None:
                values["owner"] = data["owner"]
            if data.get("team") is not None:
                values["team"] = data["team"]
        return values

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")

    def add_service_errors(self, error: ValidationError) -> dict[str, list[str]]:
        """Put a service's messages on the fields they name; return the ones for other sections
        (emails, phones, organizations) keyed by section."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return {}
        others: dict[str, list[str]] = {}
        for key, messages in error.message_dict.items():
            if (
                key.startswith("custom_fields.")
                and CUSTOM_FIELD_PREFIX + key.partition(".")[2] in self.fields
            ):
                self.add_error(CUSTOM_FIELD_PREFIX + key.partition(".")[2], messages)
            elif key in self.fields and key != "version":
                self.add_error(key, messages)
            elif key in ("emails", "phones", "organizations"):
                others.setdefault(key, []).extend(messages)
            else:
                self.add_error(None, messages)
        return others


class OrganizationForm(PartyForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    website = forms.URLField(
        label=_("Website"), max_length=300, required=False, assume_scheme="https"
    )
    industry = forms.ChoiceField(
        label=_("Industry"), choices=_blank_choice(Industry.choices), required=False
    )
    size_band = forms.ChoiceField(
        label=_("Size"), choices=_blank_choice(SizeBand.choices), required=False
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any common format; without a country code, the country's format is assumed."),
    )
    annual_revenue = forms.DecimalField(
        label=_("Annual revenue"), max_digits=16, decimal_places=2, min_value=0, required=False
    )
    currency = forms.ChoiceField(label=_("Currency"))
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    record_fields = (
        "name",
        "website",
        "industry",
        "size_band",
        "phone",
        "annual_revenue",
        "currency",
        "description",
        "street",
        "postal_code",
        "city",
        "region",
        "country",
        "is_shared_with_team",
    )
    main_fields = (
        "name",
        "website",
        "industry",
        "size_band",
        "phone",
        "annual_revenue",
        "currency",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices()
        self.fields["currency"].initial = settings.CLIENTELA_DEFAULT_CURRENCY

    def main_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.main_fields]


class ContactForm(PartyForm):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"), choices=LifecycleStage.choices, initial=LifecycleStage.LEAD
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=_blank_choice(ContactSource.choices), required=False
    )
    preferred_language = forms.CharField(
        label=_("Preferred language"),
        max_length=10,
        required=False,
        help_text=_("A language code such as en, es or da."),
    )

    record_fields = (
        "first_name",
        "last_name",
        "job_title",
        "lifecycle_stage",
        "source",
        "preferred_language",
        "street",
        "postal_code",
        "city",
        "region",
        "country",
        "is_shared_with_team",
    )
    main_fields = (
        "first_name",
        "last_name",
        "job_title",
        "lifecycle_stage",
        "source",
        "preferred_language",
    )

    def main_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.main_fields]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The service says the same; checking here too shows it together with the other errors.
        if (
            not cleaned.get("first_name")
            and not cleaned.get("last_name")
            and "last_name" not in self.errors
        ):
            self.add_error("last_name", _("Enter a first or a last name."))
        return cleaned


# -- a contact's emails, phones and organizations ------------------------------------------------


class EmailRowForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=EmailKind.choices, initial=EmailKind.WORK)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class PhoneRowForm(forms.Form):
    number = forms.CharField(label=_("Phone"), max_length=40, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=PhoneKind.choices, initial=PhoneKind.MOBILE)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)

    def __init__(self, *args: Any, region: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_number(self) -> str:
        # The service reads numbers the same way; checking here puts the message on the row.
        number = self.cleaned_data.get("number", "")
        if number:
            phone_to_e164(number, self.region)
        return number


class AffiliationRowForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=None, required=False)
    role = forms.CharField(label=_("Role"), max_length=150, required=False)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)

    def __init__(self, *args: Any, organizations: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


EmailFormSet = forms.formset_factory(EmailRowForm, extra=1, can_delete=True)
PhoneFormSet = forms.formset_factory(PhoneRowForm, extra=1, can_delete=True)
AffiliationFormSet = forms.formset_factory(AffiliationRowForm, extra=1, can_delete=True)


def _rows(formset: forms.BaseFormSet, key: str) -> list[dict[str, Any]]:
    """The filled-in rows of a valid formset, without the ones marked for removal."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data.get(key) or data.get("DELETE"):
            continue
        rows.append({name: value for name, value in data.items() if name != "DELETE"})
    return rows


def _phone_region(data: Mapping[str, Any] | None, contact: Contact | None) -> str | None:
    """The country in which phone numbers without a country code are read: the one being saved."""
    if data is None:
        return contact.country if contact is not None and contact.country else None
    country = str(data.get("country") or "").upper()
    return country if country in country_codes() else None


class ContactFormGroup:
    """The contact form with its three row sets (emails, phones, organizations), used as one."""

    def __init__(
        self,
        data: Mapping[str, Any] | None,
        *,
        actor: Any,
        definitions: Sequence[CustomFieldDefinition],
        organizations: QuerySet[Organization],
        contact: Contact | None = None,
    ) -> None:
        self.contact = contact
        self.form = ContactForm(data, actor=actor, definitions=definitions, record=contact)
        emails = phones = affiliations = None
        if contact is not None:
            emails = [
                {"email": item.email, "kind": item.kind, "is_primary": item.is_primary}
                for item in contact.emails.all()
            ]
            phones = [
                {"number": item.number, "kind": item.kind, "is_primary": item.is_primary}
                for item in contact.phones.all()
            ]
            affiliations = [
                {
                    "organization": item.organization_id,
                    "role": item.role,
                    "is_primary": item.is_primary,
                }
                for item in contact.affiliations.all()
            ]
        self.emails = EmailFormSet(data, prefix="emails", initial=emails)
        self.phones = PhoneFormSet(
            data,
            prefix="phones",
            initial=phones,
            form_kwargs={"region": _phone_region(data, contact)},
        )
        self.organizations = AffiliationFormSet(
            data,
            prefix="organizations",
            initial=affiliations,
            form_kwargs={"organizations": organizations},
        )
        self.section_errors: dict[str, list[str]] = {}
        self.is_conflict = False

    def is_valid(self) -> bool:
        results = [
            self.form.is_valid(),
            self.emails.is_valid(),
            self.phones.is_valid(),
            self.organizations.is_valid(),
        ]
        return all(results)

    def service_values(self) -> dict[str, Any]:
        values = self.form.service_values()
        values["emails"] = _rows(self.emails, "email")
        values["phones"] = _rows(self.phones, "number")
        # The form lists only the organizations the actor can see, and the service replaces the whole
        # list; so an untouched list is not sent, and affiliations the actor cannot see stay.
        if self.contact is None or self.organizations.has_changed():
            values["organizations"] = _rows(self.organizations, "organization")
        return values

    @property
    def expected_version(self) -> int | None:
        return self.form.expected_version

    def add_service_errors(self, error: ValidationError) -> None:
        self.section_errors = self.form.add_service_errors(error)

    @property
    def has_errors(self) -> bool:
        return bool(
            self.form.errors
            or any(self.emails.errors)
            or self.emails.non_form_errors()
            or any(self.phones.errors)
            or self.phones.non_form_errors()
            or any(self.organizations.errors)
            or self.organizations.non_form_errors()
            or self.section_errors
            or self.is_conflict
        )
