"""Writes on pipelines, their stages, close reasons and deals.

Every function checks the actor's role (and, for deals, that the actor may see the deal), validates
everything before writing anything, writes in one transaction and records what happened as events.
Pages, the API, lead conversion and the demo all come through here. Leads, web forms and reports have
their own modules.

A deal's amount: when a write gives ``amount`` it is stored as given; when it gives line items without
an amount, the amount becomes the sum of the line items' totals (quantity times unit price, less the
discount); when it gives neither, the amount stays as it was (0 for a new deal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from clientela.core.custom_fields import custom_fields_clean, record_type_of
from clientela.core.events import changes, event_record, json_value, snapshot
from clientela.core.exceptions import ConflictError
from clientela.core.locale import currency_codes
from clientela.core.models import Tag
from clientela.core.ownership import ownership_resolve
from clientela.core.permissions import Perm, require_perm
from clientela.core.search import search_document
from clientela.core.selectors import custom_field_definitions_for, is_visible_to, visible_to
from clientela.core.services import tag_get_or_create
from clientela.parties.models import Contact, Organization
from clientela.sales.choices import CloseOutcome, DealStatus, StageOutcome
from clientela.sales.events import DealEvent, PipelineEvent
from clientela.sales.models import CloseReason, Deal, DealLineItem, Pipeline, Stage, StageVisit

PIPELINE_FIELDS = ("name", "currency", "is_active", "position")
CLOSE_REASON_FIELDS = ("outcome", "name", "position", "is_active")
DEAL_FIELDS = (
    "title",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "next_step",
    "next_step_date",
    "is_shared_with_team",
)
_STATUS_OF_OUTCOME = {
    StageOutcome.OPEN: DealStatus.OPEN,
    StageOutcome.WON: DealStatus.WON,
    StageOutcome.LOST: DealStatus.LOST,
}
_CENT = Decimal("0.01")
# Stands for "not given" where None means "remove" (a deal's organization).
_UNSET: Any = object()


# -- shared helpers ----------------------------------------------------------------------------


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _error(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _check_version(record: Any, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != record.version:
        raise ConflictError(current_version=record.version)


def _assign(
    record: models.Model,
    values: Mapping[str, Any],
    allowed: Sequence[str],
    errors: dict[str, list[str]],
) -> None:
    for name in sorted(set(values) - set(allowed)):
        _error(errors, name, _("This field cannot be set."))
    for name, value in values.items():
        if name not in allowed:
            continue
        if isinstance(value, str):
            value = value.strip()
        if name == "currency" and isinstance(value, str):
            value = value.upper()
        setattr(record, name, value)


def _full_clean(record: models.Model, errors: dict[str, list[str]], exclude: Sequence[str]) -> None:
    try:
        record.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)


def _currency_check(currency: str, errors: dict[str, list[str]]) -> None:
    if currency not in currency_codes():
        _error(errors, "currency", _("Choose a currency such as EUR or USD."))


def _decimal(value: Any, key: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _error(errors, key, _("Enter a number."))
        return None
    if not number.is_finite():
        _error(errors, key, _("Enter a number."))
        return None
    return number


def _locked_visible(model: type[Any], record: Any, actor: Any) -> Any:
    """The record re-read under a row lock, and still visible to ``actor`` (else DoesNotExist → 404)."""
    fresh = (
        model.objects.select_for_update(of=("self",))
        .select_related("owner", "team")
        .get(pk=record.pk)
    )
    if not is_visible_to(fresh, actor):
        raise model.DoesNotExist
    return fresh


def _locked(model: type[Any], record: Any) -> Any:
    return model.objects.select_for_update().get(pk=record.pk)


# -- pipelines and stages ----------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    """One stage as ``pipeline_stages_set`` receives it (dicts with these keys are accepted too)."""

    name: str
    probability: int = 10
    outcome: str = StageOutcome.OPEN
    stale_after_days: int | None = None
    id: int | None = None


def _default_stages() -> list[dict[str, Any]]:
    return [
        {"name": _("Qualify"), "probability": 10},
        {"name": _("Propose"), "probability": 50},
        {"name": _("Negotiate"), "probability": 75},
        {"name": _("Won"), "probability": 100, "outcome": StageOutcome.WON},
        {"name": _("Lost"), "probability": 0, "outcome": StageOutcome.LOST},
    ]


def _pipeline_validate(pipeline: Pipeline, errors: dict[str, list[str]]) -> None:
    if not pipeline.name:
        _error(errors, "name", _("A pipeline needs a name."))
    elif (
        Pipeline.objects.exclude(pk=pipeline.pk)
        .annotate(lower_name=Lower("name"))
        .filter(lower_name=pipeline.name.lower())
        .exists()
    ):
        _error(errors, "name", _("Another pipeline has this name."))
    _currency_check(pipeline.currency, errors)
    _full_clean(pipeline, errors, exclude=["name", "currency"])


@transaction.atomic
def pipeline_create(
    *,
    actor: Any,
    name: str,
    currency: str = "EUR",
    is_active: bool = True,
    position: int | None = None,
    stages: Sequence[Mapping[str, Any] | StageSpec] | None = None,
) -> Pipeline:
    """A new pipeline with ``stages`` (in order), or a usual set of five when none are given."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    pipeline = Pipeline()
    errors: dict[str, list[str]] = {}
    _assign(
        pipeline,
        {"name": name, "currency": currency, "is_active": is_active},
        PIPELINE_FIELDS,
        errors,
    )
    if position is None:
        last = Pipeline.objects.order_by("-position").values_list("position", flat=True).first()
        pipeline.position = 0 if last is None else last + 1
    else:
        pipeline.position = position
    _pipeline_validate(pipeline, errors)
    specs = _stage_specs(stages if stages is not None else _default_stages(), errors)
    _stage_specs_validate(specs, current={}, errors=errors)
    _raise_if(errors)
    pipeline.save()
    for index, spec in enumerate(specs):
        Stage.objects.create(
            pipeline=pipeline,
            name=spec.name,
            position=index,
            probability=spec.probability,
            outcome=spec.outcome,
            stale_after_days=spec.stale_after_days,
        )
    event_record(
        actor=actor,
        record=pipeline,
        kind=PipelineEvent.CREATED,
        data={"stages": [spec.name for spec in specs]},
    )
    return pipeline


