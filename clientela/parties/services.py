"""Writes on organizations and contacts.

Every function checks the actor's role and scope, validates everything before writing anything, writes
in one transaction, and records what changed on the record's timeline. Pages, the API, the CLI, imports
and the demo all come through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from clientela.core.custom_fields import custom_fields_clean, record_type_of
from clientela.core.events import changes, event_record, json_value, snapshot
from clientela.core.exceptions import ConflictError
from clientela.core.locale import country_codes, currency_codes
from clientela.core.models import Event, Tag
from clientela.core.ownership import ownership_resolve
from clientela.core.permissions import Perm, has_perm, require_perm
from clientela.core.phones import phone_to_e164
from clientela.core.selectors import custom_field_definitions_for, is_visible_to, visible_to
from clientela.core.services import tag_get_or_create
from clientela.parties.choices import EmailKind, LifecycleStage, PhoneKind
from clientela.parties.events import ContactEvent, OrganizationEvent
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    Organization,
)
from clientela.parties.search import (
    contact_search_text,
    contact_search_text_refresh,
    organization_search_text,
)
from clientela.parties.selectors import LIST_COLUMNS, LIST_COLUMNS_DEFAULT

ORGANIZATION_FIELDS = (
    "name",
    "website",
    "industry",
    "size_band",
    "phone",
    "annual_revenue",
    "currency",
    "description",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "is_shared_with_team",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "lifecycle_stage",
    "source",
    "preferred_language",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "is_shared_with_team",
)


# -- shared by both record types ---------------------------------------------------------------


def _assign_fields(record: models.Model, values: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError({name: _("This field cannot be set.") for name in unknown})
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        if name in ("country", "currency") and isinstance(value, str):
            value = value.upper()
        setattr(record, name, value)


def _full_clean(record: models.Model, errors: dict[str, list[str]]) -> None:
    """Model validation (lengths, choices, formats) merged into ``errors``."""
    try:
        record.full_clean(
            exclude=["owner", "team", "custom_fields"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    country = getattr(record, "country", "")
    if country and country not in country_codes():
        errors.setdefault("country", []).append(_("Choose a country from the list."))


def _custom_fields(
    record: Any, values: Mapping[str, Any] | None, errors: dict[str, list[str]]
) -> None:
    definitions = custom_field_definitions_for(record_type_of(type(record)))
    if values is None and record.pk:
        return
    try:
        record.custom_fields = custom_fields_clean(
            definitions, dict(values or {}), current=record.custom_fields
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


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _check_version(record: Any, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != record.version:
        raise ConflictError(current_version=record.version)


def _record_tag_changes(
    *, actor: Any, record: Any, before: set[str], after: set[str], tagged: str, untagged: str
) -> None:
    if added := sorted(after - before):
        event_record(actor=actor, record=record, kind=tagged, data={"tags": added})
    if removed := sorted(before - after):
        event_record(actor=actor, record=record, kind=untagged, data={"tags": removed})


def _record_owner_change(*, actor: Any, record: Any, before: dict[str, Any], kind: str) -> None:
    after = snapshot(record, ("owner", "team"))
    if diff := changes(before, after):
        event_record(actor=actor, record=record, kind=kind, data={"changes": diff})


def _set_fields(
    record: models.Model,
    values: Mapping[str, Any],
    allowed: Sequence[str],
    errors: dict[str, list[str]],
) -> None:
    try:
        _assign_fields(record, values, allowed)
    except ValidationError as error:
        errors.update(error.message_dict)


def _created(*, actor: Any, record: Any, tags: Iterable[str | Tag] | None, kinds: Any) -> None:
    """What every party creation ends with: its tags, and the created (and tagged) events."""
    tag_list = _tags(tags, actor) or []
    record.tags.set(tag_list)
    event_record(actor=actor, record=record, kind=kinds.CREATED)
    if tag_list:
        event_record(
            actor=actor,
            record=record,
            kind=kinds.TAGGED,
            data={"tags": sorted(tag.name for tag in tag_list)},
        )


def _updated(
    *,
    actor: Any,
    record: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    before_owner: dict[str, Any],
    before_tags: set[str],
    tag_list: list[Tag] | None,
    kinds: Any,
) -> None:
    """What every party update ends with: a new version and one event per kind of change.

    Nothing is saved and no event recorded when nothing changed.
    """
    diff = changes(before, after)
    owner_diff = changes(before_owner, snapshot(record, ("owner", "team")))
    after_tags = before_tags if tag_list is None else {tag.name for tag in tag_list}
    if not diff and not owner_diff and after_tags == before_tags:
        return
    record.version += 1
    record.updated_at = timezone.now()
    record.save()
    if tag_list is not None:
        record.tags.set(tag_list)
    if diff:
        event_record(actor=actor, record=record, kind=kinds.CHANGED, data={"changes": diff})
    _record_owner_change(actor=actor, record=record, before=before_owner, kind=kinds.OWNER_CHANGED)
    _record_tag_changes(
        actor=actor,
        record=record,
        before=before_tags,
        after=after_tags,
        tagged=kinds.TAGGED,
        untagged=kinds.UNTAGGED,
    )


def _domain_of(website: str) -> str:
    if not website:
        return ""
    host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
    return host.removeprefix("www.").lower()


# -- organizations -----------------------------------------------------------------------------


def _organization_validate(organization: Organization, errors: dict[str, list[str]]) -> None:
    if not organization.name:
        errors.setdefault("name", []).append(_("An organization needs a name."))
    if organization.phone:
        try:
            organization.phone = phone_to_e164(organization.phone, organization.country or None)
        except ValidationError as error:
            errors.setdefault("phone", []).extend(error.messages)
    if organization.currency not in currency_codes():
        errors.setdefault("currency", []).append(_("Choose a currency such as EUR or USD."))
    if (
        isinstance(organization.annual_revenue, str | int | float)
        and organization.annual_revenue != ""
    ):
        try:
            organization.annual_revenue = Decimal(str(organization.annual_revenue))
        except ArithmeticError:
            errors.setdefault("annual_revenue", []).append(_("Enter a number."))
    if organization.annual_revenue == "":
        organization.annual_revenue = None
    # The database refuses a negative revenue (a check constraint that full_clean does not run here).
    if isinstance(organization.annual_revenue, Decimal) and organization.annual_revenue < 0:
        errors.setdefault("annual_revenue", []).append(_("The annual revenue cannot be negative."))
    organization.domain = _domain_of(organization.website)
    organization.search_text = organization_search_text(
        name=organization.name, domain=organization.domain, phone=organization.phone
    )
    _full_clean(organization, errors)


@transaction.atomic
def organization_create(
    *,
    actor: Any,
    owner: Any = None,
    team: Any = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Organization:
    require_perm(actor, Perm.PARTIES_ADD)
    organization = Organization()
    errors: dict[str, list[str]] = {}
    _set_fields(organization, fields, ORGANIZATION_FIELDS, errors)
    _organization_validate(organization, errors)
    _custom_fields(organization, custom_fields, errors)
    _raise_if(errors)
    organization.owner, organization.team = ownership_resolve(actor=actor, owner=owner, team=team)
    organization.save()
    _created(actor=actor, record=organization, tags=tags, kinds=OrganizationEvent)
    return organization


@transaction.atomic
def organization_update(
    *,
    actor: Any,
    organization: Organization,
    owner: Any = None,
    team: Any = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> Organization:
    """Change an organization. Only the given fields change; ``tags`` replaces the tag set."""
    require_perm(actor, Perm.PARTIES_CHANGE)
    organization = _locked(Organization, organization, actor)
    _check_version(organization, expected_version)
    tracked = (*ORGANIZATION_FIELDS, "domain", "custom_fields")
    before = snapshot(organization, tracked)
    before_owner = snapshot(organization, ("owner", "team"))
    before_tags = {tag.name for tag in organization.tags.all()}
    errors: dict[str, list[str]] = {}
    _set_fields(organization, fields, ORGANIZATION_FIELDS, errors)
    _organization_validate(organization, errors)
    _custom_fields(organization, custom_fields, errors)
    _raise_if(errors)
    if owner is not None or team is not None:
        organization.owner, organization.team = ownership_resolve(
            actor=actor,
            owner=owner,
            team=team,
            current_owner=organization.owner,
            current_team=organization.team,
        )
    _updated(
        actor=actor,
        record=organization,
        before=before,
        after=snapshot(organization, tracked),
        before_owner=before_owner,
        before_tags=before_tags,
        tag_list=_tags(tags, actor),
        kinds=OrganizationEvent,
    )
    if before["name"] != organization.name:
        # Its people are found by its name: their search text changes with it.
        contact_search_text_refresh(
            Affiliation.objects.filter(organization=organization).values_list(
                "contact_id", flat=True
            )
        )
    return organization


@transaction.atomic
def organization_delete(
    *, actor: Any, organization: Organization, expected_version: int | None = None
) -> None:
    """Delete an organization; its contacts stay, without this affiliation."""
    require_perm(actor, Perm.PARTIES_DELETE)
    organization = _locked(Organization, organization, actor)
    _check_version(organization, expected_version)
    event_record(actor=actor, record=organization, kind=OrganizationEvent.DELETED)
    people = list(
        Affiliation.objects.filter(organization=organization).values_list("contact_id", flat=True)
    )
    organization.delete()
    contact_search_text_refresh(people)


def _locked(model: type[Any], record: Any, actor: Any) -> Any:
    """The record re-read under a row lock, and still visible to ``actor`` (else DoesNotExist → 404)."""
    fresh = (
        model.objects.select_for_update(of=("self",))
        .select_related("owner", "team")
        .get(pk=record.pk)
    )
    if not is_visible_to(fresh, actor):
        raise model.DoesNotExist
    return fresh


# -- contacts ----------------------------------------------------------------------------------


def _emails_clean(items: Iterable[Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        entry = {"email": item} if isinstance(item, str) else dict(item)
        email = str(entry.get("email", "")).strip()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("emails", []).append(
                _("“%(value)s” is not a valid email address.") % {"value": email}
            )
            continue
        if len(email) > 254:
            errors.setdefault("emails", []).append(
                _("An email address has at most 254 characters.")
            )
            continue
        local, _at, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        kind = entry.get("kind") or EmailKind.WORK
        if kind not in EmailKind.values:
            errors.setdefault("emails", []).append(
                _("Unknown kind of email address: %(kind)s.") % {"kind": kind}
            )
            continue
        cleaned.append({"email": email, "kind": kind, "is_primary": bool(entry.get("is_primary"))})
    _one_primary(cleaned)
    return cleaned


def _phones_clean(
    items: Iterable[Any], region: str | None, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        entry = {"number": item} if isinstance(item, str) else dict(item)
        raw = str(entry.get("number", "")).strip()
        if not raw:
            continue
        try:
            number = phone_to_e164(raw, region)
        except ValidationError as error:
            errors.setdefault("phones", []).extend(error.messages)
            continue
        if number in seen:
            continue
        seen.add(number)
        kind = entry.get("kind") or PhoneKind.MOBILE
        if kind not in PhoneKind.values:
            errors.setdefault("phones", []).append(
                _("Unknown kind of phone number: %(kind)s.") % {"kind": kind}
            )
            continue
        cleaned.append(
            {"number": number, "kind": kind, "is_primary": bool(entry.get("is_primary"))}
        )
    _one_primary(cleaned)
    return cleaned


def _one_primary(items: list[dict[str, Any]]) -> None:
    """Exactly one primary when there are any: the first one marked, else the first one."""
    primary = next((index for index, item in enumerate(items) if item["is_primary"]), 0)
    for index, item in enumerate(items):
        item["is_primary"] = index == primary


def _affiliations_clean(
    items: Iterable[Any], actor: Any, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    cleaned: dict[int, dict[str, Any]] = {}
    visible = visible_to(Organization.objects.all(), actor)
    for item in items:
        entry = {"organization": item} if isinstance(item, Organization | int) else dict(item)
        organization = entry.get("organization")
        organization_id = (
            organization.pk if isinstance(organization, Organization) else organization
        )
        found = visible.filter(pk=organization_id).first() if organization_id else None
        if found is None:
            errors.setdefault("organizations", []).append(_("Choose an organization you can see."))
            continue
        role = str(entry.get("role") or "").strip()
        if len(role) > 150:
            errors.setdefault("organizations", []).append(_("A role has at most 150 characters."))
            continue
        cleaned[found.pk] = {
            "organization": found,
            "role": role,
            "is_primary": bool(entry.get("is_primary")),
        }
    items_list = list(cleaned.values())
    _one_primary(items_list)
    return items_list


def _contact_validate(contact: Contact, errors: dict[str, list[str]]) -> None:
    if not contact.first_name and not contact.last_name:
        errors.setdefault("last_name", []).append(_("Enter a first or a last name."))
    _full_clean(contact, errors)


def _contact_children_write(
    contact: Contact,
    actor: Any,
    emails: list[dict[str, Any]] | None,
    phones: list[dict[str, Any]] | None,
    affiliations: list[dict[str, Any]] | None,
) -> None:
    if emails is not None:
        contact.emails.all().delete()
        ContactEmail.objects.bulk_create(ContactEmail(contact=contact, **item) for item in emails)
        contact.primary_email = emails[0]["email"] if emails else ""
    if phones is not None:
        contact.phones.all().delete()
        ContactPhone.objects.bulk_create(ContactPhone(contact=contact, **item) for item in phones)
        contact.primary_phone = phones[0]["number"] if phones else ""
    if affiliations is not None:
        # Only the affiliations the actor can see are replaced: links to organizations outside
        # their scope stay as they are (and keep being primary if one was).
        visible = contact.affiliations.filter(organization__in=_visible_organization_ids(actor))
        visible.delete()
        if contact.affiliations.filter(is_primary=True).exists():
            for item in affiliations:
                item["is_primary"] = False
        Affiliation.objects.bulk_create(
            Affiliation(contact=contact, **item) for item in affiliations
        )


def _contact_search_text_set(contact: Contact) -> None:
    """The contact's search text from its name and its rows as they are now (not saved here)."""
    contact.search_text = contact_search_text(
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=contact.emails.values_list("email", flat=True),
        phones=contact.phones.values_list("number", flat=True),
        organization_names=contact.affiliations.values_list("organization__name", flat=True),
    )


