"""Exports of contacts and organizations: any filtered list, as CSV, XLSX or vCard.

An export is a read. It starts from the selectors (``contacts_visible_to``, ``organizations_visible_to``),
so it holds only the records the person may see and names only the organizations they may see, and it
applies the list pages' FilterSets, so the filters, the search and the sort are those of the list.
Pages, the API and ``clientela export`` all start an export with ``export_start``.

Records are read from one query ``CHUNK_SIZE`` at a time (a server-side cursor on PostgreSQL), as
plain values rather than model instances, and the emails, phones, tags and organizations of each chunk
with a query or two apiece: memory stays flat whatever the number of rows and the number of queries
grows with the number of chunks only. (Model instances with prefetch_related cost several times as
much Python per row.) CSV and vCard are produced as a stream of bytes; XLSX is written to a file.

CSV and XLSX have the field keys as their first row (the names imports map columns by) and raw values:
codes rather than labels, phone numbers in E.164, times in UTC (ISO 8601), lists separated by "; ".
No cell ever starts with a character that makes a spreadsheet run it as a formula
(``core.spreadsheets.spreadsheet_safe``): such text gets a leading apostrophe. In CSV this includes
phone numbers ("'+4532123456"); XLSX writes them as text cells, escaped the same way.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from clientela.core.custom_fields import record_type_of
from clientela.core.locale import country_name
from clientela.core.models import CustomFieldDefinition
from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import custom_field_definitions_for
from clientela.core.spreadsheets import spreadsheet_safe
from clientela.parties.choices import EmailKind, PhoneKind
from clientela.parties.filters import ContactFilterSet, OrganizationFilterSet
from clientela.parties.models import Affiliation, Contact, ContactEmail, ContactPhone, Organization
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to

logger = logging.getLogger("clientela.exports")

# Records read at a time (with their related rows).
CHUNK_SIZE = 2000
# The bytes gathered before a piece of a streamed export is handed on.
STREAM_PIECE = 64 * 1024
# What one Excel sheet holds: 1,048,576 rows (one of them the header), 32,767 characters a cell.
XLSX_MAX_ROWS = 1_048_575
XLSX_MAX_CELL = 32_767
# Between the items of a list in one cell (emails, phones, organizations, tags, multiple choices).
LIST_SEPARATOR = "; "


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    VCF = "vcf", "vCard"


CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.VCF: "text/vcard; charset=utf-8",
}

CONTACT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "emails",
    "phones",
    "job_title",
    "organizations",
    "lifecycle_stage",
    "source",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "preferred_language",
    "tags",
    "owner",
    "team",
    "created_at",
    "updated_at",
)
ORGANIZATION_COLUMNS = (
    "id",
    "name",
    "website",
    "domain",
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
    "tags",
    "owner",
    "team",
    "created_at",
    "updated_at",
)

# A cell before it is written: text, or a number (XLSX keeps numbers as numbers).
Cell = str | int | float | Decimal


# -- values ------------------------------------------------------------------------------------


def _utc(moment: datetime.datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _joined(items: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(item for item in items if item)


def _custom_value(value: Any) -> Cell:
    """A stored custom field value as a cell: numbers stay numbers, yes/no is true/false."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, list):
        return _joined(str(item) for item in value)
    return str(value)


@dataclass
class Related:
    """A record's rows in other tables, as exports show them (read for a chunk of records at once)."""

    tags: list[str] = field(default_factory=list)
    # (address, kind, is_primary), primary first
    emails: list[tuple[str, str, bool]] = field(default_factory=list)
    # (E.164 number, kind, is_primary), primary first
    phones: list[tuple[str, str, bool]] = field(default_factory=list)
    # Names of the organizations the exporter may see, primary first.
    organizations: list[str] = field(default_factory=list)


def _owned_values(row: Mapping[str, Any], related: Related) -> list[Cell]:
    """Tags, owner, team and times: the columns both record types end with."""
    return [
        _joined(related.tags),
        row["owner__email"] or "",
        row["team__name"] or "",
        _utc(row["created_at"]),
        _utc(row["updated_at"]),
    ]


