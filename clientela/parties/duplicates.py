"""Likely duplicates among contacts and organizations: detection and the review queue (issue 3).

Detection finds pairs of records that look like the same person or company and keeps the review queue
(``DuplicateCandidate``) current. Each rule gives a pair a score and a reason:

contacts
    ``email`` 95: an email address in common (any of their addresses, case-insensitive);
    ``phone`` 85: a phone number in common (E.164);
    ``name_organization`` 75 to 90: similar names at the same organization;
    ``name_city`` 60 to 75: similar names in the same city and country.
organizations
    ``domain`` 95: the same website domain;
    ``name`` 90: the same name once normalized (case, accents, punctuation, legal form such as "Inc");
    ``name_city`` 70: similar names in the same city and country.

Names are similar when they are the same once normalized (``core.search.search_normalize``), differ by
a typo or two (edit distance 1 for names of 6 to 10 characters, 2 for longer ones; the score drops by 5
per edit), or when one first name is the initial or the start of the other with the same last name
("A. Ruiz", "Chris Lee" and "Christopher Lee"). A pair found by several rules scores its best rule plus
5 for each other rule, at most 100.

Detection is set-based, so that it stays fast at a million contacts: the database groups the records
by an indexed key (an email, a number, an organization and initial, a last name and city) and returns
only the groups of two or more; names are compared in Python only inside those small groups. Bigger
groups are not evidence of anything (a shared mailbox, a switchboard number, the Hansens of
Copenhagen) and are left out. Organization names are grouped in Python (one pass over the
organizations' names): there are far fewer organizations than contacts.

Pairs already dismissed stay dismissed; an open pair whose records no longer look alike leaves the
queue when detection runs again over either record.
"""

# ruff: noqa: S608 -- the SQL is built from model table names and constant expressions only;
# every value is a query parameter.
from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clientela.core.permissions import Perm, require_perm
from clientela.core.search import search_normalize
from clientela.core.selectors import is_visible_to, scope_filter
from clientela.parties.choices import DuplicateStatus, ImportRecordType
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicateCandidate,
    Organization,
)

CONTACTS = ImportRecordType.CONTACTS.value
ORGANIZATIONS = ImportRecordType.ORGANIZATIONS.value
RECORD_TYPES = (CONTACTS, ORGANIZATIONS)

# Scores of the rules (0 to 100).
EMAIL_SCORE = 95
PHONE_SCORE = 85
DOMAIN_SCORE = 95
ORGANIZATION_NAME_SCORE = 90
ORGANIZATION_NAME_CITY_SCORE = 70
# By how alike two names are: the same, one or two typos apart, an initial.
NAME_ORGANIZATION_SCORES = {"same": 90, "close1": 85, "close2": 80, "initial": 75}
NAME_CITY_SCORES = {"same": 75, "close1": 70, "close2": 65, "initial": 60}
# Added to the best rule's score for each other rule that also found the pair.
OTHER_REASON_BONUS = 5

# More records than this sharing one email, number or domain are a shared mailbox or switchboard,
# not duplicates; more than NAME_GROUP_MAX in one name group are left out (too common to tell).
KEY_GROUP_MAX = 20
NAME_GROUP_MAX = 100
# detect_for with more ids than this scans everything once (cheaper than many small lookups).
FULL_SCAN_IDS = 5000
_CHUNK = 2000

REASON_LABELS = {
    "email": gettext_lazy("Same email address"),
    "phone": gettext_lazy("Same phone number"),
    "name_organization": gettext_lazy("Similar name at the same organization"),
    "name_city": gettext_lazy("Similar name in the same city"),
    "domain": gettext_lazy("Same website domain"),
    "name": gettext_lazy("Same name"),
}

Pair = tuple[int, int]


# -- comparing names -----------------------------------------------------------------------------

