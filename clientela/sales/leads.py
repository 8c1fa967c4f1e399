"""Leads: their writes and reads, the assignment rules that route new ones, and conversion.

Services check the actor's role and scope, validate everything before writing anything, write in one
transaction and record what happened on the lead's timeline. Pages, the API, imports and the public
web forms (``sales.webforms``) all come through here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clientela.core.custom_fields import custom_fields_clean, record_type_of
from clientela.core.events import changes, event_record, json_value, snapshot
from clientela.core.exceptions import ConflictError
from clientela.core.locale import country_codes
from clientela.core.models import Tag
from clientela.core.ownership import ownership_resolve
from clientela.core.permissions import Perm, has_perm, require_perm
from clientela.core.phones import phone_to_e164
from clientela.core.search import search_document, search_normalize, search_phone_digits
from clientela.core.selectors import custom_field_definitions_for, is_visible_to, visible_to
from clientela.core.services import notification_send, tag_get_or_create
from clientela.identity.models import User
from clientela.parties.choices import ContactSource
from clientela.parties.models import Affiliation, Contact, ContactEmail, Organization
from clientela.sales.choices import AssignmentMethod, LeadStatus
from clientela.sales.events import AssignmentRuleEvent, LeadEvent
from clientela.sales.models import (
    AssignmentRule,
    Deal,
    Lead,
    Pipeline,
    WebForm,
)

LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "job_title",
    "country",
    "source",
    "status",
    "message",
    "is_shared_with_team",
)
# Statuses a person sets by editing; "converted" only comes from lead_convert.
EDITABLE_STATUSES = (
    LeadStatus.NEW,
    LeadStatus.CONTACTED,
    LeadStatus.QUALIFIED,
    LeadStatus.DISQUALIFIED,
)
# Addresses at these domains say nothing about the company a person works for.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.ru",
    }
)


# -- reads -------------------------------------------------------------------------------------


def leads_visible_to(actor: Any) -> QuerySet[Lead]:
    """Leads ``actor`` may see, with what list pages and the API show loaded up front."""
    if not has_perm(actor, Perm.SALES_VIEW):
        return Lead.objects.none()
    return (
        visible_to(Lead.objects.all(), actor)
        .select_related("owner", "team", "web_form")
        .prefetch_related("tags")
    )


def lead_get(actor: Any, pk: Any) -> Lead:
    """One visible lead, or Http404 (the same answer for someone else's and for a missing id)."""
    return get_object_or_404(leads_visible_to(actor), pk=pk)


def leads_search(queryset: QuerySet[Lead], text: str) -> QuerySet[Lead]:
    """Leads whose name, email, company or phone contain every word of ``text`` (any case, accents)."""
    for word in search_normalize(text or "")[:200].split():
        queryset = queryset.filter(search_text__contains=word)
    return queryset


def assignment_rules_visible_to(actor: Any) -> QuerySet[AssignmentRule]:
    """Every rule, in the order they are tried, for those who configure sales; none for others."""
    if not has_perm(actor, Perm.SALES_CONFIGURE):
        return AssignmentRule.objects.none()
    return AssignmentRule.objects.select_related("team", "user", "web_form", "last_assigned")


def assignment_rule_get(actor: Any, pk: Any) -> AssignmentRule:
    return get_object_or_404(assignment_rules_visible_to(actor), pk=pk)


def lead_submissions(lead: Lead) -> QuerySet[Any]:
    """The web form submissions that made or fed ``lead`` (its consent records), newest first."""
    return lead.submissions.select_related("web_form")


def lead_contact_matches(actor: Any, lead: Lead) -> list[Contact]:
    """Contacts ``actor`` can see that have the lead's email address (any case)."""
    email = (lead.email or "").strip().lower()
    if not email:
        return []
    ids = (
        ContactEmail.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email)
        .values("contact_id")
    )
    return list(
        visible_to(Contact.objects.all(), actor)
        .filter(pk__in=ids)
        .select_related("owner")
        .order_by("id")[:10]
    )


