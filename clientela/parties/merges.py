"""Merging duplicate contacts or organizations into one record, and undoing a merge (issue 3).

A merge keeps one record, the survivor, with the value of each field chosen among the records, and
moves everything that belongs to the others to it: every row of any table that points at them (email
addresses, phone numbers, affiliations, the tags' link rows, and whatever later domains add: deals,
activities...), found by walking the model's reverse relations, and their timeline. Rows the survivor
already has in the same form (the same email address, organization or tag: a unique constraint says
so) are not moved twice: the survivor's row stays and the other is deleted, its values kept for undo.
A moved row that would make a second "primary" (a unique constraint under ``is_primary=True``) moves
as not primary. The merged records are then deleted.

Everything needed to undo it is kept in ``Merge.snapshot`` (JSON):

``survivor``
    its field values before and after (attname → value) and its version before;
``records``
    each merged record's row, every concrete field;
``moved``
    groups of rows that moved: model, column, old and new value, and the rows (their ids, and for rows
    under a unique constraint their full values, so that undo can bring back one that was deleted
    meanwhile);
``flags``
    the ``is_primary`` flags that changed (model, id, field, old and new value);
``deleted``
    the full rows deleted because the survivor had the same;
``events``
    the timeline events that moved, by record;
``candidates``
    review queue pairs deleted with the merged records, and pairs re-pointed to the survivor.

``merge_undo`` brings the merged records back with their own ids, moves back exactly the rows that
moved (rows added to the survivor since stay with it), re-creates the deleted ones, and gives the
survivor back the values it had, except those changed again since the merge.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clientela.core.custom_fields import record_type_of
from clientela.core.events import changes, event_record, json_value
from clientela.core.exceptions import ConflictError
from clientela.core.models import Event
from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import custom_field_definitions_for, is_visible_to
from clientela.parties.choices import ImportRecordType
from clientela.parties.events import ContactEvent, OrganizationEvent
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicateCandidate,
    Merge,
    Organization,
)
from clientela.parties.search import (
    contact_search_text,
    contact_search_text_refresh,
    organization_search_text,
)

# More records than this in one merge is a mistake rather than a merge.
MERGE_RECORDS_MAX = 10

CONTACTS = ImportRecordType.CONTACTS.value
ORGANIZATIONS = ImportRecordType.ORGANIZATIONS.value

Party = Contact | Organization


# -- the fields a person chooses -----------------------------------------------------------------


def _concrete(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The model's column named ``name`` (a field name or attname)."""
    return cast("models.Field[Any, Any]", model._meta.get_field(name))


@dataclass(frozen=True)
class MergeField:
    """One choice on the merge page: which record's value the survivor keeps.

    ``attrs`` are the model attributes copied together (the owner comes with its team; the website
    with its domain; the revenue with its currency); ``custom_key`` names a custom field instead.
    """

    key: str
    label: str
    attrs: tuple[str, ...] = ()
    custom_key: str = ""

    def value(self, record: Party) -> Any:
        """The value compared and shown: the first attribute's (ids for relations)."""
        if self.custom_key:
            return (record.custom_fields or {}).get(self.custom_key)
        return getattr(record, _concrete(type(record), self.attrs[0]).attname)

    def is_empty(self, record: Party) -> bool:
        return self.value(record) in (None, "", [], {})


_CONTACT_FIELDS = (
    ("first_name",),
    ("last_name",),
    ("job_title",),
    ("lifecycle_stage",),
    ("source",),
    ("preferred_language",),
    ("primary_email",),
    ("primary_phone",),
    ("street",),
    ("city",),
    ("region",),
    ("postal_code",),
    ("country",),
    ("owner", "team", "is_shared_with_team"),
)
_ORGANIZATION_FIELDS = (
    ("name",),
    ("website", "domain"),
    ("industry",),
    ("size_band",),
    ("phone",),
    ("annual_revenue", "currency"),
    ("description",),
    ("street",),
    ("city",),
    ("region",),
    ("postal_code",),
    ("country",),
    ("owner", "team", "is_shared_with_team"),
)
_LABELS = {
    "primary_email": gettext_lazy("Primary email address"),
    "primary_phone": gettext_lazy("Primary phone number"),
    "owner": gettext_lazy("Owner and team"),
}


def merge_fields(model: type[Party]) -> list[MergeField]:
    """The choices a merge of ``model`` records offers, in page order; custom fields last."""
    groups = _CONTACT_FIELDS if model is Contact else _ORGANIZATION_FIELDS
    result = [
        MergeField(
            key=attrs[0],
            label=str(_LABELS.get(attrs[0]) or capfirst(_concrete(model, attrs[0]).verbose_name)),
            attrs=attrs,
        )
        for attrs in groups
    ]
    for definition in custom_field_definitions_for(record_type_of(model)):
        result.append(
            MergeField(
                key=f"custom_fields.{definition.key}",
                label=definition.label,
                custom_key=definition.key,
            )
        )
    return result