def _address_values(row: Mapping[str, Any]) -> list[Cell]:
    return [row["street"], row["city"], row["region"], row["postal_code"], row["country"]]


_PARTY_FIELDS = (
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "owner__email",
    "team__name",
    "created_at",
    "updated_at",
    "custom_fields",
)
CONTACT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "job_title",
    "lifecycle_stage",
    "source",
    "preferred_language",
    *_PARTY_FIELDS,
)
ORGANIZATION_FIELDS = (
    "id",
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
)


def contact_values(row: Mapping[str, Any], related: Related) -> list[Cell]:
    """A contact's cells (``row`` holds CONTACT_FIELDS) in the order of CONTACT_COLUMNS, custom fields
    not included. Emails and phones come primary first; organizations are only those the exporter
    may see."""
    return [
        row["id"],
        row["first_name"],
        row["last_name"],
        _joined(email for email, _kind, _is_primary in related.emails),
        _joined(number for number, _kind, _is_primary in related.phones),
        row["job_title"],
        _joined(related.organizations),
        row["lifecycle_stage"],
        row["source"],
        *_address_values(row),
        row["preferred_language"],
        *_owned_values(row, related),
    ]


def organization_values(row: Mapping[str, Any], related: Related) -> list[Cell]:
    """An organization's cells (``row`` holds ORGANIZATION_FIELDS) in the order of
    ORGANIZATION_COLUMNS, custom fields not included."""
    revenue = row["annual_revenue"]
    return [
        row["id"],
        row["name"],
        row["website"],
        row["domain"],
        row["industry"],
        row["size_band"],
        row["phone"],
        revenue if revenue is not None else "",
        row["currency"],
        row["description"],
        *_address_values(row),
        *_owned_values(row, related),
    ]


def _tags_by_record(model: type[models.Model], ids: list[int]) -> Iterator[tuple[int, str]]:
    tags: Any = model._meta.get_field("tags")
    through = tags.remote_field.through
    column = f"{model._meta.model_name}_id"
    return iter(
        through.objects.filter(**{f"{column}__in": ids})
        .order_by(Lower("tag__name"), "tag_id")
        .values_list(column, "tag__name")
    )


def contacts_related(actor: Any, ids: list[int]) -> dict[int, Related]:
    """The tags, emails, phones and visible organizations of the contacts ``ids``: five queries."""
    related = {pk: Related() for pk in ids}
    for contact_id, name in _tags_by_record(Contact, ids):
        related[contact_id].tags.append(name)
    emails = ContactEmail.objects.filter(contact_id__in=ids).order_by("-is_primary", "id")
    for contact_id, email, kind, is_primary in emails.values_list(
        "contact_id", "email", "kind", "is_primary"
    ):
        related[contact_id].emails.append((email, kind, is_primary))
    phones = ContactPhone.objects.filter(contact_id__in=ids).order_by("-is_primary", "id")
    for contact_id, number, kind, is_primary in phones.values_list(
        "contact_id", "number", "kind", "is_primary"
    ):
        related[contact_id].phones.append((number, kind, is_primary))
    # As in contacts_visible_to, organizations outside the exporter's scope are not named. Which of
    # the chunk's organizations are visible is asked apart: SQLite plans "organization IN (every
    # visible organization)" as a search per contact and organization, minutes for a large chunk.
    affiliations = list(
        Affiliation.objects.filter(contact_id__in=ids)
        .order_by("-is_primary", "id")
        .values_list("contact_id", "organization_id", "organization__name")
    )
    organization_ids = {organization_id for _contact, organization_id, _name in affiliations}
    visible = set(
        organizations_visible_to(actor)
        .select_related(None)
        .prefetch_related(None)
        .filter(pk__in=organization_ids)
        .values_list("id", flat=True)
    )
    for contact_id, organization_id, name in affiliations:
        if organization_id in visible:
            related[contact_id].organizations.append(name)
    return related


def organizations_related(actor: Any, ids: list[int]) -> dict[int, Related]:
    """The tags of the organizations ``ids``: one query."""
    related = {pk: Related() for pk in ids}
    for organization_id, name in _tags_by_record(Organization, ids):
        related[organization_id].tags.append(name)
    return related