def _email_domain(email: str) -> str:
    domain = (email or "").rpartition("@")[2].lower().strip()
    return "" if domain in FREE_MAIL_DOMAINS else domain


def lead_organization_matches(actor: Any, lead: Lead) -> list[Organization]:
    """Organizations ``actor`` can see named like the lead's company (any case), else at the domain
    of its email address (not for free mail providers)."""
    visible = visible_to(Organization.objects.all(), actor)
    name = (lead.company_name or "").strip().lower()
    if name:
        by_name: list[Organization] = list(
            visible.alias(name_lower=Lower("name")).filter(name_lower=name).order_by("id")[:10]
        )
        if by_name:
            return by_name
    domain = _email_domain(lead.email)
    if domain:
        return list(visible.filter(domain=domain).order_by("id")[:10])
    return []


# -- validation shared by create, update and imports ------------------------------------------


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _assign(lead: Lead, values: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    for name, value in values.items():
        if name not in LEAD_FIELDS:
            errors.setdefault(name, []).append(_("This field cannot be set."))
            continue
        if isinstance(value, str):
            value = value.strip()
        if name == "country" and isinstance(value, str):
            value = value.upper()
        if name == "email" and isinstance(value, str):
            value = value.lower()
        setattr(lead, name, value)


def lead_validate(lead: Lead, errors: dict[str, list[str]]) -> None:
    """Check and normalize a lead's fields in place (email lower case, phone in E.164, country code);
    problems go into ``errors`` by field. Web forms validate their submissions with it too."""
    if not (lead.first_name or lead.last_name or lead.email or lead.phone or lead.company_name):
        errors.setdefault("last_name", []).append(
            _("Enter a name, an email address, a phone number or a company.")
        )
    if lead.email:
        try:
            validate_email(lead.email)
        except ValidationError:
            errors.setdefault("email", []).append(
                _("“%(value)s” is not a valid email address.") % {"value": lead.email}
            )
    if lead.country and lead.country not in country_codes():
        errors.setdefault("country", []).append(_("Choose a country from the list."))
    if lead.phone:
        region = lead.country if lead.country in country_codes() else None
        try:
            lead.phone = phone_to_e164(lead.phone, region)
        except ValidationError as error:
            errors.setdefault("phone", []).extend(error.messages)
    try:
        lead.full_clean(
            exclude=["owner", "team", "custom_fields", "phone", "email"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if len(lead.email) > 254:
        errors.setdefault("email", []).append(_("An email address has at most 254 characters."))
    lead.search_text = search_document(
        lead.first_name,
        lead.last_name,
        lead.email,
        lead.company_name,
        search_phone_digits(lead.phone),
    )


def _custom_fields(
    lead: Lead, values: Mapping[str, Any] | None, errors: dict[str, list[str]]
) -> None:
    if values is None and lead.pk:
        return
    definitions = custom_field_definitions_for(record_type_of(Lead))
    try:
        lead.custom_fields = custom_fields_clean(
            definitions, dict(values or {}), current=lead.custom_fields
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


def _locked(lead: Lead, actor: Any) -> Lead:
    """The lead re-read under a row lock, and still visible to ``actor`` (else DoesNotExist → 404)."""
    fresh = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner", "team", "web_form")
        .get(pk=lead.pk)
    )
    if not is_visible_to(fresh, actor):
        raise Lead.DoesNotExist
    return fresh


def _check_version(lead: Lead, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != lead.version:
        raise ConflictError(current_version=lead.version)


def _owner_resolve(
    *, actor: Any, owner: Any, team: Any, current_owner: Any = None, current_team: Any = None
) -> tuple[Any, Any]:
    """The owner and team a person gives a lead: someone else needs the sales assign permission."""
    if (
        owner is not None
        and owner.pk != actor.pk
        and getattr(current_owner, "pk", None) != owner.pk
    ):
        require_perm(actor, Perm.SALES_ASSIGN)
    return ownership_resolve(
        actor=actor,
        owner=owner,
        team=team,
        current_owner=current_owner,
        current_team=current_team,
    )


# -- assignment --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Who a new lead goes to, and the rule that decided it (None: the fallback owner)."""

    owner: Any
    team: Any
    rule: AssignmentRule | None


def _rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.sources and lead.source not in rule.sources:
        return False
    if rule.countries and lead.country not in rule.countries:
        return False
    return not (rule.web_form_id and rule.web_form_id != lead.web_form_id)


def _first_team(user: Any) -> Any:
    return user.teams.order_by("name", "id").first()


def _round_robin_next(rule: AssignmentRule) -> User | None:
    """The team's next active member after the last one assigned (by id, wrapping), or None.

    The rule's row is locked while the pointer moves, so that leads arriving at the same time are
    still dealt out in turn.
    """
    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members = list(
        User.objects.filter(teams=locked.team_id, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not members:
        return None
    last = locked.last_assigned_id
    chosen = next((member for member in members if last is None or member > last), members[0])
    locked.last_assigned_id = chosen
    locked.save(update_fields=["last_assigned"])
    rule.last_assigned_id = chosen
    return User.objects.get(pk=chosen)


def lead_route(lead: Lead, *, fallback_owner: Any, fallback_team: Any = None) -> Route:
    """Who gets ``lead`` (not yet saved, or saved): the first active rule in ``position`` order whose
    conditions match and which has someone active to give it to decides; else ``fallback_owner``.

    Round robin advances the rule's pointer; call it inside the transaction that saves the lead.
    """
    for rule in AssignmentRule.objects.filter(is_active=True).select_related("user", "team"):
        if not _rule_matches(rule, lead):
            continue
        if rule.method == AssignmentMethod.USER:
            if rule.user is None or not rule.user.is_active:
                continue
            return Route(rule.user, rule.team or _first_team(rule.user), rule)
        owner = _round_robin_next(rule)
        if owner is not None:
            return Route(owner, rule.team, rule)
    team = fallback_team if fallback_team is not None else _first_team(fallback_owner)
    return Route(fallback_owner, team, None)


def _assigned_notify(lead_id: int, user_id: int) -> None:
    """Tell the person a lead was given to, in their own language (runs after the commit)."""
    lead = Lead.objects.filter(pk=lead_id).first()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if lead is None or user is None:
        return
    with translation.override(user.language or settings.LANGUAGE_CODE):
        title = _("A lead was assigned to you: %(name)s") % {"name": lead}
        body = lead.company_name or lead.email
        notification_send(
            user=user,
            kind=LeadEvent.ASSIGNED,
            title=title,
            body=body,
            url=reverse("sales:lead_detail", args=[lead.pk]),
        )


def _record_assignment(*, actor: Any, lead: Lead, route: Route, notify: bool) -> None:
    data: dict[str, Any] = {"owner": json_value(route.owner)}
    if route.rule is not None:
        data["rule"] = {"id": route.rule.pk, "label": route.rule.name}
    event_record(actor=actor, record=lead, kind=LeadEvent.ASSIGNED, data=data)
    if notify:
        lead_id, user_id = lead.pk, route.owner.pk
        transaction.on_commit(lambda: _assigned_notify(lead_id, user_id))


@transaction.atomic
def lead_assign_new(*, actor: Any, lead: Lead) -> Lead:
    """Route an existing lead through the assignment rules again, as if it had just arrived."""
    require_perm(actor, Perm.SALES_ASSIGN)
    lead = _locked(lead, actor)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("A converted lead keeps its owner.")})
    route = lead_route(lead, fallback_owner=lead.owner, fallback_team=lead.team)
    if route.owner.pk == lead.owner_id and getattr(route.team, "pk", None) == lead.team_id:
        return lead
    before = snapshot(lead, ("owner", "team"))
    lead.owner, lead.team = route.owner, route.team
    lead.version += 1
    lead.updated_at = timezone.now()
    lead.save()
    event_record(
        actor=actor,
        record=lead,
        kind=LeadEvent.OWNER_CHANGED,
        data={"changes": changes(before, snapshot(lead, ("owner", "team")))},
    )
    _record_assignment(actor=actor, lead=lead, route=route, notify=route.owner.pk != actor.pk)
    return lead


# -- leads ---------------------------------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: Any,
    owner: Any = None,
    team: Any = None,
    web_form: WebForm | None = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    now: Any = None,
    **fields: Any,
) -> Lead:
    """Create a lead. Email is stored in lower case, the phone in E.164, the country as its code.

    Without an ``owner`` the assignment rules decide who gets it (the creator, or the web form's
    default owner, when none applies), and the assignee is notified after the commit. ``actor`` is
    None only for a visitor's web form submission: the form is what allows it.
    """
    if actor is None:
        if web_form is None:
            raise PermissionDenied(_("Your role does not allow this."))
    else:
        require_perm(actor, Perm.SALES_ADD)
    now = now or timezone.now()
    lead = Lead(created_at=now, updated_at=now, web_form=web_form)
    errors: dict[str, list[str]] = {}
    _assign(lead, fields, errors)
    if lead.status == LeadStatus.CONVERTED:
        errors.setdefault("status", []).append(_("A lead becomes converted by converting it."))
    lead_validate(lead, errors)
    if actor is not None:
        # A visitor cannot fill in internal fields: required ones are for the team to complete.
        _custom_fields(lead, custom_fields, errors)
    _raise_if(errors)
    route: Route | None = None
    if actor is not None and (owner is not None or team is not None):
        lead.owner, lead.team = _owner_resolve(actor=actor, owner=owner, team=team)
    elif actor is None and web_form is not None:
        route = lead_route(lead, fallback_owner=web_form.default_owner, fallback_team=web_form.team)
        lead.owner, lead.team = route.owner, route.team
    else:
        route = lead_route(lead, fallback_owner=actor)
        lead.owner, lead.team = route.owner, route.team
    lead.save()
    tag_list = _tags(tags, actor) if actor is not None else None
    if tag_list:
        lead.tags.set(tag_list)
    event_record(
        actor=actor,
        record=lead,
        kind=LeadEvent.CREATED,
        data={"source": lead.source, "tags": sorted(tag.name for tag in tag_list or [])},
    )
    if route is not None:
        _record_assignment(
            actor=actor,
            lead=lead,
            route=route,
            notify=actor is None or route.owner.pk != actor.pk,
        )
    elif actor is not None and lead.owner_id != actor.pk:
        lead_id, user_id = lead.pk, lead.owner_id
        transaction.on_commit(lambda: _assigned_notify(lead_id, user_id))
    return lead


_TRACKED = (*LEAD_FIELDS, "custom_fields")


@transaction.atomic
def lead_update(
    *,
    actor: Any,
    lead: Lead,
    owner: Any = None,
    team: Any = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> Lead:
    """Change a lead. Only the given fields change; ``tags`` replaces the tag set. A new owner is
    notified after the commit."""
    require_perm(actor, Perm.SALES_CHANGE)
    lead = _locked(lead, actor)
    _check_version(lead, expected_version)
    before = snapshot(lead, _TRACKED)
    before_owner = snapshot(lead, ("owner", "team"))
    before_tags = {tag.name for tag in lead.tags.all()}
    errors: dict[str, list[str]] = {}
    _assign(lead, fields, errors)
    if "status" in fields and lead.status != before["status"]:
        if before["status"] == LeadStatus.CONVERTED:
            errors.setdefault("status", []).append(_("A converted lead stays converted."))
        elif lead.status not in EDITABLE_STATUSES:
            errors.setdefault("status", []).append(_("A lead becomes converted by converting it."))
    lead_validate(lead, errors)
    _custom_fields(lead, custom_fields, errors)
    _raise_if(errors)
    if owner is not None or team is not None:
        lead.owner, lead.team = _owner_resolve(
            actor=actor,
            owner=owner,
            team=team,
            current_owner=lead.owner,
            current_team=lead.team,
        )
    tag_list = _tags(tags, actor)
    diff = changes(before, snapshot(lead, _TRACKED))
    owner_diff = changes(before_owner, snapshot(lead, ("owner", "team")))
    after_tags = before_tags if tag_list is None else {tag.name for tag in tag_list}
    if not diff and not owner_diff and after_tags == before_tags:
        return lead
    lead.version += 1
    lead.updated_at = timezone.now()
    lead.save()
    if tag_list is not None:
        lead.tags.set(tag_list)
    if diff:
        event_record(actor=actor, record=lead, kind=LeadEvent.CHANGED, data={"changes": diff})
    if owner_diff:
        event_record(
            actor=actor, record=lead, kind=LeadEvent.OWNER_CHANGED, data={"changes": owner_diff}
        )
        if "owner" in owner_diff and lead.owner_id != actor.pk:
            lead_id, user_id = lead.pk, lead.owner_id
            transaction.on_commit(lambda: _assigned_notify(lead_id, user_id))
    if after_tags != before_tags:
        event_record(
            actor=actor,
            record=lead,
            kind=LeadEvent.CHANGED,
            data={"changes": {"tags": {"old": sorted(before_tags), "new": sorted(after_tags)}}},
        )
    return lead


@transaction.atomic
def lead_disqualify(
    *, actor: Any, lead: Lead, reason: str = "", expected_version: int | None = None
) -> Lead:
    """Mark a lead as not worth pursuing, with an optional reason on its timeline."""
    require_perm(actor, Perm.SALES_CHANGE)
    lead = _locked(lead, actor)
    _check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("A converted lead cannot be disqualified.")})
    if lead.status == LeadStatus.DISQUALIFIED:
        return lead
    reason = (reason or "").strip()[:500]
    lead.status = LeadStatus.DISQUALIFIED
    lead.version += 1
    lead.updated_at = timezone.now()
    lead.save()
    event_record(actor=actor, record=lead, kind=LeadEvent.DISQUALIFIED, data={"reason": reason})
    return lead


@transaction.atomic
def lead_delete(*, actor: Any, lead: Lead, expected_version: int | None = None) -> None:
    """Delete a lead. Its web form submissions stay: they are the record of consent."""
    require_perm(actor, Perm.SALES_DELETE)
    lead = _locked(lead, actor)
    _check_version(lead, expected_version)
    event_record(actor=actor, record=lead, kind=LeadEvent.DELETED)
    lead.delete()


# -- imports -------------------------------------------------------------------------------------

# Column headings an import understands: the field names, and the English labels people type.
IMPORT_COLUMNS: dict[str, str] = {
    "first_name": "first_name",
    "first name": "first_name",
    "last_name": "last_name",
    "last name": "last_name",
    "name": "last_name",
    "email": "email",
    "e-mail": "email",
    "phone": "phone",
    "company": "company_name",
    "company_name": "company_name",
    "job_title": "job_title",
    "job title": "job_title",
    "title": "job_title",
    "country": "country",
    "source": "source",
    "message": "message",
}
IMPORT_MAX_ROWS = 5000


@dataclass
class LeadImportResult:
    """How an import went: the leads made, and the rows refused with their messages (row 2 is the
    first row under the headings)."""

    created: list[Lead] = field(default_factory=list)
    errors: list[tuple[int, list[str]]] = field(default_factory=list)


def leads_import(*, actor: Any, file_text: str, now: Any = None) -> LeadImportResult:
    """Create a lead from each row of a CSV text (headings in the first row; see IMPORT_COLUMNS).

    Each row is written on its own through ``lead_create``, so the assignment rules route it; a bad
    row is reported and skipped. Rows without a source get "import".
    """
    require_perm(actor, Perm.SALES_ADD)
    text = file_text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    result = LeadImportResult()
    headings = next(reader, None)
    if not headings:
        raise ValidationError({"file": _("The file is empty.")})
    columns = [IMPORT_COLUMNS.get(heading.strip().lower()) for heading in headings]
    if not any(columns):
        raise ValidationError(
            {
                "file": _("No column heading is known. Use headings such as: %(names)s.")
                % {"names": "first_name, last_name, email, phone, company, country"}
            }
        )
    for number, row in enumerate(reader, start=2):
        if number > IMPORT_MAX_ROWS + 1:
            result.errors.append(
                (number, [_("Only %(count)s rows are read.") % {"count": IMPORT_MAX_ROWS}])
            )
            break
        values: dict[str, Any] = {}
        for column, value in zip(columns, row, strict=False):
            if column and value.strip():
                values[column] = value.strip()
        if not values:
            continue
        values.setdefault("source", ContactSource.IMPORT)
        if values["source"] not in ContactSource.values:
            values["source"] = _source_from_label(values["source"])
        try:
            with transaction.atomic():
                result.created.append(lead_create(actor=actor, now=now, **values))
        except ValidationError as error:
            messages = (
                [f"{name}: {' '.join(texts)}" for name, texts in error.message_dict.items()]
                if hasattr(error, "error_dict")
                else list(error.messages)
            )
            result.errors.append((number, messages))
    return result


def _source_from_label(text: str) -> str:
    lowered = text.strip().lower()
    for value, label in ContactSource.choices:
        if lowered in (value, str(label).lower()):
            return str(value)
    return text


# -- conversion ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    """What converting a lead made or found."""

    lead: Lead
    contact: Contact
    organization: Organization | None
    deal: Deal | None
    is_contact_new: bool
    is_organization_new: bool


def _conversion_owner(actor: Any, lead: Lead) -> Any:
    """The lead's owner when ``actor`` may give records to them, else ``actor``."""
    from clientela.identity.selectors import assignable_owners_for

    if lead.owner_id == actor.pk or not lead.owner.is_active:
        return actor
    if assignable_owners_for(actor).filter(pk=lead.owner_id).exists():
        return lead.owner
    return actor


def _contact_name(lead: Lead) -> dict[str, Any]:
    if lead.first_name or lead.last_name:
        return {"first_name": lead.first_name, "last_name": lead.last_name}
    fallback = lead.email.partition("@")[0] if lead.email else lead.company_name
    return {"first_name": "", "last_name": fallback[:100]}


def _pipeline_for(lead: Lead, pipeline: Pipeline | None) -> Pipeline:
    if pipeline is not None:
        if not pipeline.is_active:
            raise ValidationError({"pipeline": _("This pipeline takes no new deals.")})
        return pipeline
    if lead.web_form_id and lead.web_form and lead.web_form.pipeline_id:
        form_pipeline = lead.web_form.pipeline
        if form_pipeline is not None and form_pipeline.is_active:
            return form_pipeline
    first = Pipeline.objects.filter(is_active=True).order_by("position", "id").first()
    if first is None:
        raise ValidationError({"pipeline": _("There is no active pipeline to put the deal in.")})
    return first


def _deal_for_conversion(
    *,
    actor: Any,
    lead: Lead,
    owner: Any,
    contact: Contact,
    organization: Organization | None,
    title: str,
    pipeline: Pipeline,
    amount: Decimal,
    now: Any,
) -> Deal:
    """The deal a conversion opens, at its pipeline's first open stage (sales.services.deal_create)."""
    from clientela.sales.services import deal_create

    return deal_create(
        actor=actor,
        title=title[:200],
        pipeline=pipeline,
        amount=amount,
        contacts=[contact],
        organization=organization,
        owner=owner,
        team=lead.team if owner.pk == lead.owner_id else None,
        now=now,
    )


def _amount(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0.00")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": _("Enter a number.")}) from None
    if amount < 0 or not amount.is_finite():
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def lead_convert(
    *,
    actor: Any,
    lead: Lead,
    contact: Contact | None = None,
    organization: Organization | None = None,
    create_deal: bool = False,
    deal_title: str = "",
    pipeline: Pipeline | None = None,
    amount: Any = None,
    now: Any = None,
) -> Conversion:
    """Turn a lead into a contact (and organization, and optionally a deal), in one transaction.

    The contact is the one given, else one ``actor`` can see with the lead's email address, else a
    new one; the organization likewise (given, same name, same email domain, else new from the lead's
    company). The contact is linked to the organization unless it already is. Converting a lead twice
    is refused.
    """
    from clientela.parties.services import contact_create, contact_update, organization_create

    require_perm(actor, Perm.SALES_CHANGE)
    now = now or timezone.now()
    lead = _locked(lead, actor)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError(
            {
                "status": _(
                    "This lead was already converted on %(date)s; it cannot be converted again."
                )
                % {"date": timezone.localtime(lead.converted_at or now).date().isoformat()}
            }
        )
    amount_value = _amount(amount)
    deal_pipeline = _pipeline_for(lead, pipeline) if create_deal else None
    visible_contacts = visible_to(Contact.objects.all(), actor)
    visible_organizations = visible_to(Organization.objects.all(), actor)
    if contact is not None and not visible_contacts.filter(pk=contact.pk).exists():
        raise ValidationError({"contact": _("Choose a contact you can see.")})
    if organization is not None and not visible_organizations.filter(pk=organization.pk).exists():
        raise ValidationError({"organization": _("Choose an organization you can see.")})
    owner = _conversion_owner(actor, lead)

    is_organization_new = False
    if organization is None:
        matches = lead_organization_matches(actor, lead)
        if matches:
            organization = matches[0]
        elif lead.company_name:
            organization = organization_create(
                actor=actor, owner=owner, name=lead.company_name, country=lead.country
            )
            is_organization_new = True

    is_contact_new = False
    if contact is None:
        found = lead_contact_matches(actor, lead)
        contact = found[0] if found else None
    if contact is None:
        contact = contact_create(
            actor=actor,
            owner=owner,
            job_title=lead.job_title,
            country=lead.country,
            source=lead.source,
            emails=[lead.email] if lead.email else [],
            phones=[lead.phone] if lead.phone else [],
            organizations=(
                [{"organization": organization, "role": lead.job_title}] if organization else []
            ),
            **_contact_name(lead),
        )
        is_contact_new = True
    elif (
        organization is not None
        and not Affiliation.objects.filter(contact=contact, organization=organization).exists()
    ):
        visible_ids = visible_organizations.values("id")
        kept = [
            {"organization": item.organization_id, "role": item.role, "is_primary": item.is_primary}
            for item in contact.affiliations.filter(organization__in=visible_ids)
        ]
        has_primary = contact.affiliations.filter(is_primary=True).exists()
        contact_update(
            actor=actor,
            contact=contact,
            organizations=[
                *kept,
                {
                    "organization": organization,
                    "role": lead.job_title,
                    "is_primary": not has_primary,
                },
            ],
        )
        contact.refresh_from_db()

    deal = None
    if deal_pipeline is not None:
        title = (deal_title or "").strip() or lead.company_name or str(lead)
        deal = _deal_for_conversion(
            actor=actor,
            lead=lead,
            owner=owner,
            contact=contact,
            organization=organization,
            title=title,
            pipeline=deal_pipeline,
            amount=amount_value,
            now=now,
        )

    lead.status = LeadStatus.CONVERTED
    lead.converted_at = now
    lead.converted_contact = contact
    lead.converted_organization = organization
    lead.converted_deal = deal
    lead.version += 1
    lead.updated_at = now
    lead.save()
    event_record(
        actor=actor,
        record=lead,
        kind=LeadEvent.CONVERTED,
        data={
            "contact": json_value(contact),
            "organization": json_value(organization),
            "deal": json_value(deal),
            "contact_created": is_contact_new,
            "organization_created": is_organization_new,
        },
    )
    return Conversion(
        lead=lead,
        contact=contact,
        organization=organization,
        deal=deal,
        is_contact_new=is_contact_new,
        is_organization_new=is_organization_new,
    )


# -- assignment rules ------------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "position",
    "is_active",
    "sources",
    "countries",
    "web_form",
    "method",
    "team",
    "user",
)