def merge_default_choices(survivor: Party, records: Sequence[Party]) -> dict[str, int]:
    """For each field, the record whose value the survivor keeps unless told otherwise: the survivor's
    own when it has one, else the first record (in ``records`` order) that has one."""
    ordered = [survivor, *[record for record in records if record.pk != survivor.pk]]
    choices = {}
    for merge_field in merge_fields(type(survivor)):
        chosen = next((record for record in ordered if not merge_field.is_empty(record)), survivor)
        choices[merge_field.key] = chosen.pk
    return choices


def merge_default_survivor(records: Sequence[Party]) -> Party:
    """The record a merge keeps by default: the most complete one (filled fields and related rows,
    as counted by ``merge_related_counts``), the oldest among equals."""
    counts = merge_related_counts(records)
    fields = merge_fields(type(records[0]))

    def completeness(record: Party) -> tuple[int, Any, int]:
        filled = sum(not merge_field.is_empty(record) for merge_field in fields)
        related = sum(counts.get(record.pk, {}).values())
        return (-(filled + related), record.created_at, record.pk)

    return min(records, key=completeness)


# -- rows as JSON, and back ----------------------------------------------------------------------


def _json(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        # Full precision (DjangoJSONEncoder would drop the microseconds).
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _row_data(row: models.Model) -> dict[str, Any]:
    """Every concrete column of ``row``, JSON-safe: enough to insert it again as it was."""
    return {
        "model": row._meta.label_lower,
        "pk": _json(row.pk),
        "fields": {
            model_field.attname: _json(model_field.value_from_object(row))
            for model_field in row._meta.concrete_fields
        },
    }


def _row_instance(data: Mapping[str, Any]) -> models.Model:
    model = apps.get_model(data["model"])
    values = {
        model_field.attname: model_field.to_python(data["fields"][model_field.attname])
        for model_field in model._meta.concrete_fields
        if model_field.attname in data["fields"]
    }
    return model(**values)


def _fields_json(record: models.Model, attnames: Iterable[str]) -> dict[str, Any]:
    return {name: _json(getattr(record, name)) for name in attnames}


class _Targets:
    """Whether the rows that foreign keys point at still exist (cached: undo asks again and again)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, Any], bool] = {}

    def exists(self, model_field: models.ForeignKey, value: Any) -> bool:
        key = (model_field.related_model._meta.label_lower, value)
        if key not in self._known:
            target = model_field.target_field.attname
            self._known[key] = model_field.related_model._base_manager.filter(
                **{target: value}
            ).exists()
        return self._known[key]

    def fix(self, row: models.Model) -> bool:
        """Clear nullable foreign keys whose target is gone; False when a required one is gone."""
        for model_field in row._meta.concrete_fields:
            if not isinstance(model_field, models.ForeignKey):
                continue
            value = getattr(row, model_field.attname)
            if value is None or self.exists(model_field, value):
                continue
            if not model_field.null:
                return False
            setattr(row, model_field.attname, None)
        return True


# -- unique constraints --------------------------------------------------------------------------


def _mentions(constraint: models.UniqueConstraint, model_field: models.Field) -> bool:
    names = {model_field.name, model_field.attname}
    if names & set(constraint.fields):
        return True
    for expression in constraint.expressions:
        parts = [expression, *getattr(expression, "flatten", lambda: [])()]
        if any(isinstance(part, F) and getattr(part, "name", None) in names for part in parts):
            return True
    return False


def _unique_rules(model: type[models.Model], model_field: models.Field | None) -> list[Any]:
    """The unique constraints of ``model`` that involve ``model_field`` (all of them for None)."""
    rules: list[Any] = []
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and (
            model_field is None or _mentions(constraint, model_field)
        ):
            rules.append(constraint)
    for names in model._meta.unique_together:
        if model_field is None or model_field.name in names:
            rules.append(tuple(names))
    if model_field is not None and model_field.unique and not model_field.primary_key:
        rules.append((model_field.name,))
    return rules


def _violated(model: type[models.Model], row: models.Model, rules: list[Any]) -> list[Any]:
    """The rules ``row`` (not saved yet) would break against the rows in the database now."""
    using = router.db_for_write(model)
    broken = []
    for rule in rules:
        if isinstance(rule, models.UniqueConstraint):
            try:
                rule.validate(model, row, using=using)
            except ValidationError:
                broken.append(rule)
            continue
        lookup = {}
        for name in rule:
            attname = _concrete(model, name).attname
            lookup[attname] = getattr(row, attname)
        if None in lookup.values():
            continue
        if model._base_manager.filter(**lookup).exclude(pk=row.pk).exists():
            broken.append(rule)
    return broken


def _flag_of(model: type[models.Model], rule: Any) -> str | None:
    """The boolean field of a constraint that is unique only among rows where it is true
    (``UniqueConstraint(fields=["contact"], condition=Q(is_primary=True))``), else None."""
    if not isinstance(rule, models.UniqueConstraint) or rule.condition is None:
        return None
    condition = rule.condition
    if condition.negated or len(condition.children) != 1:
        return None
    child = condition.children[0]
    if not isinstance(child, tuple) or child[1] is not True or "__" in child[0]:
        return None
    if not isinstance(model._meta.get_field(child[0]), models.BooleanField):
        return None
    return str(child[0])


# -- the walk over related rows ------------------------------------------------------------------


def _reverse_foreign_keys(model: type[models.Model]) -> list[models.ForeignKey]:
    """Every foreign key pointing at ``model`` (hidden ones too: the tags' link rows), except the
    review queue's, which merges handle themselves."""
    found = []
    for relation in model._meta.get_fields(include_hidden=True):
        if not relation.auto_created or relation.concrete or relation.many_to_many:
            continue
        model_field = getattr(relation, "field", None)
        if not isinstance(model_field, models.ForeignKey):
            continue
        if relation.related_model is DuplicateCandidate or model_field.remote_field.parent_link:
            continue
        found.append(model_field)
    return found


def _generic_references(model: type[models.Model]) -> list[tuple[type[models.Model], str, str]]:
    """(model, content type column, id column) of every table that points at records by content type
    and id: the event log, and any GenericForeignKey a later domain declares."""
    references: list[tuple[type[models.Model], str, str]] = [(Event, "record_type_id", "record_id")]
    for other in apps.get_models():
        for private in other._meta.private_fields:
            if isinstance(private, GenericForeignKey):
                references.append(
                    (
                        other,
                        _concrete(other, private.ct_field).attname,
                        _concrete(other, private.fk_field).attname,
                    )
                )
    return references


@dataclass
class _Snapshot:
    """What a merge changed, gathered while it runs; ``as_json`` is what ``Merge.snapshot`` keeps."""

    survivor: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    candidates: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"deleted": [], "moved": []}
    )

    def flag(self, row: models.Model, name: str, new: bool) -> None:
        key = f"{row._meta.label_lower}:{row.pk}:{name}"
        entry = self.flags.setdefault(
            key,
            {
                "model": row._meta.label_lower,
                "pk": row.pk,
                "field": name,
                "old": getattr(row, name),
            },
        )
        entry["new"] = new

    def as_json(self) -> dict[str, Any]:
        return {
            "survivor": self.survivor,
            "records": self.records,
            "moved": self.moved,
            "flags": [entry for entry in self.flags.values() if entry["old"] != entry["new"]],
            "deleted": self.deleted,
            "events": self.events,
            "candidates": self.candidates,
        }