# -- vCard -------------------------------------------------------------------------------------

_VCARD_EMAIL_TYPES: dict[str, str] = {
    EmailKind.WORK: "INTERNET,WORK",
    EmailKind.PERSONAL: "INTERNET,HOME",
}
_VCARD_PHONE_TYPES: dict[str, str] = {
    PhoneKind.MOBILE: "CELL",
    PhoneKind.WORK: "WORK,VOICE",
    PhoneKind.HOME: "HOME,VOICE",
}
VCARD_LINE_OCTETS = 75


def vcard_escape(text: str) -> str:
    r"""``text`` as a vCard value: backslash, comma and semicolon escaped, line breaks as ``\n``."""
    text = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def vcard_fold(line: str) -> str:
    """``line`` ended with CRLF and folded so that no physical line exceeds 75 octets (UTF-8).

    A continuation line starts with one space (which unfolding removes); characters are never split.
    """
    if len(line.encode("utf-8")) <= VCARD_LINE_OCTETS:
        return line + "\r\n"
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, VCARD_LINE_OCTETS
    for character in line:
        octets = len(character.encode("utf-8"))
        if size + octets > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, VCARD_LINE_OCTETS - 1
        current.append(character)
        size += octets
    pieces.append("".join(current))
    return "\r\n ".join(pieces) + "\r\n"


def contact_vcard(row: Mapping[str, Any], related: Related) -> str:
    """One contact (``row`` holds CONTACT_FIELDS) as a vCard 3.0 (RFC 2426): CRLF line endings, lines
    folded at 75 octets.

    ORG names the contact's first (primary) organization among those the exporter may see; TYPE
    parameters carry each email's and phone's kind and mark the primary one PREF.
    """
    first_name, last_name = row["first_name"], row["last_name"]
    full_name = " ".join(part for part in (first_name, last_name) if part)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{vcard_escape(last_name)};{vcard_escape(first_name)};;;",
        f"FN:{vcard_escape(full_name)}",
    ]
    if related.organizations:
        lines.append(f"ORG:{vcard_escape(related.organizations[0])}")
    if row["job_title"]:
        lines.append(f"TITLE:{vcard_escape(row['job_title'])}")
    for email, kind, is_primary in related.emails:
        types = _VCARD_EMAIL_TYPES.get(kind, "INTERNET") + (",PREF" if is_primary else "")
        lines.append(f"EMAIL;TYPE={types}:{vcard_escape(email)}")
    for number, kind, is_primary in related.phones:
        types = _VCARD_PHONE_TYPES.get(kind, "VOICE") + (",PREF" if is_primary else "")
        lines.append(f"TEL;TYPE={types}:{vcard_escape(number)}")
    address = [row["street"], row["city"], row["region"], row["postal_code"]]
    country = country_name(row["country"], "en") if row["country"] else ""
    if any(address) or country:
        parts = ";".join(vcard_escape(part) for part in [*address, country])
        lines.append(f"ADR:;;{parts}")
    if related.tags:
        lines.append("CATEGORIES:" + ",".join(vcard_escape(name) for name in related.tags))
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) for line in lines)


# -- the export --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportKind:
    """What differs between exporting contacts and organizations."""

    name: str
    model: type[models.Model]
    # What is read of each record, the columns it becomes, and how.
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    values: Callable[[Mapping[str, Any], Related], list[Cell]]
    related: Callable[[Any, list[int]], dict[int, Related]]
    filterset_class: type[Any]
    selector: Callable[[Any], QuerySet[Any]]
    formats: tuple[str, ...]


EXPORT_KINDS = {
    "contacts": ExportKind(
        name="contacts",
        model=Contact,
        fields=CONTACT_FIELDS,
        columns=CONTACT_COLUMNS,
        values=contact_values,
        related=contacts_related,
        filterset_class=ContactFilterSet,
        selector=contacts_visible_to,
        formats=(ExportFormat.CSV, ExportFormat.XLSX, ExportFormat.VCF),
    ),
    "organizations": ExportKind(
        name="organizations",
        model=Organization,
        fields=ORGANIZATION_FIELDS,
        columns=ORGANIZATION_COLUMNS,
        values=organization_values,
        related=organizations_related,
        filterset_class=OrganizationFilterSet,
        selector=organizations_visible_to,
        formats=(ExportFormat.CSV, ExportFormat.XLSX),
    ),
}