@transaction.atomic
def pipeline_update(
    *, actor: Any, pipeline: Pipeline, expected_version: int | None = None, **fields: Any
) -> Pipeline:
    """Change a pipeline's name, currency, position or whether it takes new deals."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    pipeline = _locked(Pipeline, pipeline)
    _check_version(pipeline, expected_version)
    before = snapshot(pipeline, PIPELINE_FIELDS)
    errors: dict[str, list[str]] = {}
    _assign(pipeline, fields, PIPELINE_FIELDS, errors)
    _pipeline_validate(pipeline, errors)
    _raise_if(errors)
    diff = changes(before, snapshot(pipeline, PIPELINE_FIELDS))
    if diff:
        pipeline.version += 1
        pipeline.updated_at = timezone.now()
        pipeline.save()
        event_record(
            actor=actor, record=pipeline, kind=PipelineEvent.CHANGED, data={"changes": diff}
        )
    return pipeline


@transaction.atomic
def pipeline_delete(*, actor: Any, pipeline: Pipeline, expected_version: int | None = None) -> None:
    """Delete a pipeline and its stages; refused (ValidationError) while any deal is in it."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    pipeline = _locked(Pipeline, pipeline)
    _check_version(pipeline, expected_version)
    count = Deal.objects.filter(pipeline=pipeline).count()
    if count:
        raise ValidationError(
            _(
                "This pipeline holds %(count)s deals. Move or delete them first, or make the "
                "pipeline inactive."
            )
            % {"count": count}
        )
    event_record(actor=actor, record=pipeline, kind=PipelineEvent.DELETED)
    pipeline.delete()


def _stage_specs(
    stages: Iterable[Mapping[str, Any] | StageSpec], errors: dict[str, list[str]]
) -> list[StageSpec]:
    specs: list[StageSpec] = []
    for index, item in enumerate(stages):
        if isinstance(item, StageSpec):
            specs.append(item)
            continue
        data = dict(item)
        unknown = sorted(set(data) - {"id", "name", "probability", "outcome", "stale_after_days"})
        if unknown:
            _error(
                errors,
                "stages",
                _("Stage %(number)s: unknown fields %(fields)s.")
                % {"number": index + 1, "fields": ", ".join(unknown)},
            )
            continue
        try:
            probability = int(data.get("probability", 10))
            stale = data.get("stale_after_days")
            stale = None if stale in (None, "") else int(stale)
            pk = data.get("id")
            pk = None if pk in (None, "") else int(pk)
        except (TypeError, ValueError):
            _error(
                errors,
                "stages",
                _("Stage %(number)s: enter whole numbers.") % {"number": index + 1},
            )
            continue
        specs.append(
            StageSpec(
                name=" ".join(str(data.get("name") or "").split()),
                probability=probability,
                outcome=str(data.get("outcome") or StageOutcome.OPEN),
                stale_after_days=stale,
                id=pk,
            )
        )
    return specs


