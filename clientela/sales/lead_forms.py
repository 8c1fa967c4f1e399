"""Forms of the lead, assignment rule and web form pages, and of the public web form.

The forms only parse what a person typed; the services in ``sales.leads`` and ``sales.webforms``
validate and write it, and their ValidationErrors go back onto the fields they name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.locale import country_choices
from clientela.core.permissions import Perm, has_perm
from clientela.identity.models import Team, User
from clientela.identity.selectors import assignable_owners_for, assignable_teams_for
from clientela.parties.choices import ContactSource
from clientela.parties.forms import tag_names_parse
from clientela.sales.choices import AssignmentMethod, LeadStatus, WebFormField
from clientela.sales.leads import EDITABLE_STATUSES
from clientela.sales.models import Lead, Pipeline, WebForm
from clientela.sales.webforms import CONSENT_FIELD, HONEYPOT_FIELD, PAGE_FIELD, webform_field_specs


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class ServiceErrorsMixin:
    """Puts a service's ValidationError messages on the fields they name (others on the form)."""

    def add_service_errors(self, error: ValidationError) -> None:
        form: Any = self
        if not hasattr(error, "error_dict"):
            form.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            target = key.replace("custom_fields.", "cf_")
            form.add_error(target if target in form.fields else None, messages)


class LeadForm(ServiceErrorsMixin, forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.EmailInput
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any common format; without a country code, the country's format is assumed."),
    )
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=150, required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    source = forms.ChoiceField(
        label=_("Source"), choices=_blank(ContactSource.choices), required=False
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    message = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas. New names create new tags."),
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    is_shared_with_team = forms.BooleanField(
        label=_("Shared with the team"),
        required=False,
        initial=True,
        help_text=_("Everyone in the team can see and edit it, not only its owner."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    record_fields = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "job_title",
        "country",
        "source",
        "message",
        "is_shared_with_team",
    )
    main_fields = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "job_title",
        "country",
        "source",
        "status",
    )

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, actor: Any, lead: Lead | None = None
    ) -> None:
        self.actor = actor
        self.lead = lead
        initial: dict[str, Any] = {}
        if lead is not None:
            initial = {name: getattr(lead, name) for name in (*self.record_fields, "status")}
            initial.update(
                {
                    "tags": ", ".join(tag.name for tag in lead.tags.all()),
                    "owner": lead.owner_id,
                    "team": lead.team_id,
                    "version": lead.version,
                }
            )
        super().__init__(data, initial=initial)
        self.fields["country"].choices = _blank(country_choices())
        statuses = dict(LeadStatus.choices)
        self.fields["status"].choices = [(value, statuses[value]) for value in EDITABLE_STATUSES]
        if lead is None or lead.status == LeadStatus.CONVERTED:
            del self.fields["status"]
        if has_perm(actor, Perm.SALES_ASSIGN):
            owners = assignable_owners_for(actor)
            teams = assignable_teams_for(actor)
            if lead is not None:
                owners = User.objects.filter(Q(pk__in=owners.values("pk")) | Q(pk=lead.owner_id))
                teams = Team.objects.filter(Q(pk__in=teams.values("pk")) | Q(pk=lead.team_id))
            owner_field: Any = self.fields["owner"]
            team_field: Any = self.fields["team"]
            owner_field.queryset = owners.order_by(Lower("full_name"), "id")
            team_field.queryset = teams.order_by(Lower("name"), "id")
            if lead is None:
                owner_field.empty_label = _("By the assignment rules")
                owner_field.help_text = _("Empty: the assignment rules decide (else you).")
            else:
                owner_field.empty_label = None
        else:
            del self.fields["owner"]
            del self.fields["team"]
        if lead is None:
            del self.fields["version"]
        else:
            self.fields["version"].required = True

    @property
    def has_assign_fields(self) -> bool:
        return "owner" in self.fields

    def main_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.main_fields if name in self.fields]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {name: data[name] for name in self.record_fields}
        if "status" in self.fields and data.get("status"):
            values["status"] = data["status"]
        values["tags"] = tag_names_parse(data.get("tags", ""))
        if self.has_assign_fields:
            if data.get("owner") is not None:
                values["owner"] = data["owner"]
            if data.get("team") is not None:
                values["team"] = data["team"]
        return values

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class LeadImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "The first row names the columns: first_name, last_name, email, phone, company, "
            "job_title, country, source, message."
        ),
    )