def _csv_cell(value: Cell) -> str:
    return spreadsheet_safe(value if isinstance(value, str) else str(value))


def _xlsx_cell(value: Cell) -> Cell:
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Control characters make the file unreadable; a longer text would be cut by Excel anyway.
    return spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", value))[:XLSX_MAX_CELL]


@dataclass
class Export:
    """One export of the records ``queryset`` holds, in ``file_format``; produce it once.

    ``stream()`` gives CSV or vCard as pieces of bytes; ``write(file)`` writes any format to a binary
    file. ``progress``, when given, is called with the number of rows done after each chunk.
    """

    actor: Any
    kind: ExportKind
    file_format: str
    queryset: QuerySet[Any]
    definitions: list[CustomFieldDefinition]
    filters: str = ""
    progress: Callable[[int], None] | None = None
    rows_written: int = field(default=0, init=False)

    @property
    def columns(self) -> list[str]:
        return [*self.kind.columns, *(f"cf_{item.key}" for item in self.definitions)]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[ExportFormat(self.file_format)]

    def filename(self, day: datetime.date | None = None) -> str:
        """Like ``contacts-2026-11-23.csv``; the day is today in the current time zone by default."""
        day = day or timezone.localdate()
        return f"{self.kind.name}-{day.isoformat()}.{self.file_format}"

    def records(self) -> Iterator[tuple[dict[str, Any], Related]]:
        """Each record's fields (``kind.fields``) and related rows, in list order.

        Records are read CHUNK_SIZE at a time from one query, and the related rows of each chunk
        with a few more; counts the records and reports progress after each chunk.
        """
        rows = (
            self.queryset.select_related(None)
            .prefetch_related(None)
            .values(*self.kind.fields)
            .iterator(chunk_size=CHUNK_SIZE)
        )
        for chunk in itertools.batched(rows, CHUNK_SIZE):
            related = self.kind.related(self.actor, [row["id"] for row in chunk])
            for row in chunk:
                yield row, related[row["id"]]
                self.rows_written += 1
            if self.progress is not None:
                self.progress(self.rows_written)
        if self.progress is not None and self.rows_written == 0:
            self.progress(0)

    def rows(self) -> Iterator[list[Cell]]:
        """Each record's cells in the order of ``columns`` (the header not included)."""
        keys = [definition.key for definition in self.definitions]
        values = self.kind.values
        for row, related in self.records():
            custom = row["custom_fields"] or {}
            yield [*values(row, related), *(_custom_value(custom.get(key)) for key in keys)]

    def stream(self) -> Iterator[bytes]:
        """The file as pieces of bytes (CSV or vCard), logging the export once it is complete."""
        pieces = self._csv_pieces() if self.file_format == ExportFormat.CSV else self._vcf_pieces()
        is_complete = False
        try:
            for piece in _gathered(pieces):
                yield piece.encode("utf-8")
            is_complete = True
        finally:
            self._log(is_complete)

    def write(self, file: IO[bytes]) -> None:
        """Write the whole file to ``file`` (opened for binary writing)."""
        if self.file_format != ExportFormat.XLSX:
            for piece in self.stream():
                file.write(piece)
            return
        is_complete = False
        try:
            self._xlsx_write(file)
            is_complete = True
        finally:
            self._log(is_complete)

    def _csv_pieces(self) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # excel dialect: CRLF, quotes only where needed
        # The byte order mark tells Excel the file is UTF-8 (else accents come out garbled).
        buffer.write("\ufeff")
        writer.writerow([_csv_cell(column) for column in self.columns])
        for row in self.rows():
            writer.writerow([_csv_cell(value) for value in row])
            if buffer.tell() >= STREAM_PIECE:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    def _vcf_pieces(self) -> Iterator[str]:
        for row, related in self.records():
            yield contact_vcard(row, related)

    def _xlsx_write(self, file: IO[bytes]) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=self.kind.name)
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(sheet, value=_xlsx_cell(column))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in self.rows():
            sheet.append([_xlsx_cell(value) for value in row])
        workbook.save(file)

    def _log(self, is_complete: bool) -> None:
        logger.info(
            "%s %s %d %s as %s%s",
            getattr(self.actor, "email", self.actor),
            "exported" if is_complete else "stopped exporting after",
            self.rows_written,
            self.kind.name,
            self.file_format,
            f" (filters: {self.filters})" if self.filters else "",
        )