def _visible_organization_ids(actor: Any) -> Any:
    return visible_to(Organization.objects.all(), actor).values("id")


def _contact_children_snapshot(contact: Contact, actor: Any) -> dict[str, Any]:
    """Emails, phones and the affiliations ``actor`` can see: what an event may tell about them."""
    affiliations = contact.affiliations.filter(
        organization__in=_visible_organization_ids(actor)
    ).select_related("organization")
    return {
        "emails": [email.email for email in contact.emails.all()],
        "phones": [phone.number for phone in contact.phones.all()],
        "organizations": [
            {"id": item.organization_id, "label": str(item.organization), "role": item.role}
            for item in affiliations
        ],
    }


@transaction.atomic
def contact_create(
    *,
    actor: Any,
    owner: Any = None,
    team: Any = None,
    emails: Iterable[Any] = (),
    phones: Iterable[Any] = (),
    organizations: Iterable[Any] = (),
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Contact:
    """Create a contact. Emails and phones are strings or {"email"/"number", "kind", "is_primary"};
    phones may be typed in any common format and are stored in E.164."""
    require_perm(actor, Perm.PARTIES_ADD)
    contact = Contact()
    errors: dict[str, list[str]] = {}
    _set_fields(contact, fields, CONTACT_FIELDS, errors)
    _contact_validate(contact, errors)
    email_list = _emails_clean(emails, errors)
    phone_list = _phones_clean(phones, contact.country or None, errors)
    affiliation_list = _affiliations_clean(organizations, actor, errors)
    _custom_fields(contact, custom_fields, errors)
    _raise_if(errors)
    contact.owner, contact.team = ownership_resolve(actor=actor, owner=owner, team=team)
    contact.save()
    _contact_children_write(contact, actor, email_list, phone_list, affiliation_list)
    contact.search_text = contact_search_text(
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=[item["email"] for item in email_list],
        phones=[item["number"] for item in phone_list],
        organization_names=[item["organization"].name for item in affiliation_list],
    )
    contact.save(update_fields=["primary_email", "primary_phone", "search_text"])
    _created(actor=actor, record=contact, tags=tags, kinds=ContactEvent)
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: Any,
    contact: Contact,
    owner: Any = None,
    team: Any = None,
    emails: Iterable[Any] | None = None,
    phones: Iterable[Any] | None = None,
    organizations: Iterable[Any] | None = None,
    tags: Iterable[str | Tag] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> Contact:
    """Change a contact. Only what is given changes; lists (emails, phones, ...) replace the old ones."""
    require_perm(actor, Perm.PARTIES_CHANGE)
    contact = _locked(Contact, contact, actor)
    _check_version(contact, expected_version)
    tracked = (*CONTACT_FIELDS, "custom_fields")
    before = {**snapshot(contact, tracked), **_contact_children_snapshot(contact, actor)}
    before_owner = snapshot(contact, ("owner", "team"))
    before_tags = {tag.name for tag in contact.tags.all()}
    errors: dict[str, list[str]] = {}
    _set_fields(contact, fields, CONTACT_FIELDS, errors)
    _contact_validate(contact, errors)
    email_list = None if emails is None else _emails_clean(emails, errors)
    phone_list = None if phones is None else _phones_clean(phones, contact.country or None, errors)
    affiliation_list = (
        None if organizations is None else _affiliations_clean(organizations, actor, errors)
    )
    _custom_fields(contact, custom_fields, errors)
    _raise_if(errors)
    if owner is not None or team is not None:
        contact.owner, contact.team = ownership_resolve(
            actor=actor,
            owner=owner,
            team=team,
            current_owner=contact.owner,
            current_team=contact.team,
        )
    tag_list = _tags(tags, actor)
    _contact_children_write(contact, actor, email_list, phone_list, affiliation_list)
    _contact_search_text_set(contact)
    _updated(
        actor=actor,
        record=contact,
        before=before,
        after={**snapshot(contact, tracked), **_contact_children_snapshot(contact, actor)},
        before_owner=before_owner,
        before_tags=before_tags,
        tag_list=tag_list,
        kinds=ContactEvent,
    )
    return contact


@transaction.atomic
def contact_delete(*, actor: Any, contact: Contact, expected_version: int | None = None) -> None:
    require_perm(actor, Perm.PARTIES_DELETE)
    contact = _locked(Contact, contact, actor)
    _check_version(contact, expected_version)
    event_record(actor=actor, record=contact, kind=ContactEvent.DELETED)
    contact.delete()


# -- list preferences --------------------------------------------------------------------------


@transaction.atomic
def list_columns_set(*, actor: Any, list_name: str, columns: Iterable[str] | None) -> list[str]:
    """Save which optional columns ``actor`` sees in the list ``list_name`` ("contacts", "organizations").

    ``None`` goes back to the default columns. Unknown columns are refused (ValidationError) and nothing
    is saved. Returns the columns now shown, in display order. Other preferences stay as they were.
    """
    require_perm(actor, Perm.PARTIES_VIEW)
    if list_name not in LIST_COLUMNS:
        raise ValidationError(
            {"list_name": _("There is no list called “%(name)s”.") % {"name": list_name}}
        )
    allowed = LIST_COLUMNS[list_name]
    key = f"{list_name}.columns"
    # Re-read under a lock so that two tabs saving different preferences do not undo each other.
    user = get_user_model().objects.select_for_update().get(pk=actor.pk)
    preferences = dict(user.preferences or {})
    if columns is None:
        preferences.pop(key, None)
        chosen = list(LIST_COLUMNS_DEFAULT[list_name])
    else:
        wanted = {str(column) for column in columns}
        if unknown := sorted(wanted - set(allowed)):
            raise ValidationError(
                {"columns": _("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)}}
            )
        chosen = [column for column in allowed if column in wanted]
        preferences[key] = chosen
    user.preferences = preferences
    user.save(update_fields=["preferences"])
    actor.preferences = preferences
    return chosen


# -- bulk changes ------------------------------------------------------------------------------

# Ids per UPDATE or DELETE statement: one statement for a page of rows, a bounded number for the
# largest change, and far below every database's limit on bound parameters.
_BULK_CHUNK = 1000
_BULK_EVENT_BATCH = 2000


def bulk_max() -> int:
    """The most records one bulk change may touch (setting CLIENTELA_BULK_MAX, 50,000 by default)."""
    return int(settings.CLIENTELA_BULK_MAX)


@dataclass(frozen=True)
class _BulkTarget:
    """What differs between contacts and organizations in a bulk change."""

    model: type[Any]
    kinds: Any
    # The columns the record's label (its ``str``) is made of, and how.
    label_fields: tuple[str, ...]
    label: Callable[[tuple[Any, ...]], str]


_BULK_CONTACTS = _BulkTarget(
    model=Contact,
    kinds=ContactEvent,
    label_fields=("first_name", "last_name"),
    label=lambda values: " ".join(part for part in values if part),
)
_BULK_ORGANIZATIONS = _BulkTarget(
    model=Organization,
    kinds=OrganizationEvent,
    label_fields=("name",),
    label=lambda values: str(values[0]),
)


@dataclass
class _BulkPlan:
    """What a bulk change does to one record (its values before, for the events)."""

    pk: int
    label: str
    owner_id: int | None
    team_id: int | None
    changes_owner: bool
    changes_team: bool
    fields: dict[str, tuple[Any, Any]]
    added: list[str]
    removed: list[int]

    @property
    def is_change(self) -> bool:
        return bool(
            self.changes_owner or self.changes_team or self.fields or self.added or self.removed
        )


def _bulk_tag_names(names: Iterable[str], key: str, errors: dict[str, list[str]]) -> list[str]:
    """Tag names as ``tag_get_or_create`` stores them, once each (in any case)."""
    cleaned: dict[str, str] = {}
    for raw in names:
        name = " ".join(str(raw).split())
        if not name:
            errors.setdefault(key, []).append(_("A tag needs a name."))
        elif len(name) > 60:
            errors.setdefault(key, []).append(_("A tag name has at most 60 characters."))
        else:
            cleaned.setdefault(name.casefold(), name)
    return list(cleaned.values())


def _bulk_tags_existing(names: Sequence[str]) -> dict[str, Tag]:
    """The existing tags among ``names``, keyed by casefolded name; one query."""
    if not names:
        return {}
    condition = Q()
    for name in names:
        condition |= Q(name__iexact=name)
    return {tag.name.casefold(): tag for tag in Tag.objects.filter(condition)}


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), _BULK_CHUNK):
        yield items[start : start + _BULK_CHUNK]


def _bulk_check_assignment(*, actor: Any, owner: Any, team: Any, plans: list[_BulkPlan]) -> None:
    """The rules of ``core.ownership.ownership_resolve``, checked once for the whole change.

    Giving records to someone else needs the assign permission and someone within the actor's
    scope; moving records to a team needs a team the actor may give records to. As for one record,
    a rule is checked only when some record really changes that way.
    """
    from clientela.identity.selectors import assignable_owners_for, assignable_teams_for

    if (
        owner is not None
        and owner.pk != actor.pk
        and any(plan.changes_owner for plan in plans)
        and (
            not has_perm(actor, Perm.PARTIES_ASSIGN)
            or not assignable_owners_for(actor).filter(pk=owner.pk).exists()
        )
    ):
        raise PermissionDenied(
            _("Your role does not allow giving records to %(name)s.") % {"name": owner}
        )
    if (
        team is not None
        and any(plan.changes_team for plan in plans)
        and not assignable_teams_for(actor).filter(pk=team.pk).exists()
    ):
        raise PermissionDenied(
            _("Your role does not allow giving records to the team %(team)s.") % {"team": team}
        )


def _bulk_events(
    *,
    actor: Any,
    target: _BulkTarget,
    plans: list[_BulkPlan],
    owner: Any,
    team: Any,
    tag_names: dict[int, str],
) -> list[Event]:
    """The events one edit of each record would record, with the same kinds and data."""
    from clientela.identity.models import Team

    kinds = target.kinds
    record_type = ContentType.objects.get_for_model(target.model, for_concrete_model=False)
    actor_ref = actor if getattr(actor, "pk", None) else None
    old_owner_ids = {plan.owner_id for plan in plans if plan.changes_owner}
    old_team_ids = {plan.team_id for plan in plans if plan.changes_team} - {None}
    users = get_user_model().objects.in_bulk(old_owner_ids) if old_owner_ids else {}
    teams = Team.objects.in_bulk(old_team_ids) if old_team_ids else {}
    now = timezone.now()
    events: list[Event] = []

    def add(plan: _BulkPlan, kind: str, data: dict[str, Any]) -> None:
        events.append(
            Event(
                occurred_at=now,
                actor=actor_ref,
                record_type=record_type,
                record_id=plan.pk,
                kind=kind,
                data={"label": plan.label, **data},
            )
        )

    for plan in plans:
        if plan.fields:
            diff = {
                name: {"old": json_value(old), "new": json_value(new)}
                for name, (old, new) in plan.fields.items()
            }
            add(plan, kinds.CHANGED, {"changes": diff})
        owner_diff: dict[str, Any] = {}
        if plan.changes_owner:
            owner_diff["owner"] = {
                "old": json_value(users.get(plan.owner_id)),
                "new": json_value(owner),
            }
        if plan.changes_team:
            owner_diff["team"] = {
                "old": json_value(teams.get(plan.team_id)) if plan.team_id else None,
                "new": json_value(team),
            }
        if owner_diff:
            add(plan, kinds.OWNER_CHANGED, {"changes": owner_diff})
        if plan.added:
            add(plan, kinds.TAGGED, {"tags": sorted(plan.added)})
        if plan.removed:
            add(plan, kinds.UNTAGGED, {"tags": sorted(tag_names[pk] for pk in plan.removed)})
    return events


def _bulk_update(
    *,
    actor: Any,
    target: _BulkTarget,
    records: QuerySet[Any],
    owner: Any,
    team: Any,
    fields: dict[str, Any],
    tags_add: Iterable[str],
    tags_remove: Iterable[str],
    dry_run: bool,
) -> int:
    """The bulk change both record types share; see ``contacts_bulk_update``."""
    errors: dict[str, list[str]] = {}
    add_names = _bulk_tag_names(tags_add, "tags_add", errors)
    remove_names = _bulk_tag_names(tags_remove, "tags_remove", errors)
    if both := sorted(
        name for name in add_names if name.casefold() in {n.casefold() for n in remove_names}
    ):
        errors.setdefault("tags_remove", []).append(
            _("A tag cannot be added and removed at once: %(tags)s.") % {"tags": ", ".join(both)}
        )
    _raise_if(errors)
    if owner is None and team is None and not fields and not add_names and not remove_names:
        raise ValidationError(_("Choose what to change."))
    if owner is not None and not owner.is_active:
        raise PermissionDenied(
            _("%(name)s is deactivated and cannot own records.") % {"name": owner}
        )

    existing = _bulk_tags_existing([*add_names, *remove_names])
    # None stands for a tag that does not exist yet: no record has it.
    add_tags = {name: existing.get(name.casefold()) for name in add_names}
    remove_tags = [
        existing[name.casefold()] for name in remove_names if name.casefold() in existing
    ]

    # Never trust the caller's scope: the records are read again through the actor's visibility.
    model = target.model
    scoped = visible_to(model.objects.filter(pk__in=records.values("pk")), actor)
    locked = scoped.order_by("pk")
    if not dry_run:
        locked = locked.select_for_update()
    limit = bulk_max()
    rows = list(
        locked.values_list("pk", *target.label_fields, "owner_id", "team_id", *fields)[: limit + 1]
    )
    if len(rows) > limit:
        raise ValidationError(
            _(
                "One bulk change touches at most %(limit)s records, and these are more. "
                "Narrow them down with the filters."
            )
            % {"limit": number_format(limit, force_grouping=True)}
        )

    through = model.tags.through
    source = f"{model.tags.field.m2m_field_name()}_id"
    tag_ids = [tag.pk for tag in (*add_tags.values(), *remove_tags) if tag is not None]
    links: set[tuple[int, int]] = set()
    if tag_ids and rows:
        links = set(
            through.objects.filter(
                **{f"{source}__in": scoped.values("pk")}, tag_id__in=tag_ids
            ).values_list(source, "tag_id")
        )

    label_size = len(target.label_fields)
    plans: list[_BulkPlan] = []
    for row in rows:
        pk, labels = row[0], row[1 : 1 + label_size]
        owner_id, team_id = row[1 + label_size], row[2 + label_size]
        values = row[3 + label_size :]
        plan = _BulkPlan(
            pk=pk,
            label=target.label(labels),
            owner_id=owner_id,
            team_id=team_id,
            changes_owner=owner is not None and owner_id != owner.pk,
            changes_team=team is not None and team_id != team.pk,
            fields={
                name: (old, new)
                for (name, new), old in zip(fields.items(), values, strict=True)
                if old != new
            },
            added=[
                tag.name if tag is not None else name
                for name, tag in add_tags.items()
                if tag is None or (pk, tag.pk) not in links
            ],
            removed=[tag.pk for tag in remove_tags if (pk, tag.pk) in links],
        )
        if plan.is_change:
            plans.append(plan)
    _bulk_check_assignment(actor=actor, owner=owner, team=team, plans=plans)
    if dry_run or not plans:
        return len(plans)

    # Every changed record gets what its own edit would give it: a new version and update time.
    # Records that need only some of the changes already have the others' values, so one
    # statement sets every value on all of them.
    values_set: dict[str, Any] = {"version": F("version") + 1, "updated_at": timezone.now()}
    values_set.update(fields)
    if owner is not None:
        values_set["owner"] = owner
    if team is not None:
        values_set["team"] = team
    changed_ids = [plan.pk for plan in plans]
    for chunk in _chunks(changed_ids):
        model.objects.filter(pk__in=chunk).update(**values_set)

    if any(plan.added for plan in plans):
        tags_by_name = {
            name.casefold(): tag or tag_get_or_create(name=name, actor=actor)
            for name, tag in add_tags.items()
        }
        through.objects.bulk_create(
            [
                through(**{source: plan.pk, "tag_id": tags_by_name[name.casefold()].pk})
                for plan in plans
                for name in plan.added
            ],
            batch_size=_BULK_CHUNK,
        )
    removing = [plan.pk for plan in plans if plan.removed]
    for chunk in _chunks(removing):
        through.objects.filter(
            **{f"{source}__in": chunk}, tag_id__in=[tag.pk for tag in remove_tags]
        ).delete()

    Event.objects.bulk_create(
        _bulk_events(
            actor=actor,
            target=target,
            plans=plans,
            owner=owner,
            team=team,
            tag_names={tag.pk: tag.name for tag in remove_tags},
        ),
        batch_size=_BULK_EVENT_BATCH,
    )
    return len(plans)


@transaction.atomic
def contacts_bulk_update(
    *,
    actor: Any,
    contacts: QuerySet[Contact],
    owner: Any = None,
    team: Any = None,
    lifecycle_stage: str | None = None,
    tags_add: Iterable[str] = (),
    tags_remove: Iterable[str] = (),
    dry_run: bool = False,
) -> int:
    """Change the owner, team, lifecycle stage or tags of many contacts at once; return how many changed.

    Only the contacts of ``contacts`` that ``actor`` may see are touched, whatever the caller passed.
    A contact that already has every requested value is left alone and not counted. Each changed
    contact gets a new version and the same events as one edit of it (owner changed, changed,
    tagged, untagged), written in a few set-based statements, all in one transaction under row
    locks. Owner and team follow the rules of a single edit (PermissionDenied, nothing written);
    more than ``bulk_max()`` contacts are refused (ValidationError). ``dry_run`` checks everything
    and counts what would change, writing nothing.
    """
    require_perm(actor, Perm.PARTIES_CHANGE)
    fields: dict[str, Any] = {}
    if lifecycle_stage is not None:
        if lifecycle_stage not in LifecycleStage.values:
            raise ValidationError({"lifecycle_stage": _("Choose a lifecycle stage from the list.")})
        fields["lifecycle_stage"] = lifecycle_stage
    return _bulk_update(
        actor=actor,
        target=_BULK_CONTACTS,
        records=contacts,
        owner=owner,
        team=team,
        fields=fields,
        tags_add=tags_add,
        tags_remove=tags_remove,
        dry_run=dry_run,
    )


@transaction.atomic
def organizations_bulk_update(
    *,
    actor: Any,
    organizations: QuerySet[Organization],
    owner: Any = None,
    team: Any = None,
    tags_add: Iterable[str] = (),
    tags_remove: Iterable[str] = (),
    dry_run: bool = False,
) -> int:
    """Change the owner, team or tags of many organizations at once; return how many changed.

    The same promises as ``contacts_bulk_update``.
    """
    require_perm(actor, Perm.PARTIES_CHANGE)
    return _bulk_update(
        actor=actor,
        target=_BULK_ORGANIZATIONS,
        records=organizations,
        owner=owner,
        team=team,
        fields={},
        tags_add=tags_add,
        tags_remove=tags_remove,
        dry_run=dry_run,
    )