class ConvertForm(ServiceErrorsMixin, forms.Form):
    """Which contact and organization a lead becomes (found ones or new), and the optional deal."""

    contact = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect, required=False)
    organization = forms.ChoiceField(
        label=_("Organization"), widget=forms.RadioSelect, required=False
    )
    create_deal = forms.BooleanField(label=_("Also create a deal"), required=False)
    deal_title = forms.CharField(label=_("Deal title"), max_length=200, required=False)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False
    )
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=16, decimal_places=2, min_value=0, required=False
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        lead: Lead,
        contacts: list[Any],
        organizations: list[Any],
    ) -> None:
        initial = {
            "contact": str(contacts[0].pk) if contacts else "",
            "organization": str(organizations[0].pk) if organizations else "",
            "deal_title": lead.company_name or str(lead),
        }
        super().__init__(data, initial=initial)
        contact_field: Any = self.fields["contact"]
        contact_field.choices = [
            *[(str(contact.pk), contact.full_name) for contact in contacts],
            ("", _("Create a new contact from the lead")),
        ]
        new_organization = (
            _("Create “%(name)s”") % {"name": lead.company_name}
            if lead.company_name
            else _("No organization")
        )
        organization_field: Any = self.fields["organization"]
        organization_field.choices = [
            *[(str(organization.pk), organization.name) for organization in organizations],
            ("", new_organization),
        ]
        pipeline_field: Any = self.fields["pipeline"]
        pipeline_field.queryset = Pipeline.objects.filter(is_active=True).order_by("position", "id")
        pipeline_field.empty_label = _("The default pipeline")
        self.contacts = {str(contact.pk): contact for contact in contacts}
        self.organizations = {str(item.pk): item for item in organizations}

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "contact": self.contacts.get(data.get("contact") or ""),
            "organization": self.organizations.get(data.get("organization") or ""),
            "create_deal": bool(data.get("create_deal")),
            "deal_title": data.get("deal_title") or "",
            "pipeline": data.get("pipeline"),
            "amount": data.get("amount"),
        }


class AssignmentRuleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        required=False,
        help_text=_("Rules are tried from the lowest position up; the first that matches decides."),
    )
    sources = forms.MultipleChoiceField(
        label=_("Only leads from these sources"),
        choices=ContactSource.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any source."),
    )
    countries = forms.MultipleChoiceField(
        label=_("Only leads from these countries"),
        required=False,
        help_text=_("None chosen: any country."),
    )
    web_form = forms.ModelChoiceField(
        label=_("Only leads from this web form"),
        queryset=WebForm.objects.none(),
        required=False,
        empty_label=_("Any web form, or none"),
    )
    method = forms.ChoiceField(
        label=_("Assign"), choices=AssignmentMethod.choices, widget=forms.RadioSelect
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("In turn: its active members take turns."),
    )
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none(), required=False)

    def __init__(self, data: Mapping[str, Any] | None = None, *, rule: Any = None) -> None:
        initial: dict[str, Any] = {"method": AssignmentMethod.ROUND_ROBIN}
        if rule is not None:
            initial = {
                "name": rule.name,
                "is_active": rule.is_active,
                "position": rule.position,
                "sources": rule.sources,
                "countries": rule.countries,
                "web_form": rule.web_form_id,
                "method": rule.method,
                "team": rule.team_id,
                "user": rule.user_id,
            }
        super().__init__(data, initial=initial)
        countries: Any = self.fields["countries"]
        countries.choices = country_choices()
        web_form: Any = self.fields["web_form"]
        web_form.queryset = WebForm.objects.order_by(Lower("name"), "id")
        team: Any = self.fields["team"]
        team.queryset = Team.objects.order_by(Lower("name"), "id")
        user: Any = self.fields["user"]
        user.queryset = User.objects.filter(is_active=True).order_by(Lower("full_name"), "id")

    def service_values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


_FIELD_LABELS = dict(WebFormField.choices)