def _gathered(pieces: Iterable[str]) -> Iterator[str]:
    """``pieces`` joined into pieces of about STREAM_PIECE characters (fewer, larger writes)."""
    gathered: list[str] = []
    size = 0
    for piece in pieces:
        gathered.append(piece)
        size += len(piece)
        if size >= STREAM_PIECE:
            yield "".join(gathered)
            gathered, size = [], 0
    if gathered:
        yield "".join(gathered)


def _as_query_dict(filters: Mapping[str, Any] | QueryDict | None) -> QueryDict:
    if isinstance(filters, QueryDict):
        return filters
    data = QueryDict(mutable=True)
    for name, value in (filters or {}).items():
        items = value if isinstance(value, list | tuple) else [value]
        data.setlist(name, [str(item) for item in items])
    return data


# Parameters of list addresses that are not filters.
_NOT_FILTERS = ("format", "page", "per_page", "page_size")


def export_start(
    *,
    actor: Any,
    record_type: str,
    file_format: str = ExportFormat.CSV,
    filters: Mapping[str, Any] | QueryDict | None = None,
    progress: Callable[[int], None] | None = None,
) -> Export:
    """An export of the ``record_type`` ("contacts" or "organizations") records ``actor`` may see.

    ``filters`` are the list's parameters (filters, ``q``, ``sort``); anything else (``format``, paging)
    is ignored. Raises PermissionDenied without PARTIES_EXPORT, and ValidationError keyed by parameter
    for an unknown format, a format the record type has no use for (vCard of organizations), an invalid
    filter or sort, or an XLSX export with more rows than a sheet holds. Nothing is read until the
    export is produced (except the row count of an XLSX export).
    """
    require_perm(actor, Perm.PARTIES_EXPORT)
    kind = EXPORT_KINDS[record_type]
    if file_format not in kind.formats:
        raise ValidationError(
            {
                "format": [
                    _("Export %(records)s as one of: %(formats)s.")
                    % {
                        "records": kind.model._meta.verbose_name_plural,
                        "formats": ", ".join(kind.formats),
                    }
                ]
            }
        )
    data = _as_query_dict(filters).copy()
    for name in _NOT_FILTERS:
        data.pop(name, None)
    # The FilterSets take the person asking from the request; an export has a person, not always one.
    filterset = kind.filterset_class(
        data=data, queryset=kind.selector(actor), request=SimpleNamespace(user=actor)
    )
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    sort_filter = filterset.filters["sort"]
    sort = (filterset.form.cleaned_data.get("sort") or "").strip()
    if sort and sort.lstrip("-") not in sort_filter.options:
        raise ValidationError(
            {"sort": [_("Sort by one of: %(keys)s.") % {"keys": ", ".join(sort_filter.keys())}]}
        )
    queryset = filterset.qs
    if file_format == ExportFormat.XLSX:
        count = queryset.count()
        if count > XLSX_MAX_ROWS:
            raise ValidationError(
                {
                    "format": [
                        _(
                            "An Excel sheet holds at most %(limit)s rows and this list has %(count)s: "
                            "export it as CSV, or filter it."
                        )
                        % {"limit": f"{XLSX_MAX_ROWS:,}", "count": f"{count:,}"}
                    ]
                }
            )
    return Export(
        actor=actor,
        kind=kind,
        file_format=file_format,
        queryset=queryset,
        definitions=custom_field_definitions_for(record_type_of(kind.model)),
        filters=data.urlencode(),
        progress=progress,
    )