def _move_rows(
    model_field: models.ForeignKey, survivor: Party, merged: Sequence[Party], snapshot: _Snapshot
) -> None:
    """Point every row of ``model_field``'s table that belongs to a merged record at the survivor."""
    model = model_field.model
    attname, target = model_field.attname, model_field.target_field.attname
    new = getattr(survivor, target)
    olds = [getattr(record, target) for record in merged]
    rows = model._base_manager.filter(**{f"{attname}__in": olds}).order_by("pk")
    if model is type(survivor):
        # A record pointing at another one (a later "referred by"): the merged ones go anyway.
        rows = rows.exclude(pk__in=[record.pk for record in merged])
    rules = _unique_rules(model, model_field)
    if not rules:
        # Nothing can clash: one UPDATE per merged record, whatever the number of rows.
        by_old: dict[Any, list[Any]] = defaultdict(list)
        for pk, old in rows.values_list("pk", attname):
            by_old[old].append(pk)
        for old, pks in by_old.items():
            model._base_manager.filter(pk__in=pks).update(**{attname: new})
            snapshot.moved.append(
                {
                    "model": model._meta.label_lower,
                    "field": attname,
                    "old": old,
                    "new": new,
                    "pks": pks,
                }
            )
        return
    moved: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        data = _row_data(row)
        old = getattr(row, attname)
        setattr(row, attname, new)
        broken = _violated(model, row, rules)
        flags = [_flag_of(model, rule) for rule in broken]
        changed: dict[str, Any] = {attname: new}
        if broken and all(flags):
            # Moves as not primary: the survivor has its own primary already.
            for name in {flag for flag in flags if flag}:
                snapshot.flag(row, name, False)
                setattr(row, name, False)
                changed[name] = False
            broken = _violated(model, row, rules)
        if broken:
            # The survivor has this one already (the same address, organization or tag): keep its
            # row, and this one's values for undo.
            snapshot.deleted.append(data)
            model._base_manager.filter(pk=row.pk).delete()
            continue
        model._base_manager.filter(pk=row.pk).update(**changed)
        moved[old].append(data)
    for old, datas in moved.items():
        snapshot.moved.append(
            {
                "model": model._meta.label_lower,
                "field": attname,
                "old": old,
                "new": new,
                "pks": [data["pk"] for data in datas],
                "rows": datas,
            }
        )