_NAME_PUNCTUATION = str.maketrans({"-": " ", ".": " ", ",": " ", "'": "", "’": "", "/": ""})
# Legal forms that say nothing about which company it is ("Acme Inc" is "Acme A/S").
_LEGAL_FORMS = frozenset(
    (
        *("ab", "ag", "aps", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc"),
        *("incorporated", "kg", "limited", "llc", "llp", "ltd", "nv", "oy", "plc", "pty", "sa"),
        *("sarl", "sas", "sl", "spa", "srl"),
    )
)


def name_key(text: str) -> str:
    """``text`` as names are compared: normalized, without punctuation ("Ana-María O'Neil" →
    "ana maria oneil")."""
    return " ".join(search_normalize(text or "").translate(_NAME_PUNCTUATION).split())


def organization_name_key(name: str) -> str:
    """An organization's name as it is compared: ``name_key`` without trailing legal forms."""
    words = name_key(name).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def _allowed_distance(first: str, second: str) -> int:
    longest = max(len(first), len(second))
    if longest <= 5:
        return 0
    return 1 if longest <= 10 else 2


def _distance_within(first: str, second: str, limit: int) -> int | None:
    """The edit distance between the two texts when it is at most ``limit``, else None.

    What they have in common at the start and at the end is left out first (names in one group often
    share the last name), so the table that remains is small.
    """
    if first == second:
        return 0
    if abs(len(first) - len(second)) > limit:
        return None
    start, end = 0, min(len(first), len(second))
    while start < end and first[start] == second[start]:
        start += 1
    first_end, second_end = len(first), len(second)
    while (
        first_end > start and second_end > start and first[first_end - 1] == second[second_end - 1]
    ):
        first_end -= 1
        second_end -= 1
    first, second = first[start:first_end], second[start:second_end]
    if len(first) > len(second):
        first, second = second, first
    if not first:
        return len(second) if len(second) <= limit else None
    # Each letter missing from the other text costs an edit: most pairs stop here, cheaply.
    if len(set(first) - set(second)) > limit or len(set(second) - set(first)) > limit:
        return None
    previous = list(range(len(second) + 1))
    for index, left in enumerate(first, 1):
        current = [index]
        for position, right in enumerate(second, 1):
            current.append(
                min(
                    previous[position] + 1,
                    current[position - 1] + 1,
                    previous[position - 1] + (left != right),
                )
            )
        if min(current) > limit:
            return None
        previous = current
    return previous[-1] if previous[-1] <= limit else None


def text_likeness(first: str, second: str) -> str | None:
    """ "same", "close1", "close2" (typos apart) or None for two keys made by ``name_key``."""
    if not first or not second:
        return None
    if first == second:
        return "same"
    distance = _distance_within(first, second, _allowed_distance(first, second))
    return f"close{distance}" if distance else None


@dataclass(frozen=True, slots=True)
class _Name:
    """A person's name as names are compared: given and family name keys, and the whole name."""

    given: str
    family: str
    full: str

    @classmethod
    def of(cls, given: str, family: str) -> _Name:
        given, family = name_key(given), name_key(family)
        return cls(given, family, f"{given} {family}".strip())


def _names_likeness(first: _Name, second: _Name) -> str | None:
    likeness = text_likeness(first.full, second.full)
    if likeness:
        return likeness
    if not first.family or first.family != second.family or not first.given or not second.given:
        return None
    left, right = first.given.split()[0], second.given.split()[0]
    if left[0] != right[0]:
        return None
    if len(left) == 1 or len(right) == 1 or left.startswith(right) or right.startswith(left):
        return "initial"
    return None


def name_likeness(first: tuple[str, str], second: tuple[str, str]) -> str | None:
    """How alike two people's names are, each as (first name key, last name key): "same", "close1",
    "close2", "initial" (an initial or the start of the first name, and the same last name) or None."""
    return _names_likeness(
        _Name(first[0], first[1], " ".join(filter(None, first))),
        _Name(second[0], second[1], " ".join(filter(None, second))),
    )


def score_of(reasons: dict[str, int]) -> int:
    """The score of a pair found by these rules ({reason: score}): the best plus a bonus per other."""
    if not reasons:
        return 0
    return min(100, max(reasons.values()) + OTHER_REASON_BONUS * (len(reasons) - 1))


def reasons_ordered(reasons: dict[str, int]) -> list[str]:
    """The reasons, strongest first (then by name, so that the order is stable)."""
    return sorted(reasons, key=lambda reason: (-reasons[reason], reason))


# -- grouping in the database ----------------------------------------------------------------------


def _table(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


@dataclass(frozen=True)
class _Grouping:
    """Records that share ``keys`` (SQL expressions over ``source``), in groups of 2 to ``size_max``."""

    source: str
    keys: tuple[str, ...]
    member: str
    where: str
    size_max: int
    columns: tuple[str, ...] = ()

    def _select(self, blocks_from: str) -> str:
        joined = " AND ".join(f"{key} = b.k{index}" for index, key in enumerate(self.keys))
        block_columns = ", ".join(f"b.k{index}" for index in range(len(self.keys)))
        extra = "".join(f", {column}" for column in self.columns)
        return (
            f"{blocks_from} SELECT {block_columns}, {self.member}{extra} FROM {self.source} "
            f"JOIN blocks b ON {joined} WHERE {self.where} ORDER BY {block_columns}, {self.member}"
        )

    def sql_all(self) -> str:
        # One pass: each row with the size of its group (a window), groups of 2 to size_max kept.
        aliases = ", ".join(f"{key} AS k{index}" for index, key in enumerate(self.keys))
        block_columns = ", ".join(f"k{index}" for index in range(len(self.keys)))
        outer_extra = "".join(f", x{index}" for index in range(len(self.columns)))
        inner_extra = "".join(
            f", {column} AS x{index}" for index, column in enumerate(self.columns)
        )
        return (
            f"SELECT {block_columns}, member{outer_extra} FROM ("
            f"SELECT {aliases}, {self.member} AS member{inner_extra}, "
            f"COUNT(*) OVER (PARTITION BY {', '.join(self.keys)}) AS size "
            f"FROM {self.source} WHERE {self.where}) grouped "
            f"WHERE size BETWEEN 2 AND {self.size_max} ORDER BY {block_columns}, member"
        )

    def sql_for(self, count: int) -> str:
        aliases = ", ".join(f"{key} AS k{index}" for index, key in enumerate(self.keys))
        given_keys = ", ".join(f"g.k{index}" for index in range(len(self.keys)))
        joined = " AND ".join(f"{key} = g.k{index}" for index, key in enumerate(self.keys))
        placeholders = ", ".join(["%s"] * count)
        return self._select(
            f"WITH given AS (SELECT DISTINCT {aliases} FROM {self.source} WHERE {self.where} "
            f"AND {self.member} IN ({placeholders})), "
            f"blocks AS (SELECT {given_keys} FROM {self.source} JOIN given g ON {joined} "
            f"WHERE {self.where} GROUP BY {given_keys} "
            f"HAVING COUNT(DISTINCT {self.member}) BETWEEN 2 AND {self.size_max})"
        )

    def groups(self, ids: Sequence[int] | None) -> Iterator[list[tuple[Any, ...]]]:
        """Each group's members as (member id, *columns), the whole table or the groups of ``ids``."""
        if ids is None:
            yield from self._run(self.sql_all(), [])
            return
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            yield from self._run(self.sql_for(len(chunk)), chunk)

    def _run(self, sql: str, params: list[Any]) -> Iterator[list[tuple[Any, ...]]]:
        width = len(self.keys)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = iter(lambda: cursor.fetchmany(2000), [])
            flat = itertools.chain.from_iterable(rows)
            for _key, members in itertools.groupby(flat, key=lambda row: tuple(row[:width])):
                yield [tuple(row[width:]) for row in members]


def _contact_groupings() -> dict[str, _Grouping]:
    contact, email, phone, affiliation = (
        _table(Contact),
        _table(ContactEmail),
        _table(ContactPhone),
        _table(Affiliation),
    )
    return {
        "email": _Grouping(
            source=f"{email} e",
            keys=("LOWER(e.email)",),
            member="e.contact_id",
            where="e.email <> ''",
            size_max=KEY_GROUP_MAX,
        ),
        "phone": _Grouping(
            source=f"{phone} p",
            keys=("p.number",),
            member="p.contact_id",
            where="p.number <> ''",
            size_max=KEY_GROUP_MAX,
        ),
        # The same organization and the same first letter of the normalized name (the start of the
        # search text): typos and accents anywhere else in the name still meet.
        "name_organization": _Grouping(
            source=f"{affiliation} a JOIN {contact} c ON c.id = a.contact_id",
            keys=("a.organization_id", "SUBSTR(c.search_text, 1, 1)"),
            member="c.id",
            where="c.search_text <> ''",
            size_max=NAME_GROUP_MAX,
            columns=("c.first_name", "c.last_name"),
        ),
        # The same last name, city and country (the name and city index).
        "name_city": _Grouping(
            source=f"{contact} c",
            keys=("LOWER(c.last_name)", "LOWER(c.city)", "c.country"),
            member="c.id",
            where="c.last_name <> '' AND c.city <> ''",
            size_max=NAME_GROUP_MAX,
            columns=("c.first_name", "c.last_name"),
        ),
    }


def _domain_grouping() -> _Grouping:
    return _Grouping(
        source=f"{_table(Organization)} o",
        keys=("o.domain",),
        member="o.id",
        where="o.domain <> ''",
        size_max=KEY_GROUP_MAX,
    )


# -- finding pairs -------------------------------------------------------------------------------


class _Found:
    """Pairs found so far, with the best score of each rule that found them."""

    def __init__(self, ids: set[int] | None) -> None:
        self.ids = ids
        self.pairs: dict[Pair, dict[str, int]] = defaultdict(dict)

    def add(self, first: int, second: int, reason: str, score: int) -> None:
        if first == second:
            return
        pair = (first, second) if first < second else (second, first)
        if self.ids is not None and pair[0] not in self.ids and pair[1] not in self.ids:
            return
        reasons = self.pairs[pair]
        reasons[reason] = max(score, reasons.get(reason, 0))


def _query_ids(ids: set[int] | None) -> list[int] | None:
    """The ids to look groups up for; None (the whole table) when there are so many that one scan is
    cheaper (the pairs found are still only those involving ``ids``)."""
    if ids is None or len(ids) > FULL_SCAN_IDS:
        return None
    return sorted(ids)


def _contacts_find(ids: set[int] | None) -> _Found:
    found = _Found(ids)
    query_ids = _query_ids(ids)
    groupings = _contact_groupings()
    for reason, score in (("email", EMAIL_SCORE), ("phone", PHONE_SCORE)):
        for members in groupings[reason].groups(query_ids):
            for (first,), (second,) in itertools.combinations(members, 2):
                found.add(first, second, reason, score)
    for reason, scores in (
        ("name_organization", NAME_ORGANIZATION_SCORES),
        ("name_city", NAME_CITY_SCORES),
    ):
        for members in groupings[reason].groups(query_ids):
            keyed = [
                (member, _Name.of(first_name, last_name))
                for member, first_name, last_name in members
            ]
            for (first, first_name), (second, second_name) in itertools.combinations(keyed, 2):
                if ids is not None and first not in ids and second not in ids:
                    continue
                likeness = _names_likeness(first_name, second_name)
                if likeness:
                    found.add(first, second, reason, scores[likeness])
    return found


def _organizations_find(ids: set[int] | None) -> _Found:
    found = _Found(ids)
    for members in _domain_grouping().groups(_query_ids(ids)):
        for (first,), (second,) in itertools.combinations(members, 2):
            found.add(first, second, "domain", DOMAIN_SCORE)
    # Names: one pass over every organization's name, keeping only the groups that matter.
    wanted_names: set[str] | None = None
    wanted_places: set[tuple[str, str, str]] | None = None
    rows = Organization.objects.values_list("id", "name", "country", "city")
    if ids is not None:
        wanted_names, wanted_places = set(), set()
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            for _pk, name, country, city in rows.filter(pk__in=chunk):
                key = organization_name_key(name)
                wanted_names.add(key)
                if city:
                    wanted_places.add((country, name_key(city), key[:3]))
    by_name: dict[str, list[int]] = defaultdict(list)
    by_place: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
    for pk, name, country, city in rows.order_by().iterator(chunk_size=5000):
        key = organization_name_key(name)
        if not key:
            continue
        if wanted_names is None or key in wanted_names:
            by_name[key].append(pk)
        if city:
            place = (country, name_key(city), key[:3])
            if wanted_places is None or place in wanted_places:
                by_place[place].append((pk, key))
    for named in by_name.values():
        if 2 <= len(named) <= KEY_GROUP_MAX:
            for first, second in itertools.combinations(named, 2):
                found.add(first, second, "name", ORGANIZATION_NAME_SCORE)
    for place_members in by_place.values():
        if not 2 <= len(place_members) <= NAME_GROUP_MAX:
            continue
        for (first, first_key), (second, second_key) in itertools.combinations(place_members, 2):
            if ids is not None and first not in ids and second not in ids:
                continue
            # The same name is the "name" rule already; here only names a typo or two apart.
            if text_likeness(first_key, second_key) in ("close1", "close2"):
                found.add(first, second, "name_city", ORGANIZATION_NAME_CITY_SCORE)
    return found


# -- keeping the queue current -------------------------------------------------------------------


@dataclass(frozen=True)
class DetectionCounts:
    """What a detection run changed in the review queue."""

    created: int = 0
    updated: int = 0
    removed: int = 0


def _pair_columns(record_type: str) -> tuple[str, str]:
    if record_type == CONTACTS:
        return "first_contact_id", "second_contact_id"
    return "first_organization_id", "second_organization_id"


def _existing(
    record_type: str, ids: set[int] | None
) -> dict[Pair, tuple[int, str, int, list[str]]]:
    first, second = _pair_columns(record_type)
    queryset = DuplicateCandidate.objects.filter(record_type=record_type).order_by()
    columns = ("id", first, second, "status", "score", "reasons")
    rows: Iterable[tuple[Any, ...]]
    if ids is None:
        rows = queryset.values_list(*columns).iterator(chunk_size=5000)
    else:
        ordered = sorted(ids)
        rows = itertools.chain.from_iterable(
            queryset.filter(
                Q(**{f"{first}__in": ordered[start : start + _CHUNK]})
                | Q(**{f"{second}__in": ordered[start : start + _CHUNK]})
            ).values_list(*columns)
            for start in range(0, len(ordered), _CHUNK)
        )
    return {(row[1], row[2]): (row[0], row[3], row[4], row[5]) for row in rows}


@transaction.atomic
def _candidates_save(record_type: str, found: _Found) -> DetectionCounts:
    first_column, second_column = _pair_columns(record_type)
    existing = _existing(record_type, found.ids)
    now = timezone.now()
    new: list[DuplicateCandidate] = []
    changed: list[DuplicateCandidate] = []
    for pair, reasons in found.pairs.items():
        score, ordered = score_of(reasons), reasons_ordered(reasons)
        current = existing.get(pair)
        if current is None:
            new.append(
                DuplicateCandidate(
                    record_type=record_type,
                    score=score,
                    reasons=ordered,
                    detected_at=now,
                    **{first_column: pair[0], second_column: pair[1]},
                )
            )
        elif current[1] == DuplicateStatus.OPEN and (current[2], current[3]) != (score, ordered):
            changed.append(DuplicateCandidate(pk=current[0], score=score, reasons=ordered))
    stale = [
        current[0]
        for pair, current in existing.items()
        if current[1] == DuplicateStatus.OPEN and pair not in found.pairs
    ]
    # Another detection may have added the same pair meanwhile: the unique constraint keeps one.
    DuplicateCandidate.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons"], batch_size=1000)
    for start in range(0, len(stale), _CHUNK):
        DuplicateCandidate.objects.filter(pk__in=stale[start : start + _CHUNK]).delete()
    return DetectionCounts(created=len(new), updated=len(changed), removed=len(stale))


def _check_record_type(record_type: str) -> None:
    if record_type not in RECORD_TYPES:
        raise ValidationError(
            {"record_type": _("Choose contacts or organizations.")}, code="invalid"
        )


def _find(record_type: str, ids: set[int] | None) -> _Found:
    return _contacts_find(ids) if record_type == CONTACTS else _organizations_find(ids)


def duplicates_detect(*, record_type: str) -> DetectionCounts:
    """Look for duplicates among all records of ``record_type`` ("contacts" or "organizations") and
    bring the review queue up to date: new pairs are added, open pairs get their current score and
    reasons, open pairs that no longer look alike are removed; dismissed pairs stay dismissed."""
    _check_record_type(record_type)
    return _candidates_save(record_type, _find(record_type, None))


def duplicates_detect_for(*, record_type: str, ids: Iterable[int]) -> int:
    """Look for duplicates of these records (``record_type`` "contacts" or "organizations") among all
    records and add new candidates to the review queue; returns how many candidates were added.

    Only pairs involving one of ``ids`` are added, updated or removed. Imports call it after each job
    with the ids they created or updated.
    """
    _check_record_type(record_type)
    wanted = {int(pk) for pk in ids}
    if not wanted:
        return 0
    return _candidates_save(record_type, _find(record_type, wanted)).created


# -- the review queue ----------------------------------------------------------------------------


def _visible_pairs(queryset: QuerySet[DuplicateCandidate], actor: Any, record_type: str) -> Any:
    condition = scope_filter(actor)
    if condition is None:
        return queryset.none()
    if not condition:
        return queryset
    model = Contact if record_type == CONTACTS else Organization
    visible = model.objects.filter(condition).values("id")
    first, second = _pair_columns(record_type)
    return queryset.filter(**{f"{first}__in": visible, f"{second}__in": visible})


def duplicate_candidates_visible_to(
    actor: Any, record_type: str, *, record_id: int | None = None
) -> QuerySet[DuplicateCandidate]:
    """The open pairs of ``record_type`` whose two records ``actor`` may see, best first; only those
    of one record when ``record_id`` is given."""
    queryset = DuplicateCandidate.objects.filter(
        record_type=record_type, status=DuplicateStatus.OPEN
    ).order_by("-score", "id")
    if record_id is not None:
        first, second = _pair_columns(record_type)
        queryset = queryset.filter(Q(**{first: record_id}) | Q(**{second: record_id}))
    return _visible_pairs(queryset, actor, record_type)


def duplicate_candidate_get(actor: Any, pk: Any) -> DuplicateCandidate:
    """One pair (in any status) whose two records ``actor`` may see, else DuplicateCandidate.DoesNotExist."""
    candidate = DuplicateCandidate.objects.filter(pk=pk).first()
    if candidate is None:
        raise DuplicateCandidate.DoesNotExist
    visible = _visible_pairs(
        DuplicateCandidate.objects.filter(pk=candidate.pk), actor, candidate.record_type
    )
    if not visible.exists():
        raise DuplicateCandidate.DoesNotExist
    return candidate


@dataclass(frozen=True)
class DuplicatePair:
    """A pair in the review queue with both records loaded as list pages load them."""

    candidate: DuplicateCandidate
    first: Any
    second: Any

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS.get(reason, reason)) for reason in self.candidate.reasons]

    @property
    def ids(self) -> str:
        return f"{self.first.pk},{self.second.pk}"