def _stage_specs_validate(
    specs: list[StageSpec], *, current: dict[int, Stage], errors: dict[str, list[str]]
) -> None:
    names: set[str] = set()
    for index, spec in enumerate(specs):
        number = {"number": index + 1}
        if not spec.name:
            _error(errors, "stages", _("Stage %(number)s needs a name.") % number)
        elif len(spec.name) > 100:
            _error(
                errors, "stages", _("Stage %(number)s: a name has at most 100 characters.") % number
            )
        elif spec.name.casefold() in names:
            _error(
                errors,
                "stages",
                _("Two stages are called “%(name)s”; stage names differ.") % {"name": spec.name},
            )
        names.add(spec.name.casefold())
        if not 0 <= spec.probability <= 100:
            _error(
                errors, "stages", _("Stage %(number)s: a probability is from 0 to 100.") % number
            )
        if spec.outcome not in StageOutcome.values:
            _error(errors, "stages", _("Stage %(number)s: choose open, won or lost.") % number)
        if spec.stale_after_days is not None and not 1 <= spec.stale_after_days <= 32767:
            _error(
                errors,
                "stages",
                _("Stage %(number)s: “stale after” is a number of days from 1.") % number,
            )
        if spec.id is not None and spec.id not in current:
            _error(
                errors, "stages", _("Stage %(number)s is not a stage of this pipeline.") % number
            )
    outcomes = [spec.outcome for spec in specs]
    if StageOutcome.OPEN not in outcomes:
        _error(errors, "stages", _("A pipeline needs at least one open stage."))
    for outcome, label in ((StageOutcome.WON, _("won")), (StageOutcome.LOST, _("lost"))):
        if outcomes.count(outcome) > 1:
            _error(
                errors,
                "stages",
                _("A pipeline has at most one %(outcome)s stage.") % {"outcome": label},
            )


@transaction.atomic
def pipeline_stages_set(
    *,
    actor: Any,
    pipeline: Pipeline,
    stages: Sequence[Mapping[str, Any] | StageSpec],
    expected_version: int | None = None,
) -> list[Stage]:
    """Make ``stages`` the pipeline's stages, in this order.

    A stage given with the ``id`` of an existing stage of the pipeline keeps that stage (its deals and
    history); a stage without ``id`` is new; existing stages left out are removed, which is refused
    while deals are at them or their history names them. A stage holding deals keeps its outcome.
    At least one stage is open; at most one is won and one lost.
    """
    require_perm(actor, Perm.SALES_CONFIGURE)
    pipeline = _locked(Pipeline, pipeline)
    _check_version(pipeline, expected_version)
    current = {stage.pk: stage for stage in Stage.objects.filter(pipeline=pipeline)}
    errors: dict[str, list[str]] = {}
    specs = _stage_specs(stages, errors)
    _stage_specs_validate(specs, current=current, errors=errors)
    kept = {spec.id for spec in specs if spec.id is not None}
    removed = [stage for pk, stage in current.items() if pk not in kept]
    if removed:
        used = set(Deal.objects.filter(stage__in=removed).values_list("stage_id", flat=True)) | set(
            StageVisit.objects.filter(stage__in=removed).values_list("stage_id", flat=True)
        )
        for stage in removed:
            if stage.pk in used:
                _error(
                    errors,
                    "stages",
                    _(
                        "The stage “%(name)s” has deals or their history and cannot be removed; "
                        "rename it instead."
                    )
                    % {"name": stage.name},
                )
    with_deals = set(
        Deal.objects.filter(stage__in=list(current.values()))
        .values_list("stage_id", flat=True)
        .distinct()
    )
    for spec in specs:
        kept_stage = current.get(spec.id) if spec.id is not None else None
        if (
            kept_stage is not None
            and kept_stage.pk in with_deals
            and kept_stage.outcome != spec.outcome
        ):
            _error(
                errors,
                "stages",
                _("The stage “%(name)s” holds deals, so its outcome stays as it is.")
                % {"name": kept_stage.name},
            )
    _raise_if(errors)
    before = [
        {"name": stage.name, "outcome": stage.outcome}
        for stage in sorted(current.values(), key=lambda s: (s.position, s.pk))
    ]
    Stage.objects.filter(pk__in=[stage.pk for stage in removed]).delete()
    # Names are unique per pipeline: kept stages first get names nobody types, so that swapping two
    # names never collides halfway.
    for pk in kept:
        Stage.objects.filter(pk=pk).update(name=f"~renaming~{pk}")
    now = timezone.now()
    result: list[Stage] = []
    for index, spec in enumerate(specs):
        stage = current[spec.id] if spec.id is not None else Stage(pipeline=pipeline)
        stage.name = spec.name
        stage.position = index
        stage.probability = spec.probability
        stage.outcome = spec.outcome
        stage.stale_after_days = spec.stale_after_days
        stage.updated_at = now
        stage.save()
        result.append(stage)
    after = [{"name": stage.name, "outcome": stage.outcome} for stage in result]
    pipeline.version += 1
    pipeline.updated_at = now
    pipeline.save(update_fields=["version", "updated_at"])
    event_record(
        actor=actor,
        record=pipeline,
        kind=PipelineEvent.STAGES_CHANGED,
        data={"stages": {"old": before, "new": after}},
    )
    return result