def _move_references(
    model: type[models.Model],
    type_column: str,
    id_column: str,
    survivor: Party,
    merged: Sequence[Party],
    snapshot: _Snapshot,
) -> None:
    """Re-point rows that name records by content type and id (the timeline) at the survivor."""
    content_type = ContentType.objects.get_for_model(type(survivor), for_concrete_model=False)
    rows = model._base_manager.filter(
        **{type_column: content_type.pk, f"{id_column}__in": [record.pk for record in merged]}
    )
    by_old: dict[Any, list[Any]] = defaultdict(list)
    for pk, old in rows.values_list("pk", id_column):
        by_old[old].append(pk)
    for old, pks in by_old.items():
        model._base_manager.filter(pk__in=pks).update(**{id_column: survivor.pk})
        snapshot.events.append(
            {
                "model": model._meta.label_lower,
                "type_field": type_column,
                "field": id_column,
                "old": old,
                "new": survivor.pk,
                "pks": pks,
            }
        )


def _pair_columns(record_type: str) -> tuple[str, str]:
    if record_type == CONTACTS:
        return "first_contact_id", "second_contact_id"
    return "first_organization_id", "second_organization_id"


def _move_candidates(
    record_type: str, survivor: Party, merged: Sequence[Party], snapshot: _Snapshot
) -> None:
    """Pairs among the merged records go (with them); a merged record's pairs with other records
    become the survivor's, unless the survivor has that pair already."""
    first, second = _pair_columns(record_type)
    merged_ids = {record.pk for record in merged}
    members = merged_ids | {survivor.pk}
    rows = list(
        DuplicateCandidate.objects.filter(record_type=record_type)
        .filter(Q(**{f"{first}__in": members}) | Q(**{f"{second}__in": members}))
        .order_by("pk")
    )
    pairs = {(getattr(row, first), getattr(row, second)) for row in rows}
    for row in rows:
        left, right = getattr(row, first), getattr(row, second)
        if left not in merged_ids and right not in merged_ids:
            continue
        other = right if left in merged_ids else left
        pair = (min(survivor.pk, other), max(survivor.pk, other))
        if other in members or pair in pairs:
            snapshot.candidates["deleted"].append(_row_data(row))
            row.delete()
            continue
        DuplicateCandidate.objects.filter(pk=row.pk).update(**{first: pair[0], second: pair[1]})
        pairs.add(pair)
        snapshot.candidates["moved"].append({"pk": row.pk, "old": [left, right], "new": list(pair)})


# -- merging -------------------------------------------------------------------------------------


def _kinds(model: type[Party]) -> Any:
    return ContactEvent if model is Contact else OrganizationEvent


def _record_type(model: type[Party]) -> str:
    return CONTACTS if model is Contact else ORGANIZATIONS


def _tracked(model: type[Party]) -> list[str]:
    """The survivor's columns a merge may change and undo gives back (derived ones included)."""
    skipped = {"id", "version", "created_at", "updated_at", "search_text"}
    return [
        model_field.attname
        for model_field in model._meta.concrete_fields
        if model_field.attname not in skipped
    ]


def _event_fields(model: type[Party]) -> list[str]:
    """What the merge events show as changes on the timeline (as the record services do)."""
    groups = _CONTACT_FIELDS if model is Contact else _ORGANIZATION_FIELDS
    return [*(name for attrs in groups for name in attrs), "custom_fields"]


def _event_values(record: Party) -> dict[str, Any]:
    return {name: json_value(getattr(record, name)) for name in _event_fields(type(record))}