def _rule_validate(rule: AssignmentRule, errors: dict[str, list[str]]) -> None:
    rule.name = (rule.name or "").strip()
    if not rule.name:
        errors.setdefault("name", []).append(_("A rule needs a name."))
    sources = [str(item).strip() for item in rule.sources or [] if str(item).strip()]
    if unknown := sorted(set(sources) - set(ContactSource.values)):
        errors.setdefault("sources", []).append(
            _("Unknown sources: %(values)s.") % {"values": ", ".join(unknown)}
        )
    rule.sources = sorted(set(sources))
    countries = [str(item).strip().upper() for item in rule.countries or [] if str(item).strip()]
    if unknown := sorted(set(countries) - country_codes()):
        errors.setdefault("countries", []).append(
            _("Unknown countries: %(values)s.") % {"values": ", ".join(unknown)}
        )
    rule.countries = sorted(set(countries))
    if rule.method not in AssignmentMethod.values:
        errors.setdefault("method", []).append(_("Choose how the rule assigns."))
    elif rule.method == AssignmentMethod.ROUND_ROBIN and rule.team_id is None:
        errors.setdefault("team", []).append(_("Choose the team whose members take turns."))
    elif rule.method == AssignmentMethod.USER:
        if rule.user_id is None:
            errors.setdefault("user", []).append(_("Choose the person who gets the leads."))
        elif rule.user is not None and not rule.user.is_active:
            errors.setdefault("user", []).append(_("This person is deactivated."))
    if rule.method == AssignmentMethod.ROUND_ROBIN:
        rule.user = None
    if len(rule.name) > 100:
        errors.setdefault("name", []).append(_("A name has at most 100 characters."))