# -- close reasons -----------------------------------------------------------------------------


def _close_reason_validate(reason: CloseReason, errors: dict[str, list[str]]) -> None:
    if not reason.name:
        _error(errors, "name", _("A reason needs a name."))
    if reason.outcome not in CloseOutcome.values:
        _error(errors, "outcome", _("Choose won or lost."))
    elif (
        reason.name
        and CloseReason.objects.exclude(pk=reason.pk)
        .annotate(lower_name=Lower("name"))
        .filter(outcome=reason.outcome, lower_name=reason.name.lower())
        .exists()
    ):
        _error(errors, "name", _("Another reason for this outcome has this name."))
    _full_clean(reason, errors, exclude=["name", "outcome"])


@transaction.atomic
def close_reason_create(
    *, actor: Any, outcome: str, name: str, position: int | None = None, is_active: bool = True
) -> CloseReason:
    require_perm(actor, Perm.SALES_CONFIGURE)
    reason = CloseReason()
    errors: dict[str, list[str]] = {}
    _assign(
        reason,
        {"outcome": outcome, "name": name, "is_active": is_active},
        CLOSE_REASON_FIELDS,
        errors,
    )
    if position is None:
        last = (
            CloseReason.objects.filter(outcome=outcome)
            .order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        reason.position = 0 if last is None else last + 1
    else:
        reason.position = position
    _close_reason_validate(reason, errors)
    _raise_if(errors)
    reason.save()
    return reason


@transaction.atomic
def close_reason_update(*, actor: Any, close_reason: CloseReason, **fields: Any) -> CloseReason:
    """Rename, reorder, (de)activate a reason; its outcome stays once deals cite it."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    reason = _locked(CloseReason, close_reason)
    errors: dict[str, list[str]] = {}
    old_outcome = reason.outcome
    _assign(reason, fields, CLOSE_REASON_FIELDS, errors)
    if reason.outcome != old_outcome and Deal.objects.filter(close_reason=reason).exists():
        _error(errors, "outcome", _("Deals were closed with this reason: its outcome stays."))
    _close_reason_validate(reason, errors)
    _raise_if(errors)
    reason.updated_at = timezone.now()
    reason.save()
    return reason


@transaction.atomic
def close_reason_delete(*, actor: Any, close_reason: CloseReason) -> bool:
    """Delete a reason no deal cites; one that deals cite is deactivated instead. True if deleted."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    reason = _locked(CloseReason, close_reason)
    if Deal.objects.filter(close_reason=reason).exists():
        if reason.is_active:
            reason.is_active = False
            reason.updated_at = timezone.now()
            reason.save(update_fields=["is_active", "updated_at"])
        return False
    reason.delete()
    return True


# -- deals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LineItem:
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal

    @property
    def total(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return (gross * (100 - self.discount_percent) / 100).quantize(_CENT)

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "quantity": str(self.quantity),
            "unit_price": str(self.unit_price),
            "discount_percent": str(self.discount_percent),
        }


def _line_items_clean(items: Iterable[Any], errors: dict[str, list[str]]) -> list[_LineItem]:
    cleaned: list[_LineItem] = []
    for index, item in enumerate(items):
        data = dict(item)
        number = {"number": index + 1}
        unknown = sorted(set(data) - {"name", "quantity", "unit_price", "discount_percent"})
        if unknown:
            _error(
                errors,
                "line_items",
                _("Line %(number)s: unknown fields %(fields)s.")
                % {**number, "fields": ", ".join(unknown)},
            )
            continue
        name = " ".join(str(data.get("name") or "").split())
        local: dict[str, list[str]] = {}
        quantity = _decimal(data.get("quantity", 1), "line_items", local)
        unit_price = _decimal(data.get("unit_price"), "line_items", local)
        discount = _decimal(data.get("discount_percent", 0), "line_items", local) or Decimal("0")
        problems: list[str] = []
        if not name:
            problems.append(_("Line %(number)s needs a name.") % number)
        elif len(name) > 200:
            problems.append(_("Line %(number)s: a name has at most 200 characters.") % number)
        if local:
            problems.append(_("Line %(number)s: enter numbers.") % number)
        if quantity is None or quantity <= 0 or quantity >= Decimal("1e9"):
            problems.append(_("Line %(number)s: the quantity is more than 0.") % number)
        if unit_price is None or unit_price < 0 or unit_price >= Decimal("1e14"):
            problems.append(_("Line %(number)s: enter a unit price of 0 or more.") % number)
        if not Decimal("0") <= discount <= Decimal("100"):
            problems.append(_("Line %(number)s: a discount is from 0 to 100%%.") % number)
        if problems:
            errors.setdefault("line_items", []).extend(problems)
            continue
        assert quantity is not None
        assert unit_price is not None
        cleaned.append(
            _LineItem(
                name=name,
                quantity=quantity.quantize(Decimal("0.001")),
                unit_price=unit_price.quantize(_CENT),
                discount_percent=discount.quantize(_CENT),
            )
        )
    return cleaned


def _line_items_of(deal: Deal) -> list[_LineItem]:
    return [
        _LineItem(
            name=item.name,
            quantity=item.quantity,
            unit_price=item.unit_price,
            discount_percent=item.discount_percent,
        )
        for item in DealLineItem.objects.filter(deal=deal).order_by("position", "id")
    ]


def _line_items_write(deal: Deal, items: list[_LineItem]) -> None:
    DealLineItem.objects.filter(deal=deal).delete()
    DealLineItem.objects.bulk_create(
        [
            DealLineItem(
                deal=deal,
                position=index,
                name=item.name,
                quantity=item.quantity,
                unit_price=item.unit_price,
                discount_percent=item.discount_percent,
            )
            for index, item in enumerate(items)
        ]
    )


def line_items_total(items: Iterable[Any]) -> Decimal:
    """The sum of the totals of line items (rows or cleaned items)."""
    return sum((item.total for item in items), Decimal("0.00"))


def _organization_resolve(value: Any, actor: Any, errors: dict[str, list[str]]) -> Any:
    if value is None or value == "":
        return None
    pk = value.pk if isinstance(value, Organization) else value
    organization = visible_to(Organization.objects.filter(pk=pk), actor).first()
    if organization is None:
        _error(errors, "organization", _("Choose an organization you can see."))
    return organization


def _contacts_resolve(values: Iterable[Any], actor: Any, errors: dict[str, list[str]]) -> list[Any]:
    ids: list[int] = []
    for value in values:
        pk = value.pk if isinstance(value, Contact) else value
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            _error(errors, "contacts", _("Choose contacts you can see."))
            return []
        if pk not in ids:
            ids.append(pk)
    if not ids:
        return []
    found = {
        contact.pk: contact for contact in visible_to(Contact.objects.filter(pk__in=ids), actor)
    }
    if len(found) != len(ids):
        _error(errors, "contacts", _("Choose contacts you can see."))
    return [found[pk] for pk in ids if pk in found]


def _contacts_json(contacts: Iterable[Contact]) -> list[dict[str, Any]]:
    return sorted((json_value(contact) for contact in contacts), key=lambda item: item["id"])


def _deal_validate(deal: Deal, errors: dict[str, list[str]]) -> None:
    if not deal.title:
        _error(errors, "title", _("A deal needs a title."))
    amount = _decimal(deal.amount, "amount", errors)
    if amount is not None:
        if amount < 0:
            _error(errors, "amount", _("The amount cannot be negative."))
        elif amount >= Decimal("1e14"):
            _error(errors, "amount", _("The amount is too large."))
        else:
            deal.amount = amount.quantize(_CENT)
    elif "amount" not in errors:
        deal.amount = Decimal("0.00")
    _currency_check(deal.currency, errors)
    if deal.probability == "":
        deal.probability = None
    _full_clean(
        deal,
        errors,
        exclude=[
            "title",
            "owner",
            "team",
            "custom_fields",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "organization",
            "close_reason",
        ],
    )


def _deal_search_text(deal: Deal) -> str:
    organization = deal.organization
    return search_document(deal.title, organization.name if organization is not None else "")


def _custom_fields(
    deal: Deal, values: Mapping[str, Any] | None, errors: dict[str, list[str]]
) -> None:
    if values is None and deal.pk:
        return
    definitions = custom_field_definitions_for(record_type_of(Deal))
    try:
        deal.custom_fields = custom_fields_clean(
            definitions, dict(values or {}), current=deal.custom_fields
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                errors.setdefault(f"custom_fields.{key}", []).extend(messages)
        else:
            errors.setdefault("custom_fields", []).extend(error.messages)


def _tags(names: Iterable[str | Tag] | None, actor: Any) -> list[Tag] | None:
    if names is None:
        return None
    tags: dict[int, Tag] = {}
    for item in names:
        tag = item if isinstance(item, Tag) else tag_get_or_create(name=str(item), actor=actor)
        tags[tag.pk] = tag
    return list(tags.values())


def _stage_of(pipeline: Pipeline, value: Any, errors: dict[str, list[str]]) -> Stage | None:
    pk = value.pk if isinstance(value, Stage) else value
    stage = Stage.objects.filter(pk=pk, pipeline=pipeline).first() if pk is not None else None
    if stage is None:
        _error(errors, "stage", _("Choose a stage of the deal's pipeline."))
    return stage


@transaction.atomic
def deal_create(
    *,
    actor: Any,
    title: str,
    pipeline: Pipeline,
    stage: Stage | int | None = None,
    amount: Decimal | str | None = None,
    currency: str | None = None,
    contacts: Iterable[Contact | int] = (),
    organization: Organization | int | None = None,
    line_items: Iterable[Mapping[str, Any]] | None = None,
    owner: Any = None,
    team: Any = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Deal:
    """A new deal at ``stage`` (an open stage of ``pipeline``; its first open stage by default).

    Records its first stage visit and the created event. ``currency`` defaults to the pipeline's;
    the amount follows the rule in this module's docstring.
    """
    require_perm(actor, Perm.SALES_ADD)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if not pipeline.is_active:
        _error(errors, "pipeline", _("This pipeline is inactive and takes no new deals."))
    if stage is None:
        chosen = (
            Stage.objects.filter(pipeline=pipeline, outcome=StageOutcome.OPEN)
            .order_by("position", "id")
            .first()
        )
        if chosen is None:
            _error(errors, "stage", _("This pipeline has no open stage."))
    else:
        chosen = _stage_of(pipeline, stage, errors)
        if chosen is not None and chosen.is_closed:
            _error(errors, "stage", _("A new deal starts at an open stage."))
    deal = Deal(pipeline=pipeline, created_at=now, updated_at=now, stage_entered_at=now)
    _assign(
        deal,
        {"title": title, "currency": currency or pipeline.currency, **fields},
        DEAL_FIELDS,
        errors,
    )
    items = _line_items_clean(line_items or (), errors)
    deal.amount = amount if amount is not None else line_items_total(items)
    deal.organization = _organization_resolve(organization, actor, errors)
    contact_list = _contacts_resolve(contacts, actor, errors)
    _deal_validate(deal, errors)
    _custom_fields(deal, custom_fields, errors)
    _raise_if(errors)
    assert chosen is not None
    deal.stage = chosen
    deal.status = _STATUS_OF_OUTCOME[StageOutcome(chosen.outcome)]
    deal.owner, deal.team = ownership_resolve(actor=actor, owner=owner, team=team)
    deal.search_text = _deal_search_text(deal)
    deal.save()
    deal.contacts.set(contact_list)
    _line_items_write(deal, items)
    StageVisit.objects.create(deal=deal, stage=chosen, entered_at=now, entered_by=_user(actor))
    tag_list = _tags(tags, actor) or []
    deal.tags.set(tag_list)
    event_record(
        actor=actor, record=deal, kind=DealEvent.CREATED, data={"stage": json_value(chosen)}
    )
    if tag_list:
        event_record(
            actor=actor,
            record=deal,
            kind=DealEvent.TAGGED,
            data={"tags": sorted(tag.name for tag in tag_list)},
        )
    return deal


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


_TRACKED = (*DEAL_FIELDS, "organization", "custom_fields")


@transaction.atomic
def deal_update(
    *,
    actor: Any,
    deal: Deal,
    expected_version: int | None = None,
    owner: Any = None,
    team: Any = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    contacts: Iterable[Contact | int] | None = None,
    organization: Any = _UNSET,
    line_items: Iterable[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Deal:
    """Change a deal. Only what is given changes; ``contacts``, ``line_items`` and ``tags`` replace
    the whole set. The stage changes through ``deal_move_to_stage`` only."""
    require_perm(actor, Perm.SALES_CHANGE)
    deal = _locked_visible(Deal, deal, actor)
    _check_version(deal, expected_version)
    now = now or timezone.now()
    before = snapshot(deal, _TRACKED)
    before_owner = snapshot(deal, ("owner", "team"))
    before_tags = {tag.name for tag in deal.tags.all()}
    before_contacts = _contacts_json(deal.contacts.all())
    errors: dict[str, list[str]] = {}
    for name in ("stage", "pipeline", "status", "close_reason", "close_note", "closed_at"):
        if name in fields:
            fields.pop(name)
            _error(errors, name, _("Move the deal to another stage to change this."))
    _assign(deal, fields, DEAL_FIELDS, errors)
    items: list[_LineItem] | None = None
    old_items = _line_items_of(deal)
    if line_items is not None:
        items = _line_items_clean(line_items, errors)
        if "amount" not in fields:
            deal.amount = line_items_total(items)
    if organization is not _UNSET:
        deal.organization = _organization_resolve(organization, actor, errors)
    contact_list = _contacts_resolve(contacts, actor, errors) if contacts is not None else None
    _deal_validate(deal, errors)
    _custom_fields(deal, custom_fields, errors)
    _raise_if(errors)
    if owner is not None or team is not None:
        deal.owner, deal.team = ownership_resolve(
            actor=actor, owner=owner, team=team, current_owner=deal.owner, current_team=deal.team
        )
    diff = changes(before, snapshot(deal, _TRACKED))
    if contact_list is not None:
        after_contacts = _contacts_json(contact_list)
        # Contacts the actor cannot see stay on the deal: they were not in the actor's list.
        hidden = {item["id"] for item in before_contacts} - set(
            visible_to(
                Contact.objects.filter(pk__in=[i["id"] for i in before_contacts]), actor
            ).values_list("pk", flat=True)
        )
        if hidden:
            contact_list = [*contact_list, *Contact.objects.filter(pk__in=hidden)]
            after_contacts = _contacts_json(contact_list)
        if after_contacts != before_contacts:
            diff["contacts"] = {"old": before_contacts, "new": after_contacts}
    owner_diff = changes(before_owner, snapshot(deal, ("owner", "team")))
    tag_list = _tags(tags, actor)
    after_tags = before_tags if tag_list is None else {tag.name for tag in tag_list}
    items_changed = items is not None and items != old_items
    if not diff and not owner_diff and after_tags == before_tags and not items_changed:
        return deal
    deal.version += 1
    deal.updated_at = now
    deal.search_text = _deal_search_text(deal)
    deal.save()
    if contact_list is not None and "contacts" in diff:
        deal.contacts.set(contact_list)
    if items_changed:
        assert items is not None
        _line_items_write(deal, items)
    if tag_list is not None:
        deal.tags.set(tag_list)
    if diff:
        event_record(actor=actor, record=deal, kind=DealEvent.CHANGED, data={"changes": diff})
    if owner_diff:
        event_record(
            actor=actor, record=deal, kind=DealEvent.OWNER_CHANGED, data={"changes": owner_diff}
        )
    if items_changed:
        assert items is not None
        event_record(
            actor=actor,
            record=deal,
            kind=DealEvent.LINE_ITEMS_CHANGED,
            data={
                "line_items": {
                    "old": [item.as_json() for item in old_items],
                    "new": [item.as_json() for item in items],
                }
            },
        )
    if added := sorted(after_tags - before_tags):
        event_record(actor=actor, record=deal, kind=DealEvent.TAGGED, data={"tags": added})
    if removed := sorted(before_tags - after_tags):
        event_record(actor=actor, record=deal, kind=DealEvent.UNTAGGED, data={"tags": removed})
    return deal


def _close_reason_of(value: Any, outcome: str, errors: dict[str, list[str]]) -> CloseReason | None:
    if value is None or value == "":
        _error(
            errors,
            "close_reason",
            _("Choose why the deal was won.")
            if outcome == StageOutcome.WON
            else _("Choose why the deal was lost."),
        )
        return None
    pk = value.pk if isinstance(value, CloseReason) else value
    reason = CloseReason.objects.filter(pk=pk, outcome=outcome, is_active=True).first()
    if reason is None:
        _error(
            errors,
            "close_reason",
            _("Choose one of the active reasons for a won deal.")
            if outcome == StageOutcome.WON
            else _("Choose one of the active reasons for a lost deal."),
        )
    return reason


@transaction.atomic
def deal_move_to_stage(
    *,
    actor: Any,
    deal: Deal,
    stage: Stage | int,
    now: datetime | None = None,
    expected_version: int | None = None,
    close_reason: CloseReason | int | None = None,
    close_note: str = "",
) -> Deal:
    """Move a deal to another stage of its pipeline.

    Ends the current stage visit at ``now`` and starts one at ``stage``. A won or lost stage closes
    the deal and needs a close reason of that outcome (ValidationError otherwise); an open stage
    reopens a closed deal (its reason and note are cleared). Records STAGE_CHANGED with the stages
    and the whole days and seconds spent at the one left, then WON, LOST or REOPENED. Moving to the
    stage the deal is at changes nothing.
    """
    require_perm(actor, Perm.SALES_CHANGE)
    deal = _locked_visible(Deal, deal, actor)
    _check_version(deal, expected_version)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    target = _stage_of(deal.pipeline, stage, errors)
    _raise_if(errors)
    assert target is not None
    if target.pk == deal.stage_id:
        return deal
    reason = None
    note = " ".join(str(close_note or "").split("\x00")).strip()
    if target.is_closed:
        reason = _close_reason_of(close_reason, target.outcome, errors)
    _raise_if(errors)

    previous = Stage.objects.get(pk=deal.stage_id)
    visit = (
        StageVisit.objects.select_for_update()
        .filter(deal=deal, left_at__isnull=True)
        .order_by("-entered_at", "-id")
        .first()
    )
    entered = visit.entered_at if visit is not None else deal.stage_entered_at
    # A clock that went back (or a `now` before the last move) never makes a negative stay.
    left = max(now, entered)
    seconds = int((left - entered).total_seconds())
    StageVisit.objects.filter(deal=deal, left_at__isnull=True).update(left_at=left)
    StageVisit.objects.create(deal=deal, stage=target, entered_at=left, entered_by=_user(actor))

    was_closed = deal.status != DealStatus.OPEN
    deal.stage = target
    deal.stage_entered_at = left
    deal.status = _STATUS_OF_OUTCOME[StageOutcome(target.outcome)]
    if target.is_closed:
        deal.closed_at = left
        deal.close_reason = reason
        deal.close_note = note
    else:
        deal.closed_at = None
        deal.close_reason = None
        deal.close_note = ""
    deal.version += 1
    deal.updated_at = now
    deal.save()
    event_record(
        actor=actor,
        record=deal,
        kind=DealEvent.STAGE_CHANGED,
        data={
            "changes": {"stage": {"old": json_value(previous), "new": json_value(target)}},
            "from_stage": {"id": previous.pk, "name": previous.name},
            "to_stage": {"id": target.pk, "name": target.name},
            "days": seconds // 86400,
            "seconds": seconds,
        },
    )
    if target.is_closed:
        assert reason is not None
        event_record(
            actor=actor,
            record=deal,
            kind=DealEvent.WON if target.outcome == StageOutcome.WON else DealEvent.LOST,
            data={
                "changes": {"close_reason": {"old": None, "new": json_value(reason)}},
                "close_reason": {"id": reason.pk, "name": reason.name},
                "close_note": note,
            },
        )
    elif was_closed:
        event_record(actor=actor, record=deal, kind=DealEvent.REOPENED)
    return deal


@transaction.atomic
def deal_delete(*, actor: Any, deal: Deal, expected_version: int | None = None) -> None:
    """Delete a deal with its line items and stage history (its events stay in the audit trail)."""
    require_perm(actor, Perm.SALES_DELETE)
    deal = _locked_visible(Deal, deal, actor)
    _check_version(deal, expected_version)
    event_record(actor=actor, record=deal, kind=DealEvent.DELETED)
    deal.delete()
