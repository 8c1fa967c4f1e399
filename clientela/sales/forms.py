"""Forms of the deal, board and pipeline pages.

The forms only parse what a person typed; the services validate it and write it. A service's
ValidationError is put back on the fields it names (``add_service_errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientela.core.locale import currency_choices
from clientela.core.permissions import Perm, has_perm
from clientela.core.selectors import visible_to
from clientela.identity.selectors import assignable_owners_for, assignable_teams_for
from clientela.parties.forms import tag_names_parse
from clientela.parties.models import Contact
from clientela.parties.selectors import organizations_visible_to
from clientela.sales.choices import CloseOutcome, StageOutcome
from clientela.sales.models import Deal, Pipeline, Stage
from clientela.sales.selectors import close_reasons_active, pipelines_visible_to


def _add_service_errors(form: forms.Form, error: ValidationError) -> dict[str, list[str]]:
    """Put a service's messages on the fields they name; return the others keyed by name."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return {}
    others: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        if key in form.fields and key != "version":
            form.add_error(key, messages)
        elif key in ("line_items", "stages"):
            others.setdefault(key, []).extend(messages)
        else:
            form.add_error(None, messages)
    return others


class DealForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=None)
    stage = forms.ModelChoiceField(
        label=_("Stage"),
        queryset=None,
        required=False,
        help_text=_("Empty: the pipeline's first stage."),
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Empty: the sum of the products below."),
    )
    currency = forms.ChoiceField(label=_("Currency"))
    probability = forms.IntegerField(
        label=_("Win probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Empty: the stage's."),
    )
    expected_close_date = forms.DateField(
        label=_("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=None, required=False)
    contacts = forms.ModelMultipleChoiceField(label=_("Contacts"), queryset=None, required=False)
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    next_step_date = forms.DateField(
        label=_("Next step date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
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

    main_fields = (
        "title",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "probability",
        "expected_close_date",
        "organization",
        "contacts",
        "next_step",
        "next_step_date",
    )
    record_fields = (
        "title",
        "amount",
        "currency",
        "probability",
        "expected_close_date",
        "next_step",
        "next_step_date",
        "is_shared_with_team",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        actor: Any,
        deal: Deal | None = None,
        pipeline: Pipeline | None = None,
        **kwargs: Any,
    ) -> None:
        self.actor = actor
        self.deal = deal
        if deal is not None:
            kwargs.setdefault("initial", self._initial_from(deal))
        elif pipeline is not None:
            kwargs.setdefault("initial", {"pipeline": pipeline.pk, "currency": pipeline.currency})
        super().__init__(data, **kwargs)
        self.fields["currency"].choices = currency_choices()
        self.fields["organization"].queryset = (
            organizations_visible_to(actor)
            .select_related(None)
            .prefetch_related(None)
            .only("id", "name")
            .order_by(Lower("name"), "id")
        )
        self.fields["contacts"].queryset = (
            visible_to(Contact.objects.all(), actor)
            .only("id", "first_name", "last_name")
            .order_by(Lower("last_name"), Lower("first_name"), "id")
        )
        if deal is None:
            self.fields["pipeline"].queryset = (
                pipelines_visible_to(actor).prefetch_related(None).filter(is_active=True)
            )
            self.fields["pipeline"].empty_label = None
            self.fields["stage"].queryset = (
                Stage.objects.filter(pipeline__is_active=True, outcome=StageOutcome.OPEN)
                .select_related("pipeline")
                .order_by("pipeline__position", "position", "id")
            )
            self.fields["stage"].label_from_instance = lambda stage: (
                f"{stage.pipeline.name} · {stage.name}"
            )
            del self.fields["version"]
        else:
            del self.fields["pipeline"]
            del self.fields["stage"]
            self.fields["version"].required = True
        if has_perm(actor, Perm.SALES_ASSIGN):
            owners = assignable_owners_for(actor)
            teams = assignable_teams_for(actor)
            if deal is not None:
                owners = owners.model.objects.filter(
                    Q(pk__in=owners.values("pk")) | Q(pk=deal.owner_id)
                )
                teams = teams.model.objects.filter(
                    Q(pk__in=teams.values("pk")) | Q(pk=deal.team_id)
                )
            self.fields["owner"].queryset = owners.order_by(Lower("full_name"), "id")
            self.fields["team"].queryset = teams.order_by(Lower("name"), "id")
            if deal is None:
                self.fields["owner"].empty_label = _("Me")
                self.fields["team"].empty_label = _("My first team")
            else:
                self.fields["owner"].empty_label = None
        else:
            del self.fields["owner"]
            del self.fields["team"]

    @staticmethod
    def _initial_from(deal: Deal) -> dict[str, Any]:
        return {
            "title": deal.title,
            "amount": deal.amount,
            "currency": deal.currency,
            "probability": deal.probability,
            "expected_close_date": deal.expected_close_date,
            "organization": deal.organization_id,
            "contacts": [contact.pk for contact in deal.contacts.all()],
            "next_step": deal.next_step,
            "next_step_date": deal.next_step_date,
            "tags": ", ".join(tag.name for tag in deal.tags.all()),
            "owner": deal.owner_id,
            "team": deal.team_id,
            "is_shared_with_team": deal.is_shared_with_team,
            "version": deal.version,
        }

    @property
    def has_assign_fields(self) -> bool:
        return "owner" in self.fields

    def main_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.main_fields if name in self.fields]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {name: data[name] for name in self.record_fields}
        if values["amount"] is None:
            del values["amount"]
        values["organization"] = data["organization"]
        values["contacts"] = list(data["contacts"])
        values["tags"] = tag_names_parse(data.get("tags", ""))
        if self.deal is None:
            values["pipeline"] = data["pipeline"]
            if data.get("stage") is not None:
                values["stage"] = data["stage"]
        if self.has_assign_fields:
            if data.get("owner") is not None:
                values["owner"] = data["owner"]
            if data.get("team") is not None:
                values["team"] = data["team"]
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        stage, pipeline = cleaned.get("stage"), cleaned.get("pipeline")
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("Choose a stage of the chosen pipeline."))
        return cleaned


class LineItemRowForm(forms.Form):
    name = forms.CharField(label=_("Product"), max_length=200, required=False)
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=12, decimal_places=3, min_value=0, initial=1, required=False
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"), max_digits=16, decimal_places=2, min_value=0, required=False
    )
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        initial=0,
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("name") and cleaned.get("unit_price") is None:
            self.add_error("unit_price", _("Enter the unit price."))
        return cleaned


LineItemFormSet = forms.formset_factory(LineItemRowForm, extra=1, can_delete=True)


class DealFormGroup:
    """The deal form with its line items, used as one."""

    def __init__(
        self,
        data: Mapping[str, Any] | None,
        *,
        actor: Any,
        deal: Deal | None = None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.deal = deal
        self.form = DealForm(data, actor=actor, deal=deal, pipeline=pipeline)
        initial = None
        if deal is not None:
            initial = [
                {
                    "name": item.name,
                    "quantity": item.quantity,
                    "unit_price": item.unit_price,
                    "discount_percent": item.discount_percent,
                }
                for item in deal.line_items.all()
            ]
        self.line_items = LineItemFormSet(data, prefix="line_items", initial=initial)
        self.section_errors: dict[str, list[str]] = {}

    def is_valid(self) -> bool:
        results = [self.form.is_valid(), self.line_items.is_valid()]
        return all(results)

    def service_values(self) -> dict[str, Any]:
        values = self.form.service_values()
        rows = []
        for row in self.line_items.forms:
            data = getattr(row, "cleaned_data", None) or {}
            if not data.get("name") or data.get("DELETE"):
                continue
            rows.append(
                {
                    "name": data["name"],
                    "quantity": data.get("quantity") or 1,
                    "unit_price": data["unit_price"],
                    "discount_percent": data.get("discount_percent") or 0,
                }
            )
        if self.deal is None or self.line_items.has_changed() or "amount" not in values:
            values["line_items"] = rows
        return values

    @property
    def expected_version(self) -> int | None:
        return self.form.cleaned_data.get("version")

    def add_service_errors(self, error: ValidationError) -> None:
        self.section_errors = _add_service_errors(self.form, error)

    @property
    def has_errors(self) -> bool:
        return bool(
            self.form.errors
            or any(self.line_items.errors)
            or self.line_items.non_form_errors()
            or self.section_errors
        )


class CloseForm(forms.Form):
    """Closing a deal as won or lost: the stage to move to, the reason and a note."""

    stage = forms.ModelChoiceField(label=_("Stage"), queryset=None, widget=forms.HiddenInput)
    close_reason = forms.ModelChoiceField(label=_("Reason"), queryset=None)
    close_note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, data: Mapping[str, Any] | None = None, *, stage: Stage, **kwargs: Any):
        super().__init__(data, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(pk=stage.pk)
        self.fields["close_reason"].queryset = close_reasons_active(stage.outcome)
        self.fields["close_reason"].empty_label = _("Choose a reason")

    def add_service_errors(self, error: ValidationError) -> None:
        _add_service_errors(self, error)


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    currency = forms.ChoiceField(
        label=_("Currency"), help_text=_("What the board's totals are shown in.")
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Inactive pipelines take no new deals."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, pipeline: Pipeline | None = None, **kwargs: Any) -> None:
        if pipeline is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": pipeline.name,
                    "currency": pipeline.currency,
                    "is_active": pipeline.is_active,
                    "version": pipeline.version,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices()
        if pipeline is None:
            del self.fields["version"]

    def add_service_errors(self, error: ValidationError) -> dict[str, list[str]]:
        return _add_service_errors(self, error)


class StageRowForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Stage"), max_length=100, required=False)
    probability = forms.IntegerField(
        label=_("Probability (%)"), min_value=0, max_value=100, initial=10, required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=StageOutcome.choices, initial=StageOutcome.OPEN
    )
    stale_after_days = forms.IntegerField(
        label=_("Stale after (days)"), min_value=1, max_value=32767, required=False
    )


StageFormSet = forms.formset_factory(StageRowForm, extra=1, can_delete=True)


def stage_rows(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    """The stages a valid stage formset describes, in order, without empty or removed rows."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data.get("name") or data.get("DELETE"):
            continue
        row: dict[str, Any] = {
            "name": data["name"],
            "probability": data.get("probability") if data.get("probability") is not None else 10,
            "outcome": data.get("outcome") or StageOutcome.OPEN,
            "stale_after_days": data.get("stale_after_days"),
        }
        if data.get("id"):
            row["id"] = data["id"]
        rows.append(row)
    return rows


class CloseReasonForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CloseOutcome.choices)
    name = forms.CharField(label=_("Reason"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def add_service_errors(self, error: ValidationError) -> None:
        _add_service_errors(self, error)