class WebFormForm(ServiceErrorsMixin, forms.Form):
    """The web form builder: settings, and for each lead field whether it is asked and required."""

    name = forms.CharField(label=_("Name"), max_length=100)
    slug = forms.SlugField(
        label=_("Address"),
        max_length=60,
        required=False,
        help_text=_("The form is at /f/<address>/. Empty: made from the name."),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive form answers “not found” and takes nothing."),
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    intro = forms.CharField(
        label=_("Introduction"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    submit_label = forms.CharField(label=_("Button text"), max_length=60, required=False)
    consent_text = forms.CharField(
        label=_("Consent text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_(
            "When given, visitors must tick a box with this text; what they agreed to is kept."
        ),
    )
    thank_you_message = forms.CharField(
        label=_("Thank-you message"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    redirect_url = forms.CharField(
        label=_("Redirect to"),
        max_length=500,
        required=False,
        help_text=_("Instead of the thank-you message, send visitors to this page (https://…)."),
    )
    source = forms.ChoiceField(label=_("Source"), choices=ContactSource.choices)
    default_owner = forms.ModelChoiceField(
        label=_("Default owner"),
        queryset=User.objects.none(),
        help_text=_("Gets the leads that no assignment rule routes."),
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.none(),
        required=False,
        help_text=_("Where the deals of its converted leads go."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    settings_fields = ("name", "slug", "is_active", "title", "intro", "submit_label")
    message_fields = ("consent_text", "thank_you_message", "redirect_url")
    routing_fields = ("source", "default_owner", "team", "pipeline")

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, actor: Any, web_form: WebForm | None = None
    ) -> None:
        self.web_form = web_form
        initial: dict[str, Any] = {"default_owner": actor.pk, "source": ContactSource.WEBSITE}
        chosen = {"first_name": False, "last_name": True, "email": True, "message": False}
        if web_form is not None:
            initial = {
                **{
                    name: getattr(web_form, name)
                    for name in (*self.settings_fields, *self.message_fields)
                },
                "source": web_form.source,
                "default_owner": web_form.default_owner_id,
                "team": web_form.team_id,
                "pipeline": web_form.pipeline_id,
                "version": web_form.version,
            }
            chosen = {item["field"]: item["required"] for item in web_form.fields or []}
        for name in WebFormField.values:
            initial[f"ask_{name}"] = name in chosen
            initial[f"required_{name}"] = chosen.get(name, False)
        super().__init__(data, initial=initial)
        for name in WebFormField.values:
            self.fields[f"ask_{name}"] = forms.BooleanField(
                label=_("Ask for %(field)s") % {"field": _FIELD_LABELS[name]}, required=False
            )
            self.fields[f"required_{name}"] = forms.BooleanField(
                label=_("%(field)s is required") % {"field": _FIELD_LABELS[name]}, required=False
            )
        owner: Any = self.fields["default_owner"]
        owner.queryset = User.objects.filter(is_active=True).order_by(Lower("full_name"), "id")
        team: Any = self.fields["team"]
        team.queryset = Team.objects.order_by(Lower("name"), "id")
        pipeline: Any = self.fields["pipeline"]
        pipeline.queryset = Pipeline.objects.filter(is_active=True).order_by("position", "id")
        if web_form is None:
            del self.fields["version"]

    def field_rows(self) -> list[dict[str, Any]]:
        """One row per lead field: its label and its two checkboxes."""
        return [
            {
                "name": name,
                "label": _FIELD_LABELS[name],
                "ask": self[f"ask_{name}"],
                "required": self[f"required_{name}"],
            }
            for name in WebFormField.values
        ]

    def settings_fields_bound(self) -> list[forms.BoundField]:
        return [self[name] for name in self.settings_fields]

    def message_fields_bound(self) -> list[forms.BoundField]:
        return [self[name] for name in self.message_fields]

    def routing_fields_bound(self) -> list[forms.BoundField]:
        return [self[name] for name in self.routing_fields]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            name: data[name]
            for name in (*self.settings_fields, *self.message_fields, *self.routing_fields)
        }
        values["slug"] = values["slug"] or ""
        values["fields"] = [
            {"field": name, "required": bool(data.get(f"required_{name}"))}
            for name in WebFormField.values
            if data.get(f"ask_{name}")
        ]
        return values

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class PublicWebForm(forms.Form):
    """The visitor's form, built from the web form's fields. Only renders: the service validates
    (so that the page, the embedded snippet and JSON clients get the same checks)."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, web_form: WebForm) -> None:
        super().__init__(data)
        self.web_form = web_form
        for spec in webform_field_specs(web_form):
            self.fields[spec["field"]] = _public_field(spec)
        if web_form.consent_text:
            self.fields[CONSENT_FIELD] = forms.BooleanField(
                label=web_form.consent_text,
                required=False,
                widget=forms.CheckboxInput(attrs={"required": True}),
            )
        # The honeypot: hidden from people (and from assistive technology), filled in by bots.
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            required=False,
            label=_("Leave this field empty"),
            widget=forms.TextInput(
                attrs={
                    "hidden": True,
                    "tabindex": "-1",
                    "autocomplete": "off",
                    "aria-hidden": "true",
                }
            ),
        )
        self.fields[PAGE_FIELD] = forms.CharField(required=False, widget=forms.HiddenInput)
        self.use_required_attribute = False

    def visible_bound_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in self.fields
            if name not in (HONEYPOT_FIELD, PAGE_FIELD, CONSENT_FIELD)
        ]

    def add_service_errors(self, error: ValidationError) -> None:
        self.is_valid()
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)


def _public_field(spec: dict[str, Any]) -> forms.Field:
    name, label, required = spec["field"], spec["label"], spec["required"]
    attrs: dict[str, Any] = {"required": True} if required else {}
    widget: forms.Widget
    if name == WebFormField.EMAIL:
        widget = forms.EmailInput(attrs={**attrs, "autocomplete": "email"})
    elif name == WebFormField.PHONE:
        widget = forms.TextInput(attrs={**attrs, "type": "tel", "autocomplete": "tel"})
    elif name == WebFormField.COUNTRY:
        widget = forms.Select(attrs=attrs, choices=_blank(country_choices()))
    elif name == WebFormField.MESSAGE:
        widget = forms.Textarea(attrs={**attrs, "rows": 4})
    else:
        autocomplete = {
            WebFormField.FIRST_NAME: "given-name",
            WebFormField.LAST_NAME: "family-name",
            WebFormField.COMPANY_NAME: "organization",
            WebFormField.JOB_TITLE: "organization-title",
        }.get(name, "off")
        widget = forms.TextInput(attrs={**attrs, "autocomplete": autocomplete})
    return forms.CharField(label=label, required=False, widget=widget)