def _locked(model: type[Party], ids: Sequence[int], actor: Any) -> dict[int, Party]:
    """The records under row locks (taken in id order, so two merges cannot deadlock), each visible
    to ``actor``; else DoesNotExist (404)."""
    records = {
        record.pk: record
        for record in model._base_manager.select_for_update(of=("self",))
        .select_related("owner", "team")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    if len(records) != len(set(ids)) or not all(
        is_visible_to(record, actor) for record in records.values()
    ):
        raise model.DoesNotExist
    return records


def _choices_clean(
    model: type[Party], survivor: Party, records: Sequence[Party], values: Mapping[str, Any] | None
) -> dict[str, int]:
    choices = merge_default_choices(survivor, records)
    ids = {record.pk for record in records}
    errors: dict[str, list[str]] = {}
    for key, chosen in (values or {}).items():
        if key not in choices:
            errors.setdefault("values", []).append(
                _("There is no field “%(field)s” to choose.") % {"field": key}
            )
            continue
        try:
            chosen_id = int(chosen)
        except (TypeError, ValueError):
            chosen_id = 0
        if chosen_id not in ids:
            errors.setdefault("values", []).append(
                _("Choose the value of “%(field)s” from one of the records being merged.")
                % {"field": key}
            )
            continue
        choices[key] = chosen_id
    if errors:
        raise ValidationError(errors)
    return choices


def _ids_clean(survivor: Party, others: Sequence[Party]) -> list[int]:
    ids = [record.pk for record in others]
    if not ids:
        raise ValidationError(
            {"merged": [_("Choose at least one record to merge into the survivor.")]}
        )
    if survivor.pk in ids:
        raise ValidationError({"merged": [_("A record cannot be merged into itself.")]})
    if len(set(ids)) != len(ids):
        raise ValidationError({"merged": [_("Each record can be merged only once.")]})
    if len(ids) + 1 > MERGE_RECORDS_MAX:
        raise ValidationError(
            {
                "merged": [
                    _("Merge at most %(count)s records at once.") % {"count": MERGE_RECORDS_MAX}
                ]
            }
        )
    if any(type(record) is not type(survivor) for record in others):
        raise ValidationError({"merged": [_("Only records of the same kind can be merged.")]})
    return ids


def _apply_choices(
    survivor: Party, records: Mapping[int, Party], choices: Mapping[str, int]
) -> dict[str, int]:
    """Give the survivor the chosen values (not saved); returns the choices taken from others."""
    taken = {}
    custom = dict(survivor.custom_fields or {})
    for merge_field in merge_fields(type(survivor)):
        chosen = records[choices[merge_field.key]]
        if chosen.pk == survivor.pk:
            continue
        taken[merge_field.key] = chosen.pk
        if merge_field.custom_key:
            value = (chosen.custom_fields or {}).get(merge_field.custom_key)
            if value in (None, "", []):
                custom.pop(merge_field.custom_key, None)
            else:
                custom[merge_field.custom_key] = value
            continue
        for name in merge_field.attrs:
            attname = _concrete(type(survivor), name).attname
            setattr(survivor, attname, getattr(chosen, attname))
    survivor.custom_fields = custom
    return taken


def _primary_set(
    snapshot: _Snapshot, rows: Sequence[Any], column: str, wanted: str, fold: bool
) -> str:
    """Make the row whose ``column`` is ``wanted`` the primary one (else keep the current primary,
    else the first row); returns the primary value ("" without rows)."""
    if not rows:
        return ""

    def same(value: str) -> bool:
        return value.lower() == wanted.lower() if fold else value == wanted

    chosen = next((row for row in rows if wanted and same(getattr(row, column))), None)
    chosen = chosen or next((row for row in rows if row.is_primary), rows[0])
    # Unset first, then set: the database allows one primary at any moment.
    for row in rows:
        if row.is_primary and row is not chosen:
            snapshot.flag(row, "is_primary", False)
            type(row)._base_manager.filter(pk=row.pk).update(is_primary=False)
    if not chosen.is_primary:
        snapshot.flag(chosen, "is_primary", True)
        type(chosen)._base_manager.filter(pk=chosen.pk).update(is_primary=True)
    return str(getattr(chosen, column))


def _contact_derived(contact: Contact, snapshot: _Snapshot | None) -> None:
    """The copies of the primary email and phone, and the search text, from the contact's rows."""
    emails = list(ContactEmail.objects.filter(contact=contact).order_by("-is_primary", "pk"))
    phones = list(ContactPhone.objects.filter(contact=contact).order_by("-is_primary", "pk"))
    if snapshot is not None:
        contact.primary_email = _primary_set(
            snapshot, emails, "email", contact.primary_email, fold=True
        )
        contact.primary_phone = _primary_set(
            snapshot, phones, "number", contact.primary_phone, fold=False
        )
    else:
        contact.primary_email = next((row.email for row in emails if row.is_primary), "")
        contact.primary_phone = next((row.number for row in phones if row.is_primary), "")
    contact.search_text = contact_search_text(
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=[row.email for row in emails],
        phones=[row.number for row in phones],
        organization_names=Affiliation.objects.filter(contact=contact).values_list(
            "organization__name", flat=True
        ),
    )


def _organization_derived(organization: Organization) -> None:
    organization.search_text = organization_search_text(
        name=organization.name, domain=organization.domain, phone=organization.phone
    )


def _people_refresh(organization_ids: Iterable[int]) -> None:
    """Contacts are found by their organizations' names: refresh those of these organizations."""
    contact_search_text_refresh(
        Affiliation.objects.filter(organization_id__in=list(organization_ids))
        .values_list("contact_id", flat=True)
        .distinct()
    )


def _merge(
    *,
    model: type[Party],
    actor: Any,
    survivor: Party,
    others: Sequence[Party],
    values: Mapping[str, Any] | None,
    expected_versions: Mapping[int, int] | None,
) -> Merge:
    require_perm(actor, Perm.PARTIES_MERGE)
    if type(survivor) is not model:
        raise ValidationError({"survivor": [_("Only records of the same kind can be merged.")]})
    merged_ids = _ids_clean(survivor, others)
    records = _locked(model, [survivor.pk, *merged_ids], actor)
    for pk, version in (expected_versions or {}).items():
        if int(pk) not in records:
            raise ValidationError(
                {"expected_versions": [_("Give versions only of the records being merged.")]}
            )
        if records[int(pk)].version != int(version):
            raise ConflictError(current_version=records[int(pk)].version)
    survivor = records[survivor.pk]
    merged = [records[pk] for pk in merged_ids]
    choices = _choices_clean(model, survivor, [survivor, *merged], values)

    snapshot = _Snapshot()
    tracked = _tracked(model)
    before = _fields_json(survivor, tracked)
    before_event = _event_values(survivor)
    snapshot.records = [_row_data(record) for record in merged]
    taken = _apply_choices(survivor, records, choices)
    for foreign_key in _reverse_foreign_keys(model):
        _move_rows(foreign_key, survivor, merged, snapshot)
    for reference in _generic_references(model):
        _move_references(*reference, survivor, merged, snapshot)
    _move_candidates(_record_type(model), survivor, merged, snapshot)
    model._base_manager.filter(pk__in=merged_ids).delete()

    if isinstance(survivor, Contact):
        _contact_derived(survivor, snapshot)
    else:
        _organization_derived(survivor)
    version_before = survivor.version
    survivor.version += 1
    survivor.updated_at = timezone.now()
    survivor.save()
    if isinstance(survivor, Organization):
        _people_refresh([survivor.pk])
    snapshot.survivor = {
        "version": version_before,
        "before": before,
        "after": _fields_json(survivor, tracked),
    }
    merge = Merge.objects.create(
        record_type=_record_type(model),
        survivor_id=survivor.pk,
        merged_ids=merged_ids,
        snapshot=snapshot.as_json(),
        actor=actor if getattr(actor, "pk", None) else None,
    )
    event_record(
        actor=actor,
        record=survivor,
        kind=_kinds(model).MERGED,
        data={
            "merge": merge.pk,
            "merged": [{"id": record.pk, "label": str(record)} for record in merged],
            "values": taken,
            "changes": changes(before_event, _event_values(survivor)),
        },
    )
    return merge


@transaction.atomic
def contacts_merge(
    *,
    actor: Any,
    survivor: Contact,
    others: list[Contact],
    values: dict[str, Any] | None = None,
    expected_versions: dict[int, int] | None = None,
) -> Merge:
    """Merge ``others`` into ``survivor``: one contact remains, with every email, phone, affiliation,
    tag, timeline event and any other related row of them all.

    ``values`` maps a field key (``merge_fields``: "first_name", "primary_email", "owner",
    "custom_fields.<key>"...) to the id of the record whose value the survivor keeps; fields left out
    keep the survivor's value, or the first non-empty one. ``expected_versions`` ({id: version})
    raises ConflictError when a record changed meanwhile. Needs the merge permission and every record
    visible (else DoesNotExist: 404). Records MERGED on the survivor; ``merge_undo`` reverts it all.
    """
    return _merge(
        model=Contact,
        actor=actor,
        survivor=survivor,
        others=others,
        values=values,
        expected_versions=expected_versions,
    )


@transaction.atomic
def organizations_merge(
    *,
    actor: Any,
    survivor: Organization,
    others: list[Organization],
    values: dict[str, Any] | None = None,
    expected_versions: dict[int, int] | None = None,
) -> Merge:
    """Merge ``others`` into ``survivor``, as ``contacts_merge`` does for contacts: its people
    (affiliations), tags, timeline and any other related row move to the survivor."""
    return _merge(
        model=Organization,
        actor=actor,
        survivor=survivor,
        others=others,
        values=values,
        expected_versions=expected_versions,
    )


# -- undoing -------------------------------------------------------------------------------------


def _insert(rows: Iterable[models.Model]) -> None:
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for row in rows:
        by_model[type(row)].append(row)
    for model, items in by_model.items():
        model._base_manager.bulk_create(items)


def _restorable(row: models.Model, targets: _Targets) -> bool:
    """Whether ``row`` can go back in: its id free, what it points at still there, no clash."""
    model = type(row)
    if model._base_manager.filter(pk=row.pk).exists() or not targets.fix(row):
        return False
    row._state.adding = False  # validate() must not count the row itself
    clash = _violated(model, row, _unique_rules(model, None))
    row._state.adding = True
    return not clash


def _undo_moves(snapshot: Mapping[str, Any], targets: _Targets) -> list[models.Model]:
    """Move rows back; returns the ones deleted meanwhile that must be inserted again."""
    missing: list[models.Model] = []
    for group in snapshot["moved"]:
        model = apps.get_model(group["model"])
        name, old, new = group["field"], group["old"], group["new"]
        model._base_manager.filter(pk__in=group["pks"], **{name: new}).update(**{name: old})
        if "rows" not in group:
            continue
        present = set(model._base_manager.filter(pk__in=group["pks"]).values_list("pk", flat=True))
        missing.extend(_row_instance(data) for data in group["rows"] if data["pk"] not in present)
    return missing


def _undo_flags(snapshot: Mapping[str, Any]) -> None:
    # Those going back to false first: one primary at any moment.
    for entry in sorted(snapshot["flags"], key=lambda entry: bool(entry["old"])):
        model = apps.get_model(entry["model"])
        model._base_manager.filter(pk=entry["pk"], **{entry["field"]: entry["new"]}).update(
            **{entry["field"]: entry["old"]}
        )


def _undo_references(snapshot: Mapping[str, Any]) -> None:
    for group in snapshot["events"]:
        model = apps.get_model(group["model"])
        model._base_manager.filter(pk__in=group["pks"], **{group["field"]: group["new"]}).update(
            **{group["field"]: group["old"]}
        )


def _undo_candidates(record_type: str, snapshot: Mapping[str, Any], targets: _Targets) -> None:
    first, second = _pair_columns(record_type)
    for entry in snapshot["candidates"]["moved"]:
        old, new = entry["old"], entry["new"]
        DuplicateCandidate.objects.filter(pk=entry["pk"], **{first: new[0], second: new[1]}).update(
            **{first: old[0], second: old[1]}
        )
    rows = [_row_instance(data) for data in snapshot["candidates"]["deleted"]]
    _insert(row for row in rows if _restorable(row, targets))


def _survivor_restore(survivor: Party, snapshot: Mapping[str, Any], targets: _Targets) -> None:
    """The survivor's values from before the merge, for each field not changed again since."""
    saved = snapshot["survivor"]
    now = _fields_json(survivor, saved["before"])
    for attname, value in saved["before"].items():
        if now[attname] != saved["after"].get(attname):
            continue
        model_field = next(
            item for item in survivor._meta.concrete_fields if item.attname == attname
        )
        restored = model_field.to_python(value)
        if (
            isinstance(model_field, models.ForeignKey)
            and restored is not None
            and not targets.exists(model_field, restored)
        ):
            continue
        setattr(survivor, attname, restored)


@transaction.atomic
def merge_undo(*, actor: Any, merge: Merge) -> Merge:
    """Undo a merge: the merged records come back with their own ids and values, the rows that moved
    go back to them (those added to the survivor since stay), rows deleted because the survivor had
    the same come back, and the survivor gets back its values from before the merge (except those
    changed again since) with a new version. Records MERGE_UNDONE on the survivor.

    Needs the merge permission and the survivor visible (else DoesNotExist: 404). Refused with a
    ValidationError when the merge was undone already or the survivor is gone.
    """
    require_perm(actor, Perm.PARTIES_MERGE)
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    model: type[Party] = Contact if merge.record_type == CONTACTS else Organization
    survivor = (
        model._base_manager.select_for_update(of=("self",))
        .select_related("owner", "team")
        .filter(pk=merge.survivor_id)
        .first()
    )
    if survivor is not None and not is_visible_to(survivor, actor):
        raise Merge.DoesNotExist
    if merge.undone_at is not None:
        raise ValidationError(_("This merge was undone already."), code="undone")
    if survivor is None:
        raise ValidationError(
            _("The record these were merged into no longer exists: the merge cannot be undone."),
            code="survivor_gone",
        )
    if model._base_manager.filter(pk__in=merge.merged_ids).exists():
        raise ValidationError(
            _("The merged records exist again: the merge cannot be undone."), code="exists"
        )
    snapshot = merge.snapshot
    targets = _Targets()
    records = [_row_instance(data) for data in snapshot["records"]]
    for record in records:
        if not targets.fix(record):
            raise ValidationError(
                _("The owner of a merged record no longer exists: the merge cannot be undone."),
                code="owner_gone",
            )
    if not all(is_visible_to(record, actor) for record in records):
        raise Merge.DoesNotExist
    before_event = _event_values(survivor)
    _insert(records)
    missing = _undo_moves(snapshot, targets)
    _undo_flags(snapshot)
    _insert(row for row in missing if _restorable(row, targets))
    deleted = [_row_instance(data) for data in snapshot["deleted"]]
    _insert(row for row in deleted if _restorable(row, targets))
    _undo_references(snapshot)
    _undo_candidates(merge.record_type, snapshot, targets)

    _survivor_restore(survivor, snapshot, targets)
    if isinstance(survivor, Contact):
        _contact_derived(survivor, None)
        # The restored contacts' copies and search text as their rows are now.
        contacts = [record for record in records if isinstance(record, Contact)]
        for contact in contacts:
            _contact_derived(contact, None)
        Contact.objects.bulk_update(contacts, ["primary_email", "primary_phone", "search_text"])
    else:
        _organization_derived(survivor)
    survivor.version += 1
    survivor.updated_at = timezone.now()
    survivor.save()
    if isinstance(survivor, Organization):
        _people_refresh([survivor.pk, *merge.merged_ids])
    merge.undone_at = timezone.now()
    merge.undone_by = actor if getattr(actor, "pk", None) else None
    merge.save(update_fields=["undone_at", "undone_by"])
    event_record(
        actor=actor,
        record=survivor,
        kind=_kinds(model).MERGE_UNDONE,
        data={
            "merge": merge.pk,
            "restored": [{"id": record.pk, "label": str(record)} for record in records],
            "changes": changes(before_event, _event_values(survivor)),
        },
    )
    return merge


# -- reads for the merge page and the API --------------------------------------------------------


def merge_get(actor: Any, pk: Any) -> Merge:
    """One merge whose survivor ``actor`` may see (undone or not), else Merge.DoesNotExist."""
    merge = Merge.objects.filter(pk=pk).select_related("actor", "undone_by").first()
    if merge is None:
        raise Merge.DoesNotExist
    model: type[Party] = Contact if merge.record_type == CONTACTS else Organization
    survivor = model._base_manager.filter(pk=merge.survivor_id).first()
    if survivor is None or not is_visible_to(survivor, actor):
        raise Merge.DoesNotExist
    return merge


def merge_labels(merge: Merge) -> list[str]:
    """The merged records' names, as they were when merged."""
    return [str(_row_instance(data)) for data in merge.snapshot.get("records", [])]


def merge_related_counts(records: Sequence[Party]) -> dict[int, dict[str, int]]:
    """For each record, how many related rows a merge would move, by kind: "emails", "phones",
    "organizations" (contacts) or "people" (organizations), "tags", "events", and "other" for rows of
    later domains. One query per kind of row."""
    if not records:
        return {}
    model = type(records[0])
    ids = [record.pk for record in records]
    counts: dict[int, dict[str, int]] = {pk: defaultdict(int) for pk in ids}
    names = {
        ContactEmail: "emails",
        ContactPhone: "phones",
        Affiliation: "organizations" if model is Contact else "people",
    }
    for foreign_key in _reverse_foreign_keys(model):
        related = foreign_key.model
        name = names.get(related)
        if name is None:
            name = "tags" if related._meta.auto_created else "other"
        rows = (
            related._base_manager.filter(**{f"{foreign_key.attname}__in": ids})
            .values(foreign_key.attname)
            .annotate(count=Count("pk"))
            .order_by()
        )
        for row in rows:
            counts[row[foreign_key.attname]][name] += row["count"]
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    for row in (
        Event.objects.filter(record_type=content_type, record_id__in=ids)
        .values("record_id")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        counts[row["record_id"]]["events"] += row["count"]
    return {pk: dict(items) for pk, items in counts.items()}