def duplicate_pairs(actor: Any, candidates: Iterable[DuplicateCandidate]) -> list[DuplicatePair]:
    """``candidates`` with their records, loaded in a fixed number of queries whatever their number
    (contacts: 5, with emails, phones, tags and visible organizations; organizations: 2)."""
    from clientela.parties.selectors import contacts_visible_to, organizations_visible_to

    candidates = list(candidates)
    if not candidates:
        return []
    record_type = candidates[0].record_type
    first, second = _pair_columns(record_type)
    ids = {getattr(item, column) for item in candidates for column in (first, second)}
    selector = contacts_visible_to if record_type == CONTACTS else organizations_visible_to
    records = selector(actor).in_bulk(ids)
    return [
        DuplicatePair(item, records[getattr(item, first)], records[getattr(item, second)])
        for item in candidates
        if getattr(item, first) in records and getattr(item, second) in records
    ]


def possible_duplicates_count(actor: Any, record: Contact | Organization) -> int:
    """How many open pairs involve ``record`` with another record ``actor`` may see."""
    record_type = CONTACTS if isinstance(record, Contact) else ORGANIZATIONS
    return duplicate_candidates_visible_to(actor, record_type, record_id=record.pk).count()


# -- decisions -----------------------------------------------------------------------------------


@transaction.atomic
def duplicate_dismiss(*, actor: Any, candidate: DuplicateCandidate) -> DuplicateCandidate:
    """Mark a pair as "not duplicates": it leaves the queue and detection never proposes it again.

    Needs the merge permission and both records visible (else DoesNotExist, 404). Dismissing a pair
    that is already dismissed changes nothing.
    """
    require_perm(actor, Perm.PARTIES_MERGE)
    locked = DuplicateCandidate.objects.select_for_update().filter(pk=candidate.pk).first()
    if locked is None:
        raise DuplicateCandidate.DoesNotExist
    model = Contact if locked.record_type == CONTACTS else Organization
    first, second = _pair_columns(locked.record_type)
    records = model.objects.filter(pk__in=[getattr(locked, first), getattr(locked, second)])
    if len(records) != 2 or not all(is_visible_to(record, actor) for record in records):
        raise DuplicateCandidate.DoesNotExist
    if locked.status == DuplicateStatus.DISMISSED:
        return locked
    if locked.status != DuplicateStatus.OPEN:
        raise ValidationError(_("These records were merged already."), code="resolved")
    locked.status = DuplicateStatus.DISMISSED
    locked.resolved_at = timezone.now()
    locked.resolved_by = actor
    locked.save(update_fields=["status", "resolved_at", "resolved_by"])
    return locked