def _rule_set(
    rule: AssignmentRule, values: Mapping[str, Any], errors: dict[str, list[str]]
) -> None:
    for name, value in values.items():
        if name not in RULE_FIELDS:
            errors.setdefault(name, []).append(_("This field cannot be set."))
            continue
        setattr(rule, name, value)


def _rule_snapshot(rule: AssignmentRule) -> dict[str, Any]:
    return snapshot(rule, RULE_FIELDS)


@transaction.atomic
def assignment_rule_create(*, actor: Any, **values: Any) -> AssignmentRule:
    """Add a rule; without a ``position`` it is tried after every existing one."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    rule = AssignmentRule()
    errors: dict[str, list[str]] = {}
    _rule_set(rule, values, errors)
    if values.get("position") is None:
        last = AssignmentRule.objects.order_by("-position").values_list("position", flat=True)
        rule.position = (last.first() or 0) + 1
    _rule_validate(rule, errors)
    _raise_if(errors)
    rule.save()
    event_record(actor=actor, record=rule, kind=AssignmentRuleEvent.CREATED)
    return rule


@transaction.atomic
def assignment_rule_update(*, actor: Any, rule: AssignmentRule, **values: Any) -> AssignmentRule:
    require_perm(actor, Perm.SALES_CONFIGURE)
    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    before = _rule_snapshot(rule)
    errors: dict[str, list[str]] = {}
    _rule_set(rule, values, errors)
    if rule.position is None:
        rule.position = before["position"]
    _rule_validate(rule, errors)
    _raise_if(errors)
    diff = changes(before, _rule_snapshot(rule))
    if diff:
        rule.updated_at = timezone.now()
        rule.save()
        event_record(
            actor=actor, record=rule, kind=AssignmentRuleEvent.CHANGED, data={"changes": diff}
        )
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor: Any, rule: AssignmentRule) -> None:
    require_perm(actor, Perm.SALES_CONFIGURE)
    event_record(actor=actor, record=rule, kind=AssignmentRuleEvent.DELETED)
    rule.delete()
