"""Importing contacts and organizations from CSV and XLSX files: reading, mapping, the engine, the jobs.

A person uploads a file (``import_file_store``), looks at its first rows (``import_preview``), maps its
columns to fields (``import_mapping_guess`` proposes a mapping, ``import_mapping_validate`` checks it),
and starts a job (``import_job_create``), usually a dry run first. The worker runs the job with
``import_job_run``: it streams the file, checks and normalizes the rows of one batch in Python, looks
existing records up with one query per kind of key, and writes the batch with bulk inserts and updates in
one transaction together with the batch's outcomes, its row errors and the job's counters, so a job that
stops resumes at the first row not yet written. ``import_report_rows`` gives the downloadable report.

The rules are those of ``parties.services`` (validation, E.164 phone numbers, lower-case email domains,
search text, owner and team, events), applied to many rows at once rather than one ``save()`` per row;
docs/adr explains the choice.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import decimal
import io
import json
import os
import re
import sqlite3
import tempfile
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from json.encoder import encode_basestring as _json_string
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clientela.core.custom_fields import custom_field_form_field, record_type_of
from clientela.core.events import json_value
from clientela.core.locale import currency_codes
from clientela.core.models import Event, Tag
from clientela.core.ownership import ownership_resolve
from clientela.core.permissions import Perm, Scope, has_perm, require_perm, scope_of
from clientela.core.phones import phone_to_e164
from clientela.core.search import search_normalize, search_phone_digits
from clientela.core.selectors import custom_field_definitions_for, visible_to
from clientela.core.services import tag_get_or_create
from clientela.parties.choices import (
    ContactSource,
    EmailKind,
    ImportOnMatch,
    ImportRecordType,
    ImportStatus,
    Industry,
    LifecycleStage,
    PhoneKind,
    SizeBand,
)
from clientela.parties.events import ContactEvent, OrganizationEvent
from clientela.parties.import_columns import (
    COUNTRY_ALIASES,
    HEADER_PREFIXES,
    LIFECYCLE_STAGE_ALIASES,
    SOURCE_ALIASES,
    header_key,
    synonym_index,
)
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    ImportBatch,
    ImportJob,
    ImportMapping,
    ImportRowError,
    Organization,
)

ALLOWED_EXTENSIONS = ("csv", "txt", "tsv", "xlsx")
# How much of a file is looked at to recognize its encoding and delimiter.
SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 5
DELIMITERS = (",", ";", "\t", "|")
# A job's outcome letters per row (ImportBatch.outcomes); "-" marks an empty row, which is not counted.
CREATED, UPDATED, SKIPPED, FAILED, EMPTY = "c", "u", "s", "f", "-"
OUTCOME_NAMES = {CREATED: "created", UPDATED: "updated", SKIPPED: "skipped", FAILED: "failed"}
REPORT_HEADER = ["row", "outcome", "record_id", "column", "value", "reason"]
# Fields several columns may fill (their values are added together).
MULTI_VALUED_FIELDS = frozenset({"tags"})
EMAIL_FIELDS = ("email", "email_2", "email_3")
# Fields whose one cell holds several values, separated as exports write them ("a@x.dk; b@y.dk").
SEVERAL_FIELDS = frozenset({"emails", "phones"})
LIST_SEPARATOR = "; "
CUSTOM_FIELD_PREFIX = "cf:"
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|txt|tsv|xlsx)$")
_SURROGATES = re.compile("[\udc80-\udcff]")
# Text a spreadsheet could run as a formula starts with one of these (OWASP "CSV injection").
_FORMULA_STARTS = frozenset("=+-@\t\r")
# An import that wrote at least this many records refreshes PostgreSQL's planner statistics.
STATISTICS_REFRESH_ROWS = 10_000
# Caches that grow with the distinct values of a file are emptied past this size (memory stays bounded).
_CACHE_LIMIT = 20_000


# -- fields ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportField:
    """A field a file column can fill. ``key`` is what mappings store (custom fields: "cf:<key>")."""

    key: str
    label: str | Promise
    required: bool
    help: str | Promise = ""


_CONTACT_FIELDS: tuple[tuple[str, Any, Any], ...] = (
    ("first_name", gettext_lazy("First name"), ""),
    ("last_name", gettext_lazy("Last name"), ""),
    (
        "full_name",
        gettext_lazy("Full name"),
        gettext_lazy("Split into first and last name (“Ana García López”, “Lee, Ann”)."),
    ),
    ("email", gettext_lazy("Email"), ""),
    ("email_2", gettext_lazy("Second email"), ""),
    ("email_3", gettext_lazy("Third email"), ""),
    (
        "emails",
        gettext_lazy("Several emails"),
        gettext_lazy("Separated by ;, as Clientela’s exports write them."),
    ),
    ("phone", gettext_lazy("Phone"), gettext_lazy("Any common format; stored as +4532123456.")),
    ("mobile", gettext_lazy("Mobile phone"), ""),
    ("work_phone", gettext_lazy("Work phone"), ""),
    (
        "phones",
        gettext_lazy("Several phones"),
        gettext_lazy("Separated by ;, as Clientela’s exports write them."),
    ),
    ("job_title", gettext_lazy("Job title"), ""),
    (
        "organization",
        gettext_lazy("Organization"),
        gettext_lazy(
            "The organization’s name: linked to the organization of that name, created when there is none."
        ),
    ),
    ("organization_role", gettext_lazy("Role at the organization"), ""),
    (
        "lifecycle_stage",
        gettext_lazy("Lifecycle stage"),
        gettext_lazy("A stage such as Lead or Customer."),
    ),
    ("source", gettext_lazy("Source"), gettext_lazy("A source such as Website or Referral.")),
    ("street", gettext_lazy("Street"), ""),
    ("city", gettext_lazy("City"), ""),
    ("region", gettext_lazy("Region"), ""),
    ("postal_code", gettext_lazy("Postal code"), ""),
    ("country", gettext_lazy("Country"), gettext_lazy("A country name or a code such as DK.")),
    (
        "preferred_language",
        gettext_lazy("Preferred language"),
        gettext_lazy("A language code such as en, es or da."),
    ),
    ("tags", gettext_lazy("Tags"), gettext_lazy("Separated by ; or ,.")),
    ("owner", gettext_lazy("Owner"), gettext_lazy("The email address of a user.")),
    ("team", gettext_lazy("Team"), gettext_lazy("The team’s name.")),
)
_ORGANIZATION_FIELDS: tuple[tuple[str, Any, Any], ...] = (
    ("name", gettext_lazy("Name"), ""),
    ("website", gettext_lazy("Website"), ""),
    ("industry", gettext_lazy("Industry"), ""),
    (
        "size_band",
        gettext_lazy("Size"),
        gettext_lazy("A size such as 10-49, or the number of employees."),
    ),
    ("phone", gettext_lazy("Phone"), gettext_lazy("Any common format; stored as +4532123456.")),
    ("annual_revenue", gettext_lazy("Annual revenue"), ""),
    ("currency", gettext_lazy("Currency"), gettext_lazy("A code such as EUR or USD.")),
    ("description", gettext_lazy("Description"), ""),
    ("street", gettext_lazy("Street"), ""),
    ("city", gettext_lazy("City"), ""),
    ("region", gettext_lazy("Region"), ""),
    ("postal_code", gettext_lazy("Postal code"), ""),
    ("country", gettext_lazy("Country"), gettext_lazy("A country name or a code such as DK.")),
    ("tags", gettext_lazy("Tags"), gettext_lazy("Separated by ; or ,.")),
    ("owner", gettext_lazy("Owner"), gettext_lazy("The email address of a user.")),
    ("team", gettext_lazy("Team"), gettext_lazy("The team’s name.")),
)


def _record_type_check(record_type: str) -> None:
    if record_type not in ImportRecordType.values:
        raise ValidationError(
            {"record_type": _("Choose contacts or organizations.")}, code="invalid"
        )


def _model_of(record_type: str) -> type[Contact] | type[Organization]:
    return Contact if record_type == ImportRecordType.CONTACTS else Organization


def import_fields(record_type: str) -> list[ImportField]:
    """The fields a column of a ``record_type`` file ("contacts" or "organizations") can fill, in order.

    Custom fields come last, as "cf:<key>". No contact field is required on its own: a contact needs a
    first, a last or a full name, which each row is checked for.
    """
    _record_type_check(record_type)
    rows = _CONTACT_FIELDS if record_type == ImportRecordType.CONTACTS else _ORGANIZATION_FIELDS
    fields = [
        ImportField(key=key, label=label, required=key == "name", help=help_text)
        for key, label, help_text in rows
    ]
    for definition in custom_field_definitions_for(record_type_of(_model_of(record_type))):
        fields.append(
            ImportField(
                key=f"{CUSTOM_FIELD_PREFIX}{definition.key}",
                label=definition.label,
                required=definition.is_required,
                help=definition.help_text,
            )
        )
    return fields


# -- files ---------------------------------------------------------------------------------------


def imports_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def _stored_path(stored_name: str) -> Path:
    if not isinstance(stored_name, str) or not _STORED_NAME.match(stored_name):
        raise ValidationError({"stored_name": _("This upload does not exist.")}, code="invalid")
    path = imports_dir() / stored_name
    if not path.is_file():
        raise ValidationError(
            {"stored_name": _("This upload is no longer there; upload the file again.")},
            code="missing",
        )
    return path


def import_file_store(*, actor: Any, upload: Any) -> str:
    """Keep an uploaded file for importing; returns its stored name (not the person's file name).

    Refuses, before reading anything, files over CLIENTELA_IMPORT_MAX_BYTES (code "too_large") and
    files that are not .csv, .txt, .tsv or .xlsx.
    """
    require_perm(actor, Perm.PARTIES_IMPORT)
    limit = settings.CLIENTELA_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(limit)},
            code="too_large",
        )
    extension = Path(upload.name or "").suffix.lower().lstrip(".")
    if extension == "xls":
        raise ValidationError(
            _("Old Excel files (.xls) cannot be read; save the file as .xlsx or CSV."),
            code="extension",
        )
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationError(
            _("Choose a CSV file (.csv, .txt, .tsv) or an Excel workbook (.xlsx)."),
            code="extension",
        )
    directory = imports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{extension}"
    path = directory / name
    written = 0
    try:
        with path.open("wb") as target:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > limit:
                    raise ValidationError(
                        _("The file is larger than the limit of %(limit)s.")
                        % {"limit": filesizeformat(limit)},
                        code="too_large",
                    )
                target.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name


@dataclass
class _Source:
    """A stored file as the readers see it."""

    path: Path
    file_format: str
    encoding: str
    delimiter: str
    size: int
    # The decoded first SAMPLE_BYTES (CSV only), and whether that is the whole file.
    sample: str = ""
    sample_bytes: int = 0
    is_whole: bool = False


def _encoding_check(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValidationError(
            {"encoding": _("Unknown encoding “%(encoding)s”.") % {"encoding": encoding}},
            code="encoding",
        ) from None


def _source_open(stored_name: str, encoding: str = "auto") -> _Source:
    """Recognize a stored file: XLSX or text, its encoding and its delimiter. ValidationError when it
    is empty or not something Clientela can read."""
    path = _stored_path(stored_name)
    size = path.stat().st_size
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    with path.open("rb") as file:
        sample = file.read(SAMPLE_BYTES)
    if sample.startswith(b"PK\x03\x04"):
        return _Source(path=path, file_format="xlsx", encoding="", delimiter="", size=size)
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            _("Old Excel files (.xls) cannot be read; save the file as .xlsx or CSV."),
            code="not_text",
        )
    if path.suffix == ".xlsx":
        raise ValidationError(
            _("This file could not be read as an Excel workbook (.xlsx)."), code="unreadable"
        )
    encoding = (encoding or "auto").strip().lower()
    if encoding == "auto":
        if sample.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            encoding = "utf-8"
    else:
        encoding = _encoding_check(encoding)
    if not encoding.startswith("utf-16") and b"\x00" in sample:
        raise ValidationError(
            _("This is not a text file. Choose a CSV file, or an Excel workbook saved as .xlsx."),
            code="not_text",
        )
    is_whole = size <= SAMPLE_BYTES
    try:
        text = sample.decode(encoding, errors="replace")
    except UnicodeError:
        raise ValidationError(
            _("The file could not be read as %(encoding)s text.") % {"encoding": encoding},
            code="encoding",
        ) from None
    if not is_whole:
        # The sample ends in the middle of a line: leave that line out.
        text = text[: max(text.rfind("\n"), 0)]
    default = "\t" if path.suffix == ".tsv" else ","
    return _Source(
        path=path,
        file_format="csv",
        encoding=encoding,
        delimiter=_delimiter_sniff(text, default),
        size=size,
        sample=text,
        sample_bytes=len(sample),
        is_whole=is_whole,
    )


def _delimiter_sniff(text: str, default: str) -> str:
    """The delimiter among , ; TAB | that splits the first lines into the same number (> 1) of cells."""
    best: tuple[Any, ...] = (False, 0.0, 0)
    chosen = default
    for delimiter in (default, *[d for d in DELIMITERS if d != default]):
        try:
            rows = [
                row
                for row in csv.reader(io.StringIO(text[:SAMPLE_BYTES]), delimiter=delimiter)
                if any(row)
            ][:50]
        except csv.Error:
            continue
        if not rows:
            continue
        counts = Counter(len(row) for row in rows)
        width, frequency = counts.most_common(1)[0]
        score = (width > 1, frequency / len(rows), width)
        if score > best:
            best, chosen = score, delimiter
    return chosen


class _Unreadable:
    """A record the CSV reader could not read (its reason)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _records(source: _Source) -> Generator[tuple[int, list[str] | _Unreadable]]:
    """(row number, cells) of every record of the file, the header first (row 1), one at a time.

    A generator over a streaming reader: memory does not grow with the file. CSV cells that were not
    valid in the file's encoding keep their bytes as surrogates (``_SURROGATES``), so that the row that
    holds them fails alone.
    """
    if source.file_format == "xlsx":
        yield from _xlsx_records(source)
    else:
        yield from _csv_records(source)


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (for the progress estimate)."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        read = self.file.readinto(buffer)
        self.count += read or 0
        return read


def _csv_records(
    source: _Source, counter: list[_CountingReader] | None = None
) -> Generator[tuple[int, list[str] | _Unreadable]]:
    with source.path.open("rb", buffering=0) as raw_file:
        counting = _CountingReader(raw_file)
        if counter is not None:
            counter.append(counting)
        buffered = io.BufferedReader(counting, buffer_size=256 * 1024)
        text = io.TextIOWrapper(
            buffered, encoding=source.encoding, errors="surrogateescape", newline=""
        )
        reader = csv.reader(text, delimiter=source.delimiter)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                number += 1
                yield number, _Unreadable(str(error))
                continue
            number += 1
            yield number, cells


def _cell_text(value: Any) -> str:
    """An XLSX cell as text: whole numbers without ".0", dates in ISO format."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _xlsx_open(path: Path) -> Any:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError):
        raise ValidationError(
            _("This file could not be read as an Excel workbook (.xlsx)."), code="unreadable"
        ) from None


def _xlsx_records(source: _Source) -> Generator[tuple[int, list[str] | _Unreadable]]:
    workbook = _xlsx_open(source.path)
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # Read-only sheets report the rows they hold in order; gaps (rows with nothing) are filled so
        # that row numbers stay those the spreadsheet shows.
        number = 0
        try:
            for row in sheet.iter_rows():
                cells = [_cell_text(cell.value) for cell in row if hasattr(cell, "value")]
                row_index = next((cell.row for cell in row if getattr(cell, "row", None)), None)
                while row_index is not None and number + 1 < row_index:
                    number += 1
                    yield number, []
                number += 1
                yield number, cells
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
            raise ValidationError(
                _("This file could not be read as an Excel workbook (.xlsx)."),
                code="unreadable",
            ) from error
    finally:
        workbook.close()


def _xlsx_dimension_rows(path: Path) -> int | None:
    workbook = _xlsx_open(path)
    try:
        if not workbook.worksheets:
            return None
        return workbook.worksheets[0].max_row
    finally:
        workbook.close()


def _visible(text: str) -> str:
    """Text with undecodable bytes shown as the replacement character."""
    return _SURROGATES.sub("\ufffd", text) if not text.isascii() else text


def _header_clean(cells: list[str] | _Unreadable) -> list[str]:
    """The column names of the first row, or ValidationError (blank or repeated names)."""
    if isinstance(cells, _Unreadable):
        raise ValidationError(
            _("The first row could not be read: %(reason)s") % {"reason": cells.reason},
            code="header",
        )
    names = [cell.strip() for cell in cells]
    if names:
        names[0] = names[0].lstrip("\ufeff").strip()
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ValidationError(_("The file is empty."), code="empty")
    if any(_SURROGATES.search(name) for name in names if not name.isascii()):
        raise ValidationError(
            _(
                "The first row is not valid UTF-8 text; save the file as UTF-8 or choose its encoding."
            ),
            code="encoding",
        )
    errors = []
    seen: set[str] = set()
    for index, name in enumerate(names, start=1):
        if not name:
            errors.append(
                _("Column %(number)d has no name in the first row; name every column.")
                % {"number": index}
            )
        elif name in seen:
            errors.append(
                _(
                    "The column “%(name)s” appears twice in the first row; give each column its own name."
                )
                % {"name": name}
            )
        seen.add(name)
    if errors:
        raise ValidationError(errors, code="header")
    return names


@dataclass
class ImportPreview:
    """What a stored file looks like: its format, encoding, delimiter, header and first rows."""

    file_format: str
    encoding: str
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    row_count_estimate: int | None


def import_preview(*, stored_name: str, encoding: str = "auto") -> ImportPreview:
    """The header and the first five data rows of a stored file, and about how many rows it has.

    ValidationError with a message a person can act on when the file is empty, has a header but no
    rows, has blank or repeated column names, is an unreadable workbook or is not a text file.
    """
    source = _source_open(stored_name, encoding)
    records = _records(source)
    try:
        header = None
        rows: list[list[str]] = []
        for _number, cells in records:
            if header is None:
                if isinstance(cells, list) and not any(cells):
                    continue
                header = _header_clean(cells)
                continue
            if isinstance(cells, _Unreadable) or not any(cells):
                continue
            shown = [_visible(cell) for cell in cells]
            while len(shown) > len(header) and not shown[-1]:
                shown.pop()
            shown += [""] * (len(header) - len(shown))
            rows.append(shown)
            if len(rows) == PREVIEW_ROWS:
                break
    finally:
        records.close()
    if header is None:
        raise ValidationError(_("The file is empty."), code="empty")
    if not rows:
        raise ValidationError(_("The file has a header but no rows."), code="header_only")
    return ImportPreview(
        file_format=source.file_format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        header=header,
        rows=rows,
        row_count_estimate=_row_count_estimate(source),
    )


def _row_count_estimate(source: _Source) -> int | None:
    if source.file_format == "xlsx":
        rows = _xlsx_dimension_rows(source.path)
        return max(rows - 1, 0) if rows else None
    records = list(csv.reader(io.StringIO(source.sample), delimiter=source.delimiter))
    data_rows = sum(1 for row in records[1:] if any(row))
    if source.is_whole:
        return data_rows
    if not data_rows:
        return None
    return round(data_rows * source.size / source.sample_bytes)


# -- mappings ----------------------------------------------------------------------------------


@cache
def _label_index(record_type: str, languages: tuple[str, ...]) -> dict[str, str]:
    """{header_key(label): field} for the built-in fields' labels in every interface language."""
    rows = _CONTACT_FIELDS if record_type == ImportRecordType.CONTACTS else _ORGANIZATION_FIELDS
    index: dict[str, str] = {}
    for language in languages:
        with translation.override(language):
            for key, label, _help in rows:
                index.setdefault(header_key(str(label)), key)
    return index


def _guess_index(record_type: str) -> dict[str, str]:
    index = dict(synonym_index(record_type))
    languages = tuple(code for code, _name in settings.LANGUAGES)
    for name, key in _label_index(record_type, languages).items():
        index.setdefault(name, key)
    for definition in custom_field_definitions_for(record_type_of(_model_of(record_type))):
        key = f"{CUSTOM_FIELD_PREFIX}{definition.key}"
        for name in (key, definition.key, definition.label):
            index.setdefault(header_key(name), key)
    return index


def _guess_one(name: str, index: dict[str, str]) -> str:
    key = header_key(name)
    if key in index:
        return index[key]
    for prefix in HEADER_PREFIXES:
        if key.startswith(prefix) and key[len(prefix) :] in index:
            return index[key[len(prefix) :]]
    return ""


def import_mapping_guess(
    record_type: str, header: list[str], saved: ImportMapping | None = None
) -> dict[str, str]:
    """{header: field key, or "" for a column not to import} for every column, in the file's order.

    A saved mapping decides for the columns it names; the others are recognized by their names
    (those of HubSpot, Salesforce, Pipedrive, Google Contacts and Outlook exports, and common English,
    Spanish, Danish and Hindi headers), ignoring case, accents and punctuation. No field is given to two
    columns, except tags.
    """
    fields = {item.key for item in import_fields(record_type)}
    index = _guess_index(record_type)
    chosen: dict[str, str] = {}
    used: set[str] = set()
    saved_columns = (
        saved.columns
        if saved is not None
        and saved.record_type == record_type
        and isinstance(saved.columns, dict)
        else {}
    )
    for name in header:
        if name in saved_columns:
            key = saved_columns[name] or ""
            if key and (key not in fields or (key in used and key not in MULTI_VALUED_FIELDS)):
                key = ""
            chosen[name] = key
            if key:
                used.add(key)
    for name in header:
        if name in chosen:
            continue
        key = _guess_one(name, index)
        if key in EMAIL_FIELDS and key in used:
            key = next((slot for slot in EMAIL_FIELDS if slot not in used), "")
        if key and (key not in fields or (key in used and key not in MULTI_VALUED_FIELDS)):
            key = ""
        chosen[name] = key
        if key:
            used.add(key)
    return {name: chosen[name] for name in header}


def import_mapping_validate(
    record_type: str, mapping: dict[str, str], header: list[str]
) -> dict[str, str]:
    """The mapping, checked against the file's header: {header: field key} for the imported columns,
    in the file's order.

    ValidationError, keyed by column name (or "mapping"), for unknown fields, columns the file does not
    have, a field chosen for two columns, or no column for the name.
    """
    _record_type_check(record_type)
    if not isinstance(mapping, dict):
        raise ValidationError(
            {"mapping": _("The mapping must name a field for each column.")}, code="invalid"
        )
    fields = {item.key: item for item in import_fields(record_type)}
    columns = set(header)
    errors: dict[str, list[str]] = {}
    taken: dict[str, str] = {}
    for name, key in mapping.items():
        if not key:
            continue
        if not isinstance(key, str) or key not in fields:
            errors.setdefault(str(name), []).append(
                _("There is no field “%(field)s”.") % {"field": key}
            )
        elif name not in columns:
            errors.setdefault("mapping", []).append(
                _("The file has no column “%(column)s”.") % {"column": name}
            )
        elif key in taken and key not in MULTI_VALUED_FIELDS:
            errors.setdefault(str(name), []).append(
                _("%(field)s is already chosen for the column “%(column)s”.")
                % {"field": fields[key].label, "column": taken[key]}
            )
        else:
            taken[key] = name
    if not errors:
        if record_type == ImportRecordType.CONTACTS:
            if not {"first_name", "last_name", "full_name"} & set(taken):
                errors["mapping"] = [
                    _("Choose the column that holds the name (first, last or full name).")
                ]
        elif "name" not in taken:
            errors["mapping"] = [_("Choose the column that holds the organization’s name.")]
    if errors:
        raise ValidationError(errors, code="mapping")
    return {name: mapping[name] for name in header if mapping.get(name)}


@transaction.atomic
def import_mapping_save(
    *, actor: Any, record_type: str, name: str, columns: dict[str, str]
) -> ImportMapping:
    """Save a mapping for next time under ``name``; a mapping of the same name (any case) is replaced."""
    require_perm(actor, Perm.PARTIES_IMPORT)
    _record_type_check(record_type)
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the mapping a name.")}, code="required")
    if len(name) > 100:
        raise ValidationError(
            {"name": _("A mapping name has at most 100 characters.")}, code="max_length"
        )
    fields = {item.key for item in import_fields(record_type)}
    if not isinstance(columns, dict) or any(
        not isinstance(key, str) or (value and value not in fields)
        for key, value in columns.items()
    ):
        raise ValidationError({"columns": _("The mapping names unknown fields.")}, code="invalid")
    cleaned = {str(key): value or "" for key, value in columns.items()}
    existing = (
        ImportMapping.objects.select_for_update()
        .filter(record_type=record_type, name__iexact=name)
        .first()
    )
    if existing is None:
        return ImportMapping.objects.create(
            record_type=record_type, name=name, columns=cleaned, created_by=actor
        )
    existing.name = name
    existing.columns = cleaned
    existing.updated_at = timezone.now()
    existing.save(update_fields=["name", "columns", "updated_at"])
    return existing


def import_mappings_for(actor: Any, record_type: str) -> QuerySet[ImportMapping]:
    """The saved mappings of ``record_type`` (shared by everyone who may import), by name."""
    if not has_perm(actor, Perm.PARTIES_IMPORT):
        return ImportMapping.objects.none()
    return ImportMapping.objects.filter(record_type=record_type)


# -- vocabularies: countries, choices, languages -------------------------------------------------


@cache
def _country_index() -> dict[str, str]:
    """{header_key(name or code): ISO code} for codes and country names in English, Spanish, Danish
    and Hindi (CLDR), and common aliases ("USA", "UK", "Deutschland", "DNK")."""
    from babel import Locale

    from clientela.core.locale import country_codes

    codes = country_codes()
    index: dict[str, str] = {}
    for code in codes:
        index[code.lower()] = code
    for locale in ("en_US", "en_GB", "es_ES", "da_DK", "hi_IN"):
        for code, name in Locale.parse(locale).territories.items():
            if code in codes:
                index.setdefault(header_key(name), code)
    for alias, code in COUNTRY_ALIASES.items():
        index.setdefault(header_key(alias), code)
    return index


def _choice_index(choices: type[models.TextChoices], aliases: dict[str, str]) -> dict[str, str]:
    """{header_key(value or label in any interface language or alias): value}."""
    index: dict[str, str] = {}
    for value in choices.values:
        index[header_key(value)] = value
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for value, label in choices.choices:
                index.setdefault(header_key(str(label)), value)
    for alias, value in aliases.items():
        index.setdefault(header_key(alias), value)
    return index


@cache
def _choice_indexes() -> dict[str, dict[str, str]]:
    return {
        "lifecycle_stage": _choice_index(LifecycleStage, LIFECYCLE_STAGE_ALIASES),
        "source": _choice_index(ContactSource, SOURCE_ALIASES),
        "industry": _choice_index(Industry, {}),
        "size_band": _choice_index(SizeBand, {}),
    }


_LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


@cache
def _language_index() -> dict[str, str]:
    from babel import Locale

    index: dict[str, str] = {}
    for locale in ("en_US", "es_ES", "da_DK", "hi_IN"):
        for code, name in Locale.parse(locale).languages.items():
            if "_" not in code:
                index.setdefault(header_key(name), code)
    for code in ("en", "es", "da", "hi", "de", "fr", "sv", "nb", "fi", "it", "nl", "pt"):
        index.setdefault(header_key(Locale.parse(code).display_name or code), code)
    return index


def _size_band_for(employees: int) -> str:
    for band, low in (
        (SizeBand.ENTERPRISE, 1000),
        (SizeBand.LARGE, 250),
        (SizeBand.MEDIUM, 50),
        (SizeBand.SMALL, 10),
    ):
        if employees >= low:
            return str(band)
    return str(SizeBand.MICRO)


# -- phone numbers, emails and names, fast ------------------------------------------------------


class _PhoneCache:
    """``phone_to_e164`` with memory: (raw, region) → (E.164, "") or ("", the error message).

    Numbers are first read by ``_FastPhones``, which gives ``phone_to_e164``'s answer for the common
    formats at a fraction of the cost, and says when it cannot; those go to ``phone_to_e164`` itself.
    """

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], tuple[str, str]] = {}
        self.fast = _FastPhones()

    def normalize(self, raw: str, region: str) -> tuple[str, str]:
        key = (raw, region)
        found = self.cache.get(key)
        if found is not None:
            return found
        if len(self.cache) > _CACHE_LIMIT:
            self.cache.clear()
        number = self.fast.e164(raw, region)
        if number is not None:
            result = (number, "")
        else:
            try:
                result = (phone_to_e164(raw, region), "")
            except ValidationError as error:
                result = ("", error.messages[0])
        self.cache[key] = result
        return result


_PHONE_PUNCTUATION = re.compile("[ ().\u00a0/-]")
_PLUS_DIGITS = re.compile(r"\+?[0-9]{3,}")


class _Plan:
    """One region's phone number metadata, with its patterns compiled once."""

    __slots__ = (
        "country_code",
        "general",
        "idd",
        "leading",
        "local_lengths",
        "possible_lengths",
        "prefix",
        "region",
        "transform",
        "types",
        "unions",
    )

    def __init__(self, region: str, metadata: Any) -> None:
        self.region = region
        self.unions: dict[int, Any] = {}
        self.country_code = metadata.country_code
        self.general = self._desc(metadata.general_desc)
        self.types = [
            self._desc(getattr(metadata, name))
            for name in (
                "premium_rate",
                "toll_free",
                "shared_cost",
                "voip",
                "personal_number",
                "pager",
                "uan",
                "voicemail",
                "fixed_line",
            )
        ]
        if not metadata.same_mobile_and_fixed_line_pattern:
            self.types.append(self._desc(metadata.mobile))
        self.idd = (
            re.compile(metadata.international_prefix) if metadata.international_prefix else None
        )
        prefix = metadata.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None
        self.transform = bool(metadata.national_prefix_transform_rule)
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        general = metadata.general_desc
        self.possible_lengths = tuple(general.possible_length) if general else ()
        self.local_lengths = tuple(general.possible_length_local_only or ()) if general else ()

    @staticmethod
    def _desc(desc: Any) -> tuple[tuple[int, ...], Any]:
        if desc is None or not desc.national_number_pattern:
            return ((), None)
        return (tuple(desc.possible_length or ()), re.compile(desc.national_number_pattern))

    @staticmethod
    def matches(desc: tuple[tuple[int, ...], Any], national: str) -> bool:
        """phonenumbers' ``_is_number_matching_desc``."""
        lengths, pattern = desc
        if pattern is None or (lengths and len(national) not in lengths):
            return False
        return pattern.fullmatch(national) is not None

    def pattern_matches(self, national: str) -> bool:
        """phonenumbers' ``_match_national_number`` on the general description (no length check)."""
        pattern = self.general[1]
        return pattern is not None and pattern.fullmatch(national) is not None

    def has_type(self, national: str) -> bool:
        """phonenumbers' ``_number_type_helper(...) != UNKNOWN``: the general description and one of
        the types match. The types that allow the number's length are tried as one alternation."""
        if not self.matches(self.general, national):
            return False
        size = len(national)
        try:
            union = self.unions[size]
        except KeyError:
            patterns = [
                f"(?:{pattern.pattern})"
                for lengths, pattern in self.types
                if pattern is not None and (not lengths or size in lengths)
            ]
            union = self.unions[size] = re.compile("|".join(patterns)) if patterns else None
        return union is not None and union.fullmatch(national) is not None

    def is_strippable_length(self, national: str) -> bool:
        """phonenumbers' ``_test_number_length`` is not TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY or
        INVALID_LENGTH."""
        size = len(national)
        lengths = self.possible_lengths
        if size in self.local_lengths or not lengths:
            return False
        if lengths[0] == size:
            return True
        if lengths[0] > size:
            return False
        if lengths[-1] < size:
            return True
        return size in lengths[1:]


class _FastPhones:
    """``core.phones.phone_to_e164`` for numbers written with digits, spaces, ``-().`` and ``/`` and an
    optional leading ``+`` (what files hold), without ``phonenumbers.parse``.

    It follows ``parse`` and ``is_valid_number`` step by step (international prefix, country code,
    national prefix, lengths, the region of a shared country code, the number types) on the library's
    own metadata, with the patterns compiled once. Wherever ``parse`` would take a path not reproduced
    here (letters, extensions, a national prefix with a transform rule, a national number starting with
    its own country code), and for every invalid number (whose message ``phone_to_e164`` words), it
    answers None and the caller asks ``phone_to_e164``. A test compares the two on numbers of every
    region in several formats.
    """

    def __init__(self) -> None:
        self.plans: dict[Any, _Plan | None] = {}

    def _plan(self, region: str, country_code: int | None = None) -> _Plan | None:
        key = country_code if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY else region
        if key not in self.plans:
            if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
                metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(
                    country_code or 0, None
                )
            else:
                metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
            self.plans[key] = _Plan(region, metadata) if metadata is not None else None
        return self.plans[key]

    def e164(self, raw: str, region: str) -> str | None:
        compact = _PHONE_PUNCTUATION.sub("", raw)
        if _PLUS_DIGITS.fullmatch(compact) is None:
            return None
        candidates = [compact]
        if raw.startswith("00"):
            candidates.append("+" + compact[2:])
        for candidate in candidates:
            verdict = self._parse(candidate, region)
            if verdict is None or isinstance(verdict, str):
                return verdict
        return None

    def _parse(self, candidate: str, region: str) -> str | bool | None:
        """E.164 when valid, False when parsed but not valid, None when not sure."""
        plan = self._plan(region)
        if plan is None:
            return None
        extracted = False
        rest = candidate
        if candidate[0] == "+":
            rest = candidate[1:]
            extracted = True
        elif plan.idd is not None:
            match = plan.idd.match(candidate)
            if match is not None:
                after = candidate[match.end() :]
                if not after.startswith("0"):
                    rest = after
                    extracted = True
        if extracted:
            if len(rest) <= 2 or rest[0] == "0":
                return None
            for size in (1, 2, 3):
                if int(rest[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                    break
            else:
                return None
            country_code = int(rest[:size])
            national = rest[size:]
            main_region = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code][0]
            if main_region != region:
                plan = self._plan(main_region, country_code)
                if plan is None:
                    return None
        else:
            country_code = plan.country_code
            if candidate.startswith(str(country_code)):
                return None
            national = candidate
        if len(national) < 2:
            return None
        if plan.prefix is not None:
            match = plan.prefix.match(national)
            if match is not None:
                if plan.transform:
                    return None
                stripped = national[match.end() :]
                if not (
                    plan.pattern_matches(national) and not plan.pattern_matches(stripped)
                ) and plan.is_strippable_length(stripped):
                    national = stripped
        if not 2 <= len(national) <= 17:
            return None
        if self._is_valid(country_code, national):
            return f"+{country_code}{national}"
        return False

    def _is_valid(self, country_code: int, national: str) -> bool:
        """``phonenumbers.is_valid_number`` for this country code and national significant number."""
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
        if not regions:
            return False
        region = None
        if len(regions) == 1:
            region = regions[0]
        else:
            for candidate in regions:
                plan = self._plan(candidate, country_code)
                if plan is None:
                    continue
                if plan.leading is not None:
                    if plan.leading.match(national):
                        region = candidate
                        break
                elif plan.has_type(national):
                    region = candidate
                    break
        if region is None:
            return False
        plan = self._plan(region, country_code)
        if plan is None or (
            region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
            and plan.country_code != country_code
        ):
            return False
        return plan.has_type(national)


# A strict subset of what Django's validate_email accepts: plain addresses pass here without the full
# validator; anything else gets the full validator, so the verdict is always Django's.
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def _parts(value: str) -> list[str]:
    """The values of a cell holding several, separated by ";" (empty ones left out)."""
    return [part.strip() for part in value.split(";") if part.strip()]


def _email_clean(value: str) -> str | None:
    """The address with a lower-case domain, or None when Django's validator refuses it."""
    if len(value) > 254:
        return None
    if _PLAIN_EMAIL.match(value) is None:
        try:
            validate_email(value)
        except ValidationError:
            return None
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


_NORMALIZED: dict[str, str] = {}


def _normalize(text: str) -> str:
    """``search_normalize(text)``: the same result, with a shortcut for ASCII text and a memory of the
    others (names repeat)."""
    if text.isascii():
        return " ".join(text.lower().split())
    found = _NORMALIZED.get(text)
    if found is None:
        if len(_NORMALIZED) > _CACHE_LIMIT:
            _NORMALIZED.clear()
        found = _NORMALIZED[text] = search_normalize(text)
    return found


def _document(parts: list[str]) -> str:
    """``search_document(*parts)``. Normalizing works character by character and collapses spaces, so
    normalizing each part and joining the non-empty results with a space gives the same text."""
    text = " ".join(part for part in parts if part)
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(normalized for part in parts if part and (normalized := _normalize(part)))


def _phone_digits(e164: str) -> str:
    """``search_phone_digits``: an E.164 number without its "+"."""
    digits = e164[1:]
    return digits if e164[:1] == "+" and digits.isdigit() else search_phone_digits(e164)


def _contact_search_text(
    first_name: str,
    last_name: str,
    emails: Iterable[str],
    phones: Iterable[str],
    organization_names: Iterable[str],
) -> str:
    """``parties.search.contact_search_text`` (the same text), faster (``_document``)."""
    return _document(
        [
            first_name,
            last_name,
            *emails,
            *[_phone_digits(phone) for phone in phones],
            *organization_names,
        ]
    )


def _organization_search_text(name: str, domain: str, phone: str) -> str:
    return _document([name, domain, _phone_digits(phone)])


def _name_split(full_name: str) -> tuple[str, str]:
    """ "Ann Lee" → ("Ann", "Lee"); "Ana García López" → ("Ana", "García López"); "Lee, Ann" →
    ("Ann", "Lee"); a single word is a first name."""
    if "," in full_name:
        last, _comma, first = full_name.partition(",")
        return " ".join(first.split()), " ".join(last.split())
    parts = full_name.split()
    if len(parts) == 1:
        return parts[0], ""
    return parts[0], " ".join(parts[1:])


def _domain_of(website: str) -> str:
    from clientela.parties.services import _domain_of as services_domain_of

    return services_domain_of(website)


def _key(text: str) -> str:
    """How names compare when matching: case-insensitive, spaces collapsed."""
    return " ".join(text.casefold().split())


# -- rows ----------------------------------------------------------------------------------------

# Kinds of column, by what their cells need.
(
    K_TEXT,
    K_FULL_NAME,
    K_EMAIL,
    K_PHONE,
    K_COUNTRY,
    K_CHOICE,
    K_LANGUAGE,
    K_TAGS,
    K_OWNER,
    K_TEAM,
    K_ORGANIZATION,
    K_WEBSITE,
    K_REVENUE,
    K_CURRENCY,
    K_SIZE,
    K_CUSTOM,
) = range(16)

_CONTACT_KINDS: dict[str, tuple[int, Any]] = {
    "first_name": (K_TEXT, None),
    "last_name": (K_TEXT, None),
    "full_name": (K_FULL_NAME, None),
    "email": (K_EMAIL, EmailKind.WORK),
    "email_2": (K_EMAIL, EmailKind.PERSONAL),
    "email_3": (K_EMAIL, EmailKind.OTHER),
    "emails": (K_EMAIL, EmailKind.WORK),
    "phone": (K_PHONE, PhoneKind.MOBILE),
    "mobile": (K_PHONE, PhoneKind.MOBILE),
    "work_phone": (K_PHONE, PhoneKind.WORK),
    "phones": (K_PHONE, PhoneKind.MOBILE),
    "job_title": (K_TEXT, None),
    "organization": (K_ORGANIZATION, None),
    "organization_role": (K_TEXT, None),
    "lifecycle_stage": (K_CHOICE, None),
    "source": (K_CHOICE, None),
    "street": (K_TEXT, None),
    "city": (K_TEXT, None),
    "region": (K_TEXT, None),
    "postal_code": (K_TEXT, None),
    "country": (K_COUNTRY, None),
    "preferred_language": (K_LANGUAGE, None),
    "tags": (K_TAGS, None),
    "owner": (K_OWNER, None),
    "team": (K_TEAM, None),
}
_ORGANIZATION_KINDS: dict[str, tuple[int, Any]] = {
    "name": (K_TEXT, None),
    "website": (K_WEBSITE, None),
    "industry": (K_CHOICE, None),
    "size_band": (K_SIZE, None),
    "phone": (K_PHONE, None),
    "annual_revenue": (K_REVENUE, None),
    "currency": (K_CURRENCY, None),
    "description": (K_TEXT, None),
    "street": (K_TEXT, None),
    "city": (K_TEXT, None),
    "region": (K_TEXT, None),
    "postal_code": (K_TEXT, None),
    "country": (K_COUNTRY, None),
    "tags": (K_TAGS, None),
    "owner": (K_OWNER, None),
    "team": (K_TEAM, None),
}
# Maximum lengths of the fields that are not model fields of the same name.
_EXTRA_LIMITS = {"organization": 200, "organization_role": 150, "full_name": 201}
# Fields a cell may start with "+" (phones) or "+"/"-" (numbers) in.
_SIGN_ALLOWED = {K_PHONE: "+", K_REVENUE: "+-"}

CONTACT_SCALARS = (
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
)
ORGANIZATION_SCALARS = (
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
)


class _Row:
    """One data row after checking: its values, or the reasons it fails."""

    __slots__ = (
        "cells",
        "custom",
        "emails",
        "errors",
        "name_key",
        "number",
        "organization",
        "organization_key",
        "outcome",
        "owner_given",
        "ownership",
        "phones",
        "record_id",
        "role",
        "tags",
        "team_given",
        "values",
    )

    def __init__(self, number: int) -> None:
        self.number = number
        self.cells: list[str] = []
        self.errors: list[tuple[int, str, str, str]] = []
        self.values: dict[str, Any] = {}
        # (value, kind, column index) in column order.
        self.emails: list[tuple[str, str, int]] = []
        self.phones: list[tuple[str, str, int]] = []
        self.tags: list[str] = []
        self.organization = ""
        self.organization_key = ""
        self.role = ""
        self.ownership: tuple[Any, Any] | None = None
        self.owner_given = False
        self.team_given = False
        self.custom: dict[str, Any] = {}
        self.outcome = ""
        self.record_id: int | None = None
        self.name_key = ""

    def fail(self, index: int, column: str, value: str, message: str) -> None:
        self.errors.append((index, column, value, message))


@dataclass
class _Column:
    index: int
    header: str
    field: str
    kind: int
    extra: Any
    limit: int


# -- the registry of keys seen earlier in the file --------------------------------------------------


class _SeenKeys:
    """Emails, phone numbers and names of the rows already imported from this file, for telling which
    later rows repeat them.

    Kept in a scratch SQLite file rather than in memory, so that memory does not grow with the file.
    Each key remembers its first row and whether that row had an email (contacts) or a website
    (organizations): a phone or a name only makes a row a duplicate when one of the two rows has none.
    """

    def __init__(self) -> None:
        directory = imports_dir() / "scratch"
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="keys-", suffix=".sqlite3", dir=directory)
        os.close(handle)
        self.path = Path(name)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-16000")
        # Keys are 64-bit hashes of the values (a collision among millions is about 1 in 10^7):
        # integer keys make the smallest and fastest B-tree.
        self.db.execute("CREATE TABLE seen (key INTEGER PRIMARY KEY, row INTEGER, strong INTEGER)")

    def lookup(self, keys: Iterable[int]) -> dict[int, tuple[int, int]]:
        wanted = list(set(keys))
        found: dict[int, tuple[int, int]] = {}
        for start in range(0, len(wanted), _IN_SIZES[-1]):
            chunk = wanted[start : start + _IN_SIZES[-1]]
            size = next(size for size in _IN_SIZES if size >= len(chunk))
            chunk += [chunk[-1]] * (size - len(chunk))
            placeholders = ",".join("?" * size)
            for key, row, strong in self.db.execute(
                f"SELECT key, row, strong FROM seen WHERE key IN ({placeholders})",  # noqa: S608
                chunk,
            ):
                found[key] = (row, strong)
        return found

    def add(self, items: Iterable[tuple[int, int, int]]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", items)
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)


# -- writing many rows at once ---------------------------------------------------------------------


class _Writer:
    """Bulk inserts and updates with plain tuples: executemany on SQLite, COPY on PostgreSQL.

    Ids of new records are taken up front (the sequence on PostgreSQL; on SQLite, above the table's
    AUTOINCREMENT counter, under the write lock the batch's transaction holds), so that child rows can
    point at them without reading anything back.
    """

    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.triggered: set[str] | None = None

    def now(self) -> Any:
        return connection.ops.adapt_datetimefield_value(timezone.now())

    def json(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def ids(self, model: type[models.Model], count: int) -> list[int]:
        if not count:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            sequence = "SELECT seq FROM sqlite_sequence WHERE name = %s"
            query = f'SELECT MAX(COALESCE(({sequence}), 0), COALESCE((SELECT MAX(id) FROM "{table}"), 0))'  # noqa: S608
            cursor.execute(query, [table])
            base = cursor.fetchone()[0]
        return list(range(base + 1, base + count + 1))

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{column}"' for column in columns)
        if self.vendor == "postgresql":
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        self._sqlite_write(table, columns, rows, None)

    def update(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """UPDATE ``columns`` of rows given as (values..., id)."""
        if not rows:
            return
        if self.vendor == "postgresql":
            assignments = ", ".join(f'"{column}" = %s' for column in columns)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f'UPDATE "{table}" SET {assignments} WHERE "id" = %s',  # noqa: S608
                    rows,
                )
            return
        self._sqlite_write(table, [*columns, "id"], rows, columns)

    def _sqlite_write(
        self,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        update: Sequence[str] | None,
    ) -> None:
        """Insert (or, with ``update``, update those columns of) rows on SQLite.

        A table with full-text triggers gets all the batch's rows in one statement (INSERT ... SELECT
        or UPDATE ... FROM a temporary table filled by executemany): one statement per row would make
        FTS5 flush its index at every row. Statements keep the same text from batch to batch, so that
        SQLite's statement cache does not fill up with huge one-off statements.
        """
        connection.ensure_connection()
        raw = connection.connection
        names = ", ".join(f'"{column}"' for column in columns)
        placeholders = ", ".join(["?"] * len(columns))
        if table not in self._triggered_tables(raw):
            raw.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({placeholders})',  # noqa: S608
                rows,
            )
            return
        stage = f"import_{'update' if update else 'insert'}_{table}"
        raw.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ({names})')
        raw.execute(f'DELETE FROM temp."{stage}"')  # noqa: S608
        raw.executemany(f'INSERT INTO temp."{stage}" VALUES ({placeholders})', rows)  # noqa: S608
        if update is None:
            raw.execute(
                f'INSERT INTO "{table}" ({names}) SELECT {names} FROM temp."{stage}"'  # noqa: S608
            )
        else:
            assignments = ", ".join(f'"{column}" = s."{column}"' for column in update)
            raw.execute(
                f'UPDATE "{table}" SET {assignments} FROM temp."{stage}" s '  # noqa: S608
                f'WHERE "{table}"."id" = s."id"'
            )
        raw.execute(f'DELETE FROM temp."{stage}"')  # noqa: S608

    def _triggered_tables(self, raw: Any) -> set[str]:
        if self.triggered is None:
            self.triggered = {
                name
                for (name,) in raw.execute(
                    "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'"
                )
            }
        return self.triggered


def _columns(model: type[models.Model], names: Sequence[str]) -> list[str]:
    return [str(getattr(model._meta.get_field(name), "column", name)) for name in names]


# -- the engine ----------------------------------------------------------------------------------


class _Stop(Exception):
    """The job was cancelled, or another run took it over: stop without writing this batch."""


@dataclass
class _BatchResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    # Organizations created for contacts' organization column.
    organizations: list[int] = field(default_factory=list)


class _ImportRun:
    """One run of one job: reads the file from ``job.next_row`` and imports it batch by batch."""

    def __init__(self, job: ImportJob, progress: Callable[[ImportJob], None] | None) -> None:
        self.job = job
        self.actor = job.created_by
        self.progress = progress
        self.record_type = job.record_type
        self.is_contacts = job.record_type == ImportRecordType.CONTACTS
        self.model: type[Contact] | type[Organization] = _model_of(job.record_type)
        self.events = ContactEvent if self.is_contacts else OrganizationEvent
        self.is_dry_run = job.is_dry_run
        self.on_match = job.on_match
        self.options = job.options if isinstance(job.options, dict) else {}
        self.batch_size = max(int(settings.CLIENTELA_IMPORT_BATCH_SIZE), 1)
        self.writer = _Writer()
        self.phones = _PhoneCache()
        self.countries = _country_index()
        # Copies: the raw values seen are added to them as they are recognized.
        self.choices = {name: dict(index) for name, index in _choice_indexes().items()}
        self.country_cache: dict[str, str] = {}
        self.currencies = currency_codes()
        self.default_country = str(self.options.get("country") or "").upper()
        self.default_region = (
            self.default_country or settings.CLIENTELA_DEFAULT_PHONE_REGION or "US"
        ).upper()
        self.definitions = {
            definition.key: definition
            for definition in custom_field_definitions_for(record_type_of(self.model))
        }
        self.custom_cache: dict[tuple[str, str], tuple[Any, str]] = {}
        self.custom_form_fields: dict[str, Any] = {}
        self.owner_cache: dict[str, tuple[Any, str]] = {}
        self.team_cache: dict[str, tuple[Any, str]] = {}
        self.ownership_cache: dict[tuple[Any, Any], tuple[Any, str]] = {}
        self.tag_ids: dict[str, int | None] = {}
        self.tag_names: dict[int, str] = {}
        self.organization_ids: dict[str, int] = {}
        self.fake_ids = 0
        # A resumed job may have created organizations before it stopped.
        self.organizations_created = job.processed_rows > 0
        self.users: dict[int, Any] = {self.actor.pk: self.actor}
        self.teams: dict[int, Any] = {}
        self.content_type_id = ContentType.objects.get_for_model(self.model).pk
        self.organization_content_type_id = ContentType.objects.get_for_model(Organization).pk
        self.max_lengths = {
            model_field.name: model_field.max_length
            for model_field in self.model._meta.get_fields()
            if isinstance(model_field, models.CharField) and model_field.max_length
        }
        self.max_lengths.update(_EXTRA_LIMITS)
        self.sees_everything = scope_of(self.actor) == Scope.ALL
        self.seen: _SeenKeys | None = None
        self.bytes_counter: list[_CountingReader] = []
        self.default_ownership: tuple[Any, Any] = (self.actor, None)

    # -- set-up --

    def _defaults(self) -> None:
        require_perm(self.actor, Perm.PARTIES_IMPORT)
        if not self.is_dry_run:
            require_perm(self.actor, Perm.PARTIES_ADD)
            if self.on_match != ImportOnMatch.SKIP:
                require_perm(self.actor, Perm.PARTIES_CHANGE)
        owner = self.actor
        team = None
        User = get_user_model()
        if self.options.get("owner"):
            owner = User.objects.filter(pk=self.options["owner"]).first() or self.actor
        if self.options.get("team"):
            from clientela.identity.models import Team

            team = Team.objects.filter(pk=self.options["team"]).first()
        self.default_ownership = ownership_resolve(actor=self.actor, owner=owner, team=team)
        self._remember_ownership(self.default_ownership)
        self.default_tags = [
            name for name in (self.options.get("tags") or []) if isinstance(name, str)
        ]

    def _remember_ownership(self, pair: tuple[Any, Any]) -> None:
        owner, team = pair
        self.users[owner.pk] = owner
        if team is not None:
            self.teams[team.pk] = team

    def _columns_prepare(self, header: list[str]) -> list[_Column]:
        mapping = import_mapping_validate(self.record_type, self.job.mapping or {}, header)
        kinds = _CONTACT_KINDS if self.is_contacts else _ORGANIZATION_KINDS
        columns = []
        for index, name in enumerate(header):
            key = mapping.get(name)
            if not key:
                continue
            if key.startswith(CUSTOM_FIELD_PREFIX):
                kind, extra = K_CUSTOM, key[len(CUSTOM_FIELD_PREFIX) :]
            else:
                kind, extra = kinds[key]
            columns.append(
                _Column(
                    index=index,
                    header=name,
                    field=key,
                    kind=kind,
                    extra=extra,
                    limit=self.max_lengths.get(key, 0),
                )
            )
        # The country decides how phone numbers without a country code are read: it goes first.
        columns.sort(key=lambda column: (column.kind != K_COUNTRY, column.index))
        self.name_columns = [
            column
            for column in sorted(columns, key=lambda column: column.index)
            if column.field in ("first_name", "last_name", "full_name", "name")
        ]
        return columns

    # -- checking one row --

    def _row_parse(self, number: int, cells: list[str] | _Unreadable) -> _Row:
        row = _Row(number)
        if isinstance(cells, _Unreadable):
            row.fail(
                0, "", "", _("This row could not be read: %(reason)s") % {"reason": cells.reason}
            )
            return row
        width = self.width
        count = len(cells)
        if count != width:
            while count > width and not cells[count - 1]:
                count -= 1
            if count != width and not (self.is_xlsx and count < width):
                row.fail(
                    0,
                    "",
                    "",
                    _("This row has %(cells)d cells; the header has %(columns)d.")
                    % {"cells": count, "columns": width},
                )
                return row
            if count < width:
                cells = cells + [""] * (width - count)
        joined = "".join(cells)
        if not joined.isascii() and _SURROGATES.search(joined):
            if self.encoding_is_auto:
                message = _(
                    "This row is not valid UTF-8 text; save the file as UTF-8 or choose its encoding."
                )
            else:
                message = _(
                    "This row is not valid %(encoding)s text; choose the file’s encoding."
                ) % {"encoding": self.encoding}
            row.fail(0, "", "", message)
            return row
        row.cells = cells
        values = row.values
        region = self.default_region
        for column in self.columns:
            raw = cells[column.index]
            if not raw:
                continue
            value = raw.strip()
            if not value:
                continue
            if value[0] == "'" and value[1:2] in _FORMULA_STARTS:
                # How exports keep a spreadsheet from running a cell (core.spreadsheets): read back as
                # the text it stands for, which the formula check below still sees.
                value = value[1:]
            kind = column.kind
            first = raw[0]
            if first in _FORMULA_STARTS or value[0] in _FORMULA_STARTS:
                allowed = _SIGN_ALLOWED.get(kind, "")
                if first in "\t\r" or value[0] not in allowed:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _(
                            "This value looks like a spreadsheet formula; values may not start "
                            "with =, +, -, @, a tab or a line break."
                        ),
                    )
                    continue
            if kind == K_TEXT:
                if column.limit and len(value) > column.limit:
                    self._too_long(row, column, raw, value)
                    continue
                values[column.field] = value
            elif kind == K_EMAIL:
                for part in _parts(value) if column.field in SEVERAL_FIELDS else (value,):
                    email = _email_clean(part)
                    if email is None:
                        row.fail(
                            column.index,
                            column.header,
                            raw,
                            _("“%(value)s” is not a valid email address.") % {"value": part},
                        )
                        break
                    row.emails.append((email, column.extra, column.index))
            elif kind == K_PHONE:
                for part in _parts(value) if column.field in SEVERAL_FIELDS else (value,):
                    number_, message = self.phones.normalize(part, region)
                    if message:
                        row.fail(column.index, column.header, raw, message)
                        break
                    if self.is_contacts:
                        row.phones.append((number_, column.extra, column.index))
                    else:
                        values["phone"] = number_
            elif kind == K_COUNTRY:
                code = self.country_cache.get(value)
                if code is None:
                    code = self.countries.get(header_key(value))
                    if code is not None and len(self.country_cache) < _CACHE_LIMIT:
                        self.country_cache[value] = code
                if code is None:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _(
                            "Unknown country “%(value)s”; use a country’s name or its two-letter code, such as DK."
                        )
                        % {"value": value},
                    )
                    continue
                values["country"] = code
                region = code
            elif kind == K_FULL_NAME:
                first_name, last_name = _name_split(value)
                if len(first_name) > 100 or len(last_name) > 100:
                    self._too_long(row, column, raw, value, limit=100)
                    continue
                values["_full_first"], values["_full_last"] = first_name, last_name
            elif kind == K_ORGANIZATION:
                if LIST_SEPARATOR in value:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _(
                            "One organization per row: this cell names %(count)d (separated by ;). "
                            "Link the others on the contact’s page."
                        )
                        % {"count": len(_parts(value))},
                    )
                    continue
                if len(value) > column.limit:
                    self._too_long(row, column, raw, value)
                    continue
                row.organization = " ".join(value.split())
                row.organization_key = _key(row.organization)
            elif kind in (K_CHOICE, K_SIZE):
                choices = self.choices[column.field]
                choice = choices.get(value)
                if choice is None:
                    choice = choices.get(header_key(value))
                    if choice is not None and len(choices) < _CACHE_LIMIT:
                        choices[value] = choice
                if choice is None and kind == K_SIZE:
                    digits = value.replace(",", "").replace(".", "").replace(" ", "")
                    if digits.isdigit():
                        choice = _size_band_for(int(digits))
                if choice is None:
                    self._unknown_choice(row, column, raw, value)
                    continue
                values[column.field] = choice
            elif kind == K_TAGS:
                for name in re.split(r"[;,]", value):
                    name = " ".join(name.split())
                    if not name:
                        continue
                    if len(name) > 60:
                        row.fail(
                            column.index,
                            column.header,
                            raw,
                            _("A tag name has at most 60 characters; “%(value)s” has %(length)d.")
                            % {"value": name, "length": len(name)},
                        )
                        break
                    if name.casefold() not in (tag.casefold() for tag in row.tags):
                        row.tags.append(name)
            elif kind == K_LANGUAGE:
                code_ = self._language(value)
                if code_ is None:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _("Unknown language “%(value)s”; use a code such as en, es or da.")
                        % {"value": value},
                    )
                    continue
                values["preferred_language"] = code_
            elif kind == K_OWNER:
                owner, message = self._owner(value)
                if message:
                    row.fail(column.index, column.header, raw, message)
                    continue
                row.owner_given = True
                values["_owner"] = owner
            elif kind == K_TEAM:
                team, message = self._team(value)
                if message:
                    row.fail(column.index, column.header, raw, message)
                    continue
                row.team_given = True
                values["_team"] = team
            elif kind == K_WEBSITE:
                website = self._website(value)
                if website is None:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _("“%(value)s” is not a web address.") % {"value": value},
                    )
                    continue
                if len(website) > 300:
                    self._too_long(row, column, raw, website, limit=300)
                    continue
                values["website"] = website
                values["domain"] = _domain_of(website)
            elif kind == K_REVENUE:
                amount = _amount(value)
                if amount is None:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _("“%(value)s” is not an amount; write it like 1250000 or 1250000.50.")
                        % {"value": value},
                    )
                    continue
                if amount < 0:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _("The annual revenue cannot be negative."),
                    )
                    continue
                values["annual_revenue"] = amount
            elif kind == K_CURRENCY:
                currency = value.upper()
                if currency not in self.currencies:
                    row.fail(
                        column.index,
                        column.header,
                        raw,
                        _("Unknown currency “%(value)s”; use a code such as EUR or USD.")
                        % {"value": value},
                    )
                    continue
                values["currency"] = currency
            elif kind == K_CUSTOM:
                stored, message = self._custom(column.extra, value)
                if message:
                    row.fail(column.index, column.header, raw, message)
                    continue
                row.custom[column.extra] = stored
        if self.is_contacts:
            self._contact_finish(row)
        else:
            self._organization_finish(row)
        if row.owner_given or row.team_given:
            pair, message = self._ownership(values.get("_owner"), values.get("_team"))
            if message:
                field = "owner" if row.owner_given else "team"
                column = next(c for c in self.columns if c.field == field)
                row.fail(column.index, column.header, cells[column.index], message)
            else:
                row.ownership = pair
        if len(row.errors) > 1:
            row.errors.sort(key=lambda error: error[0])
        return row

    def _too_long(
        self, row: _Row, column: _Column, raw: str, value: str, limit: int | None = None
    ) -> None:
        row.fail(
            column.index,
            column.header,
            raw,
            _("This value has %(length)d characters; the limit is %(limit)d.")
            % {"length": len(value), "limit": limit or column.limit},
        )

    def _unknown_choice(self, row: _Row, column: _Column, raw: str, value: str) -> None:
        choices = {
            "lifecycle_stage": LifecycleStage,
            "source": ContactSource,
            "industry": Industry,
            "size_band": SizeBand,
        }[column.field]
        row.fail(
            column.index,
            column.header,
            raw,
            _("Unknown value “%(value)s”; use one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(str(label) for label in choices.labels)},
        )

    def _contact_finish(self, row: _Row) -> None:
        values = row.values
        first_name = values.get("first_name", "")
        last_name = values.get("last_name", "")
        if "_full_first" in values:
            full_first = values.pop("_full_first")
            full_last = values.pop("_full_last")
            if not first_name and not last_name:
                first_name, last_name = full_first, full_last
                values["first_name"], values["last_name"] = first_name, last_name
        if not first_name and not last_name and not self._name_refused(row):
            column = self.name_columns[0]
            row.fail(column.index, column.header, "", _("Enter a first or a last name."))
        if "organization_role" in values:
            row.role = values.pop("organization_role")
        if "country" not in values and self.default_country:
            values["country"] = self.default_country
        for name in self.default_tags:
            if name.casefold() not in (tag.casefold() for tag in row.tags):
                row.tags.append(name)
        if not row.errors:
            row.name_key = _normalize(f"{first_name} {last_name}")

    def _name_refused(self, row: _Row) -> bool:
        """Whether a name cell of the row was refused already (its error says why the name is missing)."""
        indexes = {column.index for column in self.name_columns}
        return any(error[0] in indexes for error in row.errors)

    def _organization_finish(self, row: _Row) -> None:
        values = row.values
        if not values.get("name") and not self._name_refused(row):
            column = self.name_columns[0]
            row.fail(column.index, column.header, "", _("An organization needs a name."))
        if "country" not in values and self.default_country:
            values["country"] = self.default_country
        for name in self.default_tags:
            if name.casefold() not in (tag.casefold() for tag in row.tags):
                row.tags.append(name)
        if not row.errors:
            row.name_key = _key(values["name"])

    def _language(self, value: str) -> str | None:
        if _LANGUAGE_CODE.match(value) and len(value) <= 10:
            primary, _sep, rest = value.replace("_", "-").partition("-")
            return primary.lower() + (f"-{rest.upper()}" if rest else "")
        return _language_index().get(header_key(value))

    def _website(self, value: str) -> str | None:
        website = value if "://" in value else f"https://{value}"
        try:
            _URL_VALIDATOR(website)
        except ValidationError:
            return None
        return website

    def _custom(self, key: str, value: str) -> tuple[Any, str]:
        cached = self.custom_cache.get((key, value))
        if cached is not None:
            return cached
        if len(self.custom_cache) > _CACHE_LIMIT:
            self.custom_cache.clear()
        definition = self.definitions[key]
        form_field = self.custom_form_fields.get(key)
        if form_field is None:
            form_field = self.custom_form_fields[key] = custom_field_form_field(definition)
        raw: Any = value
        if definition.field_type == "multi_choice":
            raw = [item.strip() for item in re.split(r"[;,]", value) if item.strip()]
        elif definition.field_type == "boolean":
            raw = _boolean(value)
        try:
            cleaned = form_field.clean(raw)
        except ValidationError as error:
            result: tuple[Any, str] = (None, " ".join(error.messages))
        else:
            from clientela.core.custom_fields import _stored

            result = (_stored(cleaned), "")
        self.custom_cache[(key, value)] = result
        return result

    def _owner(self, value: str) -> tuple[Any, str]:
        email = value.lower()
        cached = self.owner_cache.get(email)
        if cached is not None:
            return cached
        user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            result: tuple[Any, str] = (
                None,
                _("There is no active user with the email address “%(value)s”.") % {"value": value},
            )
        else:
            result = (user, "")
        self.owner_cache[email] = result
        return result

    def _team(self, value: str) -> tuple[Any, str]:
        key = _key(value)
        cached = self.team_cache.get(key)
        if cached is not None:
            return cached
        from clientela.identity.models import Team

        team = Team.objects.filter(name__iexact=value).order_by("id").first()
        if team is None:
            result: tuple[Any, str] = (
                None,
                _("There is no team called “%(value)s”.") % {"value": value},
            )
        else:
            result = (team, "")
        self.team_cache[key] = result
        return result

    def _ownership(self, owner: Any, team: Any) -> tuple[Any, str]:
        key = (owner.pk if owner else None, team.pk if team else None)
        cached = self.ownership_cache.get(key)
        if cached is not None:
            return cached
        try:
            pair = ownership_resolve(
                actor=self.actor,
                owner=owner or self.default_ownership[0],
                team=team if team is not None else (None if owner else self.default_ownership[1]),
            )
        except PermissionDenied as error:
            result: tuple[Any, str] = (None, str(error))
        else:
            self._remember_ownership(pair)
            result = (pair, "")
        self.ownership_cache[key] = result
        return result

    # -- duplicates within the file --

    def _keys_of(self, row: _Row) -> list[tuple[int, int]]:
        """The keys a row claims (hashes), each with whether the row is "strong" (has an email or a
        website)."""
        if self.is_contacts:
            strong = 1 if row.emails else 0
            keys = [(hash(("e", email.lower())), strong) for email, _kind, _index in row.emails]
            keys += [(hash(("p", number)), strong) for number, _kind, _index in row.phones]
            if row.organization:
                keys.append((hash(("n", row.name_key, row.organization_key)), strong))
            else:
                keys.append((hash(("m", row.name_key)), strong))
            return keys
        domain = row.values.get("domain", "")
        strong = 1 if domain else 0
        keys = [(hash(("n", row.name_key)), strong)]
        if domain:
            keys.append((hash(("d", domain)), strong))
        return keys

    def _duplicates_check(self, rows: list[_Row], register: bool = True) -> None:
        """Fail the rows that repeat an earlier row of the file (by the rules matching uses), and
        remember the keys of the others."""
        assert self.seen is not None
        candidates = [row for row in rows if not row.errors]
        keys_by_row = [self._keys_of(row) for row in candidates]
        earlier = self.seen.lookup(key for keys in keys_by_row for key, _strong in keys)
        batch: dict[int, tuple[int, int]] = {}
        new_keys: list[tuple[int, int, int]] = []
        for row, keys in zip(candidates, keys_by_row, strict=True):
            duplicate = self._duplicate_of(row, keys, earlier, batch)
            if duplicate is not None:
                index, column, value, message = duplicate
                row.fail(index, column, value, message)
                continue
            for key, strong in keys:
                if key not in batch and key not in earlier:
                    batch[key] = (row.number, strong)
                    new_keys.append((key, row.number, strong))
        if register:
            self.seen.add(new_keys)

    def _duplicate_of(
        self,
        row: _Row,
        keys: list[tuple[int, int]],
        earlier: dict[int, tuple[int, int]],
        batch: dict[int, tuple[int, int]],
    ) -> tuple[int, str, str, str] | None:
        def first(key: int) -> tuple[int, int] | None:
            return earlier.get(key) or batch.get(key)

        if self.is_contacts:
            strong = bool(row.emails)
            for email, _kind, index in row.emails:
                found = first(hash(("e", email.lower())))
                if found:
                    return (
                        index,
                        self.headers[index],
                        row.cells[index],
                        _("Same email as row %(row)d.") % {"row": found[0]},
                    )
            for number, _kind, index in row.phones:
                found = first(hash(("p", number)))
                if found and not (strong and found[1]):
                    return (
                        index,
                        self.headers[index],
                        row.cells[index],
                        _("Same phone number as row %(row)d.") % {"row": found[0]},
                    )
            if row.organization:
                found = first(hash(("n", row.name_key, row.organization_key)))
                if found and not (strong and found[1]):
                    column = self.name_columns[0]
                    return (
                        column.index,
                        column.header,
                        "",
                        _("Same name and organization as row %(row)d.") % {"row": found[0]},
                    )
            elif not row.emails and not row.phones:
                # Nothing but a name: the same name without an organization is the same person.
                found = first(hash(("m", row.name_key)))
                if found:
                    column = self.name_columns[0]
                    return (
                        column.index,
                        column.header,
                        "",
                        _("Same name as row %(row)d.") % {"row": found[0]},
                    )
            return None
        domain = row.values.get("domain", "")
        if domain:
            found = first(hash(("d", domain)))
            if found:
                column = next(c for c in self.columns if c.field == "website")
                return (
                    column.index,
                    column.header,
                    row.cells[column.index],
                    _("Same website as row %(row)d.") % {"row": found[0]},
                )
        found = first(hash(("n", row.name_key)))
        if found and not (domain and found[1]):
            column = self.name_columns[0]
            return (
                column.index,
                column.header,
                row.cells[column.index],
                _("Same name as row %(row)d.") % {"row": found[0]},
            )
        return None

    # -- running --

    def execute(self) -> None:
        self._defaults()
        job = self.job
        source = _source_open(job.stored_name, self.options.get("encoding") or "auto")
        self.source = source
        self.is_xlsx = source.file_format == "xlsx"
        self.encoding = source.encoding
        self.encoding_is_auto = (self.options.get("encoding") or "auto") == "auto"
        if source.file_format == "xlsx":
            records = _xlsx_records(source)
        else:
            records = _csv_records(source, self.bytes_counter)
        self.seen = _SeenKeys()
        try:
            self._execute(records)
        finally:
            records.close()
            self.seen.close()

    def _execute(self, records: Iterator[tuple[int, list[str] | _Unreadable]]) -> None:
        job = self.job
        header: list[str] | None = None
        for _number, cells in records:
            if isinstance(cells, list) and not any(cells):
                continue
            header = _header_clean(cells)
            break
        if header is None:
            raise ValidationError(_("The file is empty."), code="empty")
        self.headers = dict(enumerate(header))
        self.width = len(header)
        self.columns = self._columns_prepare(header)
        data_start = _number + 1
        self.expected_next_row = job.next_row
        resume_at = max(job.next_row, data_start)
        if resume_at > data_start:
            self._seen_rebuild(records, data_start, resume_at)
        batch: list[tuple[int, list[str] | _Unreadable]] = []
        any_rows = job.processed_rows > 0
        for number, cells in records:
            if number < resume_at:
                continue
            batch.append((number, cells))
            if len(batch) >= self.batch_size:
                any_rows = self._batch_run(batch) > 0 or any_rows
                batch = []
        if batch:
            any_rows = self._batch_run(batch) > 0 or any_rows
        if not any_rows:
            raise ValidationError(_("The file has a header but no rows."), code="header_only")
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != ImportStatus.RUNNING:
                raise _Stop
            locked.total_rows = locked.processed_rows
            locked.status = ImportStatus.DONE
            locked.finished_at = timezone.now()
            locked.save(update_fields=["total_rows", "status", "finished_at", "updated_at"])
        self.job = locked
        self._statistics_refresh()
        self._duplicates_scan_enqueue()

    def _statistics_refresh(self) -> None:
        """After a large import, PostgreSQL's planner learns the tables' new sizes and values at once
        instead of whenever autovacuum gets to them (lists sorted newest first chose a full sort until
        then). SQLite is left alone: its planner chose worse plans with sampled statistics."""
        job = self.job
        if (
            self.is_dry_run
            or connection.vendor != "postgresql"
            or job.created_count + job.updated_count < STATISTICS_REFRESH_ROWS
        ):
            return
        models_ = (Contact, ContactEmail, ContactPhone, Affiliation, Organization)
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models_)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")

    def _duplicates_scan_enqueue(self) -> None:
        """After a job that wrote records, one scan of the whole table refreshes the duplicates review
        queue in the background: once per job, not once per batch (ADR 0018)."""
        from clientela.parties.tasks import duplicates_detect_task

        job = self.job
        if self.is_dry_run or not (job.created_count or job.updated_count):
            return
        duplicates_detect_task.enqueue(record_type=self.record_type)
        if self.is_contacts and self.organizations_created:
            duplicates_detect_task.enqueue(record_type=ImportRecordType.ORGANIZATIONS)

    def _seen_rebuild(
        self,
        records: Iterator[tuple[int, list[str] | _Unreadable]],
        data_start: int,
        resume_at: int,
    ) -> None:
        """Remember the keys of the rows imported before a restart, from the file and the outcomes."""
        assert self.seen is not None
        outcomes = self._outcomes_before(data_start, resume_at)
        pending: list[_Row] = []
        for number, cells in records:
            letter = next(outcomes, EMPTY)
            if letter in (CREATED, UPDATED, SKIPPED):
                row = self._row_parse(number, cells)
                if not row.errors:
                    pending.append(row)
            if len(pending) >= self.batch_size:
                self._duplicates_check(pending)
                pending = []
            if number >= resume_at - 1:
                break
        if pending:
            self._duplicates_check(pending)

    def _outcomes_before(self, data_start: int, resume_at: int) -> Iterator[str]:
        expected = data_start
        for first_row, outcomes in (
            ImportBatch.objects.filter(job=self.job, first_row__lt=resume_at)
            .order_by("first_row")
            .values_list("first_row", "outcomes")
            .iterator(chunk_size=20)
        ):
            while expected < first_row:
                expected += 1
                yield EMPTY
            yield from outcomes
            expected = first_row + len(outcomes)

    def _batch_run(self, records: list[tuple[int, list[str] | _Unreadable]]) -> int:
        first_row = records[0][0]
        last_row = records[-1][0]
        rows: list[_Row] = []
        for number, cells in records:
            if isinstance(cells, list) and not any(cells):
                continue
            rows.append(self._row_parse(number, cells))
        self._duplicates_check(rows)
        result = _BatchResult()
        with transaction.atomic():
            locked = (
                ImportJob.objects.select_for_update()
                .only("id", "status", "next_row")
                .get(pk=self.job.pk)
            )
            if locked.status != ImportStatus.RUNNING or locked.next_row != self.expected_next_row:
                raise _Stop
            valid = [row for row in rows if not row.errors]
            if valid:
                if self.is_contacts:
                    self._contacts_write(valid, result)
                else:
                    self._organizations_write(valid, result)
            self._batch_record(rows, first_row, last_row)
        if result.organizations:
            self.organizations_created = True
        if self.progress is not None:
            if self.bytes_counter and self.source.size:
                read = self.bytes_counter[0].count or 1
                self.job.row_count_estimate = round(  # type: ignore[attr-defined]
                    self.job.processed_rows * self.source.size / read
                )
            self.progress(self.job)
        return len(rows)

    def _batch_record(self, rows: list[_Row], first_row: int, last_row: int) -> None:
        letters = [EMPTY] * (last_row - first_row + 1)
        record_ids: list[int | None] = [None] * len(letters)
        errors = []
        counts = dict.fromkeys((CREATED, UPDATED, SKIPPED, FAILED), 0)
        for row in rows:
            position = row.number - first_row
            if row.errors:
                letters[position] = FAILED
                errors += [
                    ImportRowError(
                        job_id=self.job.pk,
                        row_number=row.number,
                        column=column[:255],
                        value=value,
                        message=message,
                    )
                    for _index, column, value, message in row.errors
                ]
            else:
                letters[position] = row.outcome
                record_ids[position] = (
                    row.record_id if row.record_id and row.record_id > 0 else None
                )
            counts[letters[position]] += 1
        ImportBatch.objects.create(
            job_id=self.job.pk,
            first_row=first_row,
            outcomes="".join(letters),
            record_ids=record_ids,
        )
        ImportRowError.objects.bulk_create(errors, batch_size=1000)
        job = self.job
        job.created_count += counts[CREATED]
        job.updated_count += counts[UPDATED]
        job.skipped_count += counts[SKIPPED]
        job.failed_count += counts[FAILED]
        job.next_row = self.expected_next_row = last_row + 1
        job.updated_at = timezone.now()
        job.save(
            update_fields=[
                "created_count",
                "updated_count",
                "skipped_count",
                "failed_count",
                "next_row",
                "updated_at",
            ]
        )

    # -- shared by both record types --

    def _fake_id(self) -> int:
        self.fake_ids -= 1
        return self.fake_ids

    def _tags_resolve(self, names: Iterable[str]) -> None:
        """Ids of these tags in ``tag_ids`` (by lower-case name); created when missing (not in a dry run)."""
        names = list(names)
        if len(self.tag_ids) > _CACHE_LIMIT:
            # Forget the cache before deciding what is missing: every name asked for needs its id.
            self.tag_ids.clear()
        missing = {name.casefold(): name for name in names if name.casefold() not in self.tag_ids}
        if not missing:
            return
        for tag_id, name in Tag.objects.filter(
            name__in=list(missing.values()) + [name.lower() for name in missing.values()]
        ).values_list("id", "name"):
            self.tag_ids[name.casefold()] = tag_id
            self.tag_names[tag_id] = name
        for key, name in missing.items():
            if key in self.tag_ids:
                continue
            if self.is_dry_run:
                existing = Tag.objects.filter(name__iexact=name).first()
                self.tag_ids[key] = existing.pk if existing else None
                if existing:
                    self.tag_names[existing.pk] = existing.name
                continue
            tag = tag_get_or_create(name=name, actor=self.actor)
            self.tag_ids[key] = tag.pk
            self.tag_names[tag.pk] = tag.name

    def _events(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert events given as (content type id, record id, kind, data)."""
        now = self.writer.now()
        actor_id = self.actor.pk
        self.writer.insert(
            Event._meta.db_table,
            ["occurred_at", "actor_id", "record_type_id", "record_id", "kind", "data"],
            [
                (
                    now,
                    actor_id,
                    type_id,
                    record_id,
                    kind,
                    data if isinstance(data, str) else self.writer.json(data),
                )
                for type_id, record_id, kind, data in rows
            ],
        )

    def _ownership_and_tag_events(
        self,
        record_id: int,
        label: str,
        before: dict[str, Any],
        after: dict[str, Any],
        new_tags: Iterable[int],
        kinds: Any,
    ) -> list[tuple[Any, ...]]:
        """The owner/team change and tagging events of one updated record (``kinds``: ContactEvent
        or OrganizationEvent), as rows for ``_events``."""
        data: dict[str, Any] = {"label": label, "import": self.job.pk}
        events = []
        owner_diff = {}
        for key, column, as_json in (
            ("owner", "owner_id", self._user_json),
            ("team", "team_id", self._team_json),
        ):
            if before[column] != after[column]:
                owner_diff[key] = {"old": as_json(before[column]), "new": as_json(after[column])}
        if owner_diff:
            events.append(
                (
                    self.content_type_id,
                    record_id,
                    kinds.OWNER_CHANGED.value,
                    {**data, "changes": owner_diff},
                )
            )
        tags = sorted(self.tag_names[tag_id] for tag_id in new_tags)
        if tags:
            events.append(
                (self.content_type_id, record_id, kinds.TAGGED.value, {**data, "tags": tags})
            )
        return events

    def _user_json(self, user_id: int | None) -> Any:
        if user_id is None:
            return None
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = get_user_model().objects.get(pk=user_id)
        return json_value(user)

    def _team_json(self, team_id: int | None) -> Any:
        if team_id is None:
            return None
        team = self.teams.get(team_id)
        if team is None:
            from clientela.identity.models import Team

            team = self.teams[team_id] = Team.objects.get(pk=team_id)
        return json_value(team)

    def _visible_ids(self, model: type[models.Model], ids: Iterable[int]) -> set[int]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        if self.sees_everything:
            return set(wanted)
        found: set[int] = set()
        chunk_size = 900
        for start in range(0, len(wanted), chunk_size):
            queryset = visible_to(
                model._default_manager.filter(pk__in=wanted[start : start + chunk_size]),
                self.actor,
            )
            found.update(queryset.values_list("id", flat=True))
        return found

    def _organizations_for_names(self, rows: list[_Row]) -> None:
        """The id of each row's organization (by name, among those the actor sees), created when none."""
        wanted = {row.organization_key: row.organization for row in rows if row.organization}
        if len(self.organization_ids) > _CACHE_LIMIT:
            # Forget the cache before deciding what is missing: every row of this batch needs its id.
            self.organization_ids.clear()
        missing = {key: name for key, name in wanted.items() if key not in self.organization_ids}
        if not missing:
            return
        lowered = {name.lower() for name in missing.values()}
        lowered |= {name.translate(_ASCII_LOWER) for name in missing.values()}
        found = _select_in(
            f'SELECT "id", "name" FROM "{Organization._meta.db_table}" '  # noqa: S608
            'WHERE LOWER("name") {in}',
            lowered,
        )
        visible = self._visible_ids(Organization, [organization_id for organization_id, _ in found])
        for organization_id, name in sorted(found):
            if organization_id in visible:
                self.organization_ids.setdefault(_key(name), organization_id)
        to_create = [
            (key, name) for key, name in missing.items() if key not in self.organization_ids
        ]
        if not to_create:
            return
        if self.is_dry_run:
            for key, _name in to_create:
                self.organization_ids[key] = self._fake_id()
            return
        ids = self.writer.ids(Organization, len(to_create))
        owner, team = self.default_ownership
        now = self.writer.now()
        columns = [
            "id",
            "created_at",
            "updated_at",
            "version",
            "owner_id",
            "team_id",
            "is_shared_with_team",
            "custom_fields",
            "street",
            "city",
            "region",
            "postal_code",
            "country",
            "search_text",
            "name",
            "website",
            "domain",
            "industry",
            "size_band",
            "phone",
            "annual_revenue",
            "currency",
            "description",
        ]
        currency = settings.CLIENTELA_DEFAULT_CURRENCY
        data = []
        events: list[tuple[int, int, str, Any]] = []
        for organization_id, (key, name) in zip(ids, to_create, strict=True):
            self.organization_ids[key] = organization_id
            data.append(
                (
                    organization_id,
                    now,
                    now,
                    1,
                    owner.pk,
                    team.pk if team else None,
                    True,
                    "{}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    _organization_search_text(name, "", ""),
                    name,
                    "",
                    "",
                    "",
                    "",
                    "",
                    None,
                    currency,
                    "",
                )
            )
            events.append(
                (
                    self.organization_content_type_id,
                    organization_id,
                    OrganizationEvent.CREATED.value,
                    {"label": name, "import": self.job.pk},
                )
            )
        self.writer.insert(Organization._meta.db_table, _columns(Organization, columns), data)
        self._events(events)
        self.organization_names_created.extend(ids)

    # -- contacts --

    def _contacts_write(self, rows: list[_Row], result: _BatchResult) -> None:
        self.organization_names_created: list[int] = []
        self._organizations_for_names(rows)
        self._tags_resolve({name for row in rows for name in row.tags})
        matches = self._contacts_match(rows)
        creates = [row for row in rows if row.number not in matches]
        if creates:
            self._contacts_create(creates, result)
        if matches:
            self._contacts_update(rows, matches, result)
        result.organizations.extend(self.organization_names_created)

    def _contacts_match(self, rows: list[_Row]) -> dict[int, int]:
        """{row number: id of the visible contact the row matches}: by email, else by phone, else by
        the same name at the same organization. A phone or a name does not match a contact with other
        email addresses than the row's."""
        emails = {email.lower() for row in rows for email, _kind, _index in row.emails}
        by_email: dict[str, list[int]] = {}
        candidates: set[int] = set()
        email_table = ContactEmail._meta.db_table
        for email, contact_id in _select_in(
            f'SELECT LOWER("email"), "contact_id" FROM "{email_table}" WHERE LOWER("email") {{in}}',  # noqa: S608
            emails,
        ):
            by_email.setdefault(email, []).append(contact_id)
            candidates.add(contact_id)
        phones = {number for row in rows for number, _kind, _index in row.phones}
        by_phone: dict[str, list[int]] = {}
        for number, contact_id in _select_in(
            f'SELECT "number", "contact_id" FROM "{ContactPhone._meta.db_table}" '  # noqa: S608
            'WHERE "number" {in}',
            phones,
        ):
            by_phone.setdefault(number, []).append(contact_id)
            candidates.add(contact_id)
        # Rows without an email match by name at their organization (few rows: a query per batch
        # that reads only the people of those organizations with those last names).
        by_name: dict[tuple[str, int], list[int]] = {}
        named = [
            row
            for row in rows
            if row.organization
            and not row.emails
            and self.organization_ids.get(row.organization_key, 0) > 0
        ]
        organization_ids = {self.organization_ids[row.organization_key] for row in named}
        named_last = {
            variant
            for row in named
            for variant in (
                row.values.get("last_name", "").lower(),
                row.values.get("last_name", "").translate(_ASCII_LOWER),
            )
        }
        for contact_id, organization_id, first_name, last_name in _select_in(
            f'SELECT a."contact_id", a."organization_id", c."first_name", c."last_name" '  # noqa: S608
            f'FROM "{Affiliation._meta.db_table}" a JOIN "{Contact._meta.db_table}" c '
            'ON c."id" = a."contact_id" WHERE a."organization_id" {in} AND LOWER(c."last_name") IN '
            f"({', '.join(['%s'] * len(named_last))})",
            organization_ids,
            list(named_last),
        ):
            key = (_normalize(f"{first_name} {last_name}"), organization_id)
            by_name.setdefault(key, []).append(contact_id)
            candidates.add(contact_id)
        # Rows with nothing but a name match a contact of the same name at no organization.
        last_names = {
            variant
            for row in rows
            if not (row.emails or row.phones or row.organization)
            for variant in (
                row.values.get("last_name", "").lower(),
                row.values.get("last_name", "").translate(_ASCII_LOWER),
            )
        }
        contact_table = Contact._meta.db_table
        for contact_id, first_name, last_name in _select_in(
            f'SELECT c."id", c."first_name", c."last_name" FROM "{contact_table}" c '  # noqa: S608
            'WHERE LOWER(c."last_name") {in} AND NOT EXISTS (SELECT 1 FROM '
            f'"{Affiliation._meta.db_table}" a WHERE a."contact_id" = c."id")',
            last_names,
        ):
            by_name.setdefault((_normalize(f"{first_name} {last_name}"), 0), []).append(contact_id)
            candidates.add(contact_id)
        if not candidates:
            return {}
        visible = self._visible_ids(Contact, candidates)
        if not visible:
            return {}
        with_email = {
            contact_id
            for (contact_id,) in _select_in(
                f'SELECT DISTINCT "contact_id" FROM "{email_table}" WHERE "contact_id" {{in}}',  # noqa: S608
                visible,
            )
        }
        matches: dict[int, int] = {}
        for row in rows:
            found = [
                contact_id
                for email, _kind, _index in row.emails
                for contact_id in by_email.get(email.lower(), ())
                if contact_id in visible
            ]
            if not found:
                found = [
                    contact_id
                    for number, _kind, _index in row.phones
                    for contact_id in by_phone.get(number, ())
                    if contact_id in visible and not (row.emails and contact_id in with_email)
                ]
            if not found and row.organization and not row.emails:
                organization_id = self.organization_ids.get(row.organization_key, 0)
                found = [
                    contact_id
                    for contact_id in by_name.get((row.name_key, organization_id), ())
                    if contact_id in visible
                ]
            elif not found and not (row.emails or row.phones):
                found = [
                    contact_id
                    for contact_id in by_name.get((row.name_key, 0), ())
                    if contact_id in visible
                ]
            if found:
                matches[row.number] = min(found)
        return matches

    _CONTACT_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "owner_id",
        "team_id",
        "is_shared_with_team",
        "custom_fields",
        "street",
        "city",
        "region",
        "postal_code",
        "country",
        "search_text",
        "first_name",
        "last_name",
        "job_title",
        "lifecycle_stage",
        "source",
        "preferred_language",
        "primary_email",
        "primary_phone",
    )

    def _custom_required(self, row: _Row) -> bool:
        """Fail a new record's row that leaves a required custom field empty."""
        for key, definition in self.definitions.items():
            if definition.is_required and row.custom.get(key) in (None, "", []):
                column = next(
                    (c for c in self.columns if c.kind == K_CUSTOM and c.extra == key), None
                )
                row.fail(
                    column.index if column else 0,
                    column.header if column else definition.label,
                    "",
                    _("This field is required."),
                )
        return bool(row.errors)

    def _contacts_create(self, rows: list[_Row], result: _BatchResult) -> None:
        rows = [row for row in rows if not self._custom_required(row)]
        if not rows:
            return
        if self.is_dry_run:
            for row in rows:
                row.outcome = CREATED
            return
        ids = self.writer.ids(Contact, len(rows))
        now = self.writer.now()
        default_owner, default_team = self.default_ownership
        contacts = []
        emails = []
        phones = []
        affiliations = []
        tag_links = []
        events: list[tuple[int, int, str, Any]] = []
        created_kind = ContactEvent.CREATED.value
        tagged_kind = ContactEvent.TAGGED.value
        job_id = self.job.pk
        imported = f'"import":{job_id}'
        type_id = self.content_type_id
        default_stage = str(LifecycleStage.LEAD.value)
        default_source = str(ContactSource.IMPORT.value)
        for row, contact_id in zip(rows, ids, strict=True):
            row.outcome = CREATED
            row.record_id = contact_id
            values = row.values
            owner, team = row.ownership or (default_owner, default_team)
            row_emails: list[str] = []
            seen_emails = set()
            for email, kind, _index in row.emails:
                lowered = email.lower()
                if lowered in seen_emails:
                    continue
                seen_emails.add(lowered)
                emails.append((contact_id, email, kind, not row_emails))
                row_emails.append(email)
            row_phones: list[str] = []
            for number, kind, _index in row.phones:
                if number in row_phones:
                    continue
                phones.append((contact_id, number, kind, not row_phones))
                row_phones.append(number)
            organization_name = []
            if row.organization:
                organization_id = self.organization_ids[row.organization_key]
                affiliations.append((contact_id, organization_id, row.role, True))
                organization_name = [row.organization]
            first_name = values.get("first_name", "")
            last_name = values.get("last_name", "")
            contacts.append(
                (
                    contact_id,
                    now,
                    now,
                    1,
                    owner.pk,
                    team.pk if team else None,
                    True,
                    self.writer.json(row.custom) if row.custom else "{}",
                    values.get("street", ""),
                    values.get("city", ""),
                    values.get("region", ""),
                    values.get("postal_code", ""),
                    values.get("country", ""),
                    _contact_search_text(
                        first_name, last_name, row_emails, row_phones, organization_name
                    ),
                    first_name,
                    last_name,
                    values.get("job_title", ""),
                    values.get("lifecycle_stage") or default_stage,
                    values.get("source") or default_source,
                    values.get("preferred_language", ""),
                    row_emails[0] if row_emails else "",
                    row_phones[0] if row_phones else "",
                )
            )
            label = (
                f"{first_name} {last_name}" if first_name and last_name else first_name or last_name
            )
            events.append(
                (type_id, contact_id, created_kind, f'{{"label":{_json_string(label)},{imported}}}')
            )
            if row.tags:
                tag_ids = {
                    tag_id
                    for name in row.tags
                    if (tag_id := self.tag_ids.get(name.casefold())) is not None
                }
                tag_links += [(contact_id, tag_id) for tag_id in tag_ids]
                events.append(
                    (
                        type_id,
                        contact_id,
                        tagged_kind,
                        {
                            "label": label,
                            "tags": sorted(self.tag_names[tag_id] for tag_id in tag_ids),
                            "import": job_id,
                        },
                    )
                )
        writer = self.writer
        writer.insert(Contact._meta.db_table, _columns(Contact, self._CONTACT_COLUMNS), contacts)
        writer.insert(
            ContactEmail._meta.db_table, ["contact_id", "email", "kind", "is_primary"], emails
        )
        writer.insert(
            ContactPhone._meta.db_table, ["contact_id", "number", "kind", "is_primary"], phones
        )
        writer.insert(
            Affiliation._meta.db_table,
            ["contact_id", "organization_id", "role", "is_primary"],
            affiliations,
        )
        writer.insert(Contact.tags.through._meta.db_table, ["contact_id", "tag_id"], tag_links)
        self._events(events)
        result.created.extend(ids)

    def _contacts_load(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The current state of these contacts, as the update rules need it (locked on PostgreSQL;
        SQLite's write lock is held by the batch's transaction already)."""
        names = ("id", "version", "owner_id", "team_id", "custom_fields", *CONTACT_SCALARS)
        columns = ", ".join(f'"{column}"' for column in _columns(Contact, names))
        lock = " FOR UPDATE" if connection.vendor == "postgresql" and not self.is_dry_run else ""
        states: dict[int, dict[str, Any]] = {}
        for values in _select_in(
            f'SELECT {columns} FROM "{Contact._meta.db_table}" WHERE "id" {{in}}{lock}',  # noqa: S608
            ids,
        ):
            state = dict(zip(names, values, strict=True))
            state["custom_fields"] = _json_dict(state["custom_fields"])
            state["emails"] = []
            state["phones"] = []
            state["tags"] = set()
            state["affiliations"] = {}
            states[state["id"]] = state
        for contact_id, email in _select_in(
            f'SELECT "contact_id", "email" FROM "{ContactEmail._meta.db_table}" '  # noqa: S608
            'WHERE "contact_id" {in} ORDER BY "is_primary" DESC, "id"',
            ids,
        ):
            states[contact_id]["emails"].append(email)
        for contact_id, number in _select_in(
            f'SELECT "contact_id", "number" FROM "{ContactPhone._meta.db_table}" '  # noqa: S608
            'WHERE "contact_id" {in} ORDER BY "is_primary" DESC, "id"',
            ids,
        ):
            states[contact_id]["phones"].append(number)
        tags_table = Contact.tags.through._meta.db_table
        for contact_id, tag_id, tag_name in _select_in(
            f'SELECT l."contact_id", l."tag_id", t."name" FROM "{tags_table}" l '  # noqa: S608
            f'JOIN "{Tag._meta.db_table}" t ON t."id" = l."tag_id" WHERE l."contact_id" {{in}}',
            ids,
        ):
            states[contact_id]["tags"].add(tag_id)
            self.tag_names[tag_id] = tag_name
        for affiliation_id, contact_id, organization_id, role, is_primary, name in _select_in(
            'SELECT a."id", a."contact_id", a."organization_id", a."role", a."is_primary", '  # noqa: S608
            f'o."name" FROM "{Affiliation._meta.db_table}" a JOIN "{Organization._meta.db_table}" o '
            'ON o."id" = a."organization_id" WHERE a."contact_id" {in} '
            'ORDER BY a."is_primary" DESC, a."id"',
            ids,
        ):
            states[contact_id]["affiliations"][organization_id] = {
                "id": affiliation_id,
                "role": role,
                "is_primary": bool(is_primary),
                "name": name,
            }
        return states

    def _contacts_update(
        self, rows: list[_Row], matches: dict[int, int], result: _BatchResult
    ) -> None:
        overwrite = self.on_match == ImportOnMatch.OVERWRITE
        fill = self.on_match == ImportOnMatch.FILL
        if not (fill or overwrite):
            for row in rows:
                if row.number in matches:
                    row.record_id = matches[row.number]
                    row.outcome = SKIPPED
            return
        states = self._contacts_load(sorted(set(matches.values())))
        befores: dict[int, dict[str, Any]] = {}
        for row in rows:
            contact_id = matches.get(row.number)
            if contact_id is None:
                continue
            row.record_id = contact_id
            state = states.get(contact_id)
            if state is None:
                row.outcome = SKIPPED
                continue
            before = befores.get(contact_id)
            if before is None:
                before = befores[contact_id] = _contact_snapshot(state)
                state["new_emails"] = []
                state["new_phones"] = []
                state["new_tags"] = set()
                state["new_affiliations"] = {}
                state["role_changes"] = {}
            changed = self._contact_apply(row, state, overwrite)
            row.outcome = UPDATED if changed else SKIPPED
        if self.is_dry_run:
            return
        self._contacts_update_write(states, befores, result)

    def _contact_apply(self, row: _Row, state: dict[str, Any], overwrite: bool) -> bool:
        """Apply one row's values to a contact's state by the on-match rule; True when anything changes."""
        changed = False
        for name, value in row.values.items():
            if name.startswith("_") or name not in CONTACT_SCALARS:
                continue
            current = state[name]
            if current == value or (current and not overwrite):
                continue
            state[name] = value
            changed = True
        custom = state["custom_fields"]
        for key, value in row.custom.items():
            current = custom.get(key)
            if current == value or (current not in (None, "", []) and not overwrite):
                continue
            custom[key] = value
            changed = True
        if overwrite and row.ownership is not None:
            owner, team = row.ownership
            if row.owner_given and state["owner_id"] != owner.pk:
                state["owner_id"] = owner.pk
                changed = True
            new_team = team.pk if team else None
            if (row.owner_given or row.team_given) and state["team_id"] != new_team:
                state["team_id"] = new_team
                changed = True
        known = {email.lower() for email in state["emails"]}
        for email, kind, _index in row.emails:
            if email.lower() not in known:
                known.add(email.lower())
                state["new_emails"].append((email, kind, not state["emails"]))
                state["emails"].append(email)
                changed = True
        for number, kind, _index in row.phones:
            if number not in state["phones"]:
                state["new_phones"].append((number, kind, not state["phones"]))
                state["phones"].append(number)
                changed = True
        for name in row.tags:
            tag_id = self.tag_ids.get(name.casefold())
            if tag_id is None:
                if self.is_dry_run:
                    changed = True
                continue
            if tag_id not in state["tags"]:
                state["tags"].add(tag_id)
                state["new_tags"].add(tag_id)
                changed = True
        if row.organization:
            organization_id = self.organization_ids[row.organization_key]
            affiliations = state["affiliations"]
            existing = affiliations.get(organization_id)
            if existing is None:
                is_primary = not any(item["is_primary"] for item in affiliations.values())
                affiliations[organization_id] = {
                    "id": None,
                    "role": row.role,
                    "is_primary": is_primary,
                    "name": row.organization,
                }
                state["new_affiliations"][organization_id] = affiliations[organization_id]
                changed = True
            elif row.role and existing["role"] != row.role and (overwrite or not existing["role"]):
                existing["role"] = row.role
                if existing["id"] is not None:
                    state["role_changes"][existing["id"]] = row.role
                changed = True
        return changed

    def _contacts_update_write(
        self,
        states: dict[int, dict[str, Any]],
        befores: dict[int, dict[str, Any]],
        result: _BatchResult,
    ) -> None:
        now = self.writer.now()
        type_id = self.content_type_id
        job_id = self.job.pk
        update_columns = (
            *CONTACT_SCALARS,
            "custom_fields",
            "owner_id",
            "team_id",
            "primary_email",
            "primary_phone",
            "search_text",
            "version",
            "updated_at",
        )
        updates = []
        emails = []
        phones = []
        affiliations = []
        role_changes = []
        tag_links = []
        events: list[tuple[int, int, str, Any]] = []
        visible_organizations = self._visible_ids(
            Organization,
            [
                organization_id
                for contact_id in befores
                for organization_id in states[contact_id]["affiliations"]
                if organization_id > 0
            ],
        )
        for contact_id, before in befores.items():
            state = states[contact_id]
            after = _contact_snapshot(state)
            if after == before:
                continue
            result.updated.append(contact_id)
            state["primary_email"] = state["emails"][0] if state["emails"] else ""
            state["primary_phone"] = state["phones"][0] if state["phones"] else ""
            organization_names = [item["name"] for item in state["affiliations"].values()]
            search_text = _contact_search_text(
                state["first_name"],
                state["last_name"],
                state["emails"],
                state["phones"],
                organization_names,
            )
            updates.append(
                (
                    *[state[name] for name in CONTACT_SCALARS],
                    self.writer.json(state["custom_fields"]),
                    state["owner_id"],
                    state["team_id"],
                    state["primary_email"],
                    state["primary_phone"],
                    search_text,
                    state["version"] + 1,
                    now,
                    contact_id,
                )
            )
            emails += [(contact_id, *item) for item in state["new_emails"]]
            phones += [(contact_id, *item) for item in state["new_phones"]]
            affiliations += [
                (contact_id, organization_id, item["role"], item["is_primary"])
                for organization_id, item in state["new_affiliations"].items()
            ]
            role_changes += [
                (role, affiliation_id) for affiliation_id, role in state["role_changes"].items()
            ]
            tag_links += [(contact_id, tag_id) for tag_id in state["new_tags"]]
            label = " ".join(part for part in (state["first_name"], state["last_name"]) if part)
            diff = _diff(before, after, ("owner_id", "team_id", "tags", "organizations"))
            before_organizations = [
                item for item in before["organizations"] if item["id"] in visible_organizations
            ]
            after_organizations = [
                item for item in after["organizations"] if item["id"] in visible_organizations
            ]
            if before_organizations != after_organizations:
                diff["organizations"] = {"old": before_organizations, "new": after_organizations}
            if diff:
                events.append(
                    (
                        type_id,
                        contact_id,
                        ContactEvent.CHANGED.value,
                        {"label": label, "changes": diff, "import": job_id},
                    )
                )
            events += self._ownership_and_tag_events(
                contact_id, label, before, after, state["new_tags"], ContactEvent
            )
        writer = self.writer
        writer.update(Contact._meta.db_table, _columns(Contact, update_columns), updates)
        writer.insert(
            ContactEmail._meta.db_table, ["contact_id", "email", "kind", "is_primary"], emails
        )
        writer.insert(
            ContactPhone._meta.db_table, ["contact_id", "number", "kind", "is_primary"], phones
        )
        writer.insert(
            Affiliation._meta.db_table,
            ["contact_id", "organization_id", "role", "is_primary"],
            affiliations,
        )
        writer.update(Affiliation._meta.db_table, ["role"], role_changes)
        writer.insert(Contact.tags.through._meta.db_table, ["contact_id", "tag_id"], tag_links)
        self._events(events)

    # -- organizations --

    _ORGANIZATION_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "owner_id",
        "team_id",
        "is_shared_with_team",
        "custom_fields",
        "street",
        "city",
        "region",
        "postal_code",
        "country",
        "search_text",
        "name",
        "website",
        "domain",
        "industry",
        "size_band",
        "phone",
        "annual_revenue",
        "currency",
        "description",
    )

    def _organizations_write(self, rows: list[_Row], result: _BatchResult) -> None:
        self._tags_resolve({name for row in rows for name in row.tags})
        matches, states = self._organizations_match(rows)
        creates = [row for row in rows if row.number not in matches]
        if creates:
            self._organizations_create(creates, result)
        if matches:
            self._organizations_update(rows, matches, states, result)

    def _organizations_match(
        self, rows: list[_Row]
    ) -> tuple[dict[int, int], dict[int, dict[str, Any]]]:
        """{row number: id of the visible organization the row matches}: by the website's domain, else
        by name (case-insensitive) unless both have websites of different domains; and their states."""
        fields = (
            "id",
            "version",
            "owner_id",
            "team_id",
            "custom_fields",
            "search_text",
            *ORGANIZATION_SCALARS,
        )
        domains = {row.values["domain"] for row in rows if row.values.get("domain")}
        names = {row.values["name"] for row in rows}
        lowered = {name.lower() for name in names} | {
            name.translate(_ASCII_LOWER) for name in names
        }
        states: dict[int, dict[str, Any]] = {}
        visible = visible_to(Organization.objects.all(), self.actor)
        if not self.is_dry_run and connection.features.has_select_for_update:
            visible = visible.select_for_update(of=("self",))
        for chunk in _chunks(list(domains)):
            for values in visible.filter(domain__in=chunk).values(*fields):
                states[values["id"]] = values
        for chunk in _chunks(list(lowered)):
            for values in (
                visible.annotate(lowered=Lower("name")).filter(lowered__in=chunk).values(*fields)
            ):
                states[values["id"]] = values
        by_domain: dict[str, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        for organization_id, state in states.items():
            state["custom_fields"] = dict(state["custom_fields"] or {})
            if state["domain"]:
                by_domain.setdefault(state["domain"], []).append(organization_id)
            by_name.setdefault(_key(state["name"]), []).append(organization_id)
        matches: dict[int, int] = {}
        for row in rows:
            domain = row.values.get("domain", "")
            found = by_domain.get(domain, []) if domain else []
            if not found:
                found = [
                    organization_id
                    for organization_id in by_name.get(row.name_key, ())
                    if not (domain and states[organization_id]["domain"])
                ]
            if found:
                matches[row.number] = min(found)
        return matches, states

    def _organizations_create(self, rows: list[_Row], result: _BatchResult) -> None:
        rows = [row for row in rows if not self._custom_required(row)]
        if not rows:
            return
        if self.is_dry_run:
            for row in rows:
                row.outcome = CREATED
            return
        ids = self.writer.ids(Organization, len(rows))
        now = self.writer.now()
        default_owner, default_team = self.default_ownership
        currency = settings.CLIENTELA_DEFAULT_CURRENCY
        data = []
        tag_links = []
        events: list[tuple[int, int, str, Any]] = []
        type_id = self.content_type_id
        job_id = self.job.pk
        for row, organization_id in zip(rows, ids, strict=True):
            row.outcome = CREATED
            row.record_id = organization_id
            values = row.values
            owner, team = row.ownership or (default_owner, default_team)
            name = values["name"]
            domain = values.get("domain", "")
            phone = values.get("phone", "")
            data.append(
                (
                    organization_id,
                    now,
                    now,
                    1,
                    owner.pk,
                    team.pk if team else None,
                    True,
                    self.writer.json(row.custom) if row.custom else "{}",
                    values.get("street", ""),
                    values.get("city", ""),
                    values.get("region", ""),
                    values.get("postal_code", ""),
                    values.get("country", ""),
                    _organization_search_text(name, domain, phone),
                    name,
                    values.get("website", ""),
                    domain,
                    values.get("industry", ""),
                    values.get("size_band", ""),
                    phone,
                    values.get("annual_revenue"),
                    values.get("currency") or currency,
                    values.get("description", ""),
                )
            )
            events.append(
                (
                    type_id,
                    organization_id,
                    OrganizationEvent.CREATED.value,
                    {"label": name, "import": job_id},
                )
            )
            if row.tags:
                tag_ids = {
                    tag_id
                    for tag in row.tags
                    if (tag_id := self.tag_ids.get(tag.casefold())) is not None
                }
                tag_links += [(organization_id, tag_id) for tag_id in tag_ids]
                events.append(
                    (
                        type_id,
                        organization_id,
                        OrganizationEvent.TAGGED.value,
                        {
                            "label": name,
                            "tags": sorted(self.tag_names[tag_id] for tag_id in tag_ids),
                            "import": job_id,
                        },
                    )
                )
        self.writer.insert(
            Organization._meta.db_table, _columns(Organization, self._ORGANIZATION_COLUMNS), data
        )
        self.writer.insert(
            Organization.tags.through._meta.db_table, ["organization_id", "tag_id"], tag_links
        )
        self._events(events)
        result.created.extend(ids)

    def _organizations_update(
        self,
        rows: list[_Row],
        matches: dict[int, int],
        states: dict[int, dict[str, Any]],
        result: _BatchResult,
    ) -> None:
        overwrite = self.on_match == ImportOnMatch.OVERWRITE
        fill = self.on_match == ImportOnMatch.FILL
        if not (fill or overwrite):
            for row in rows:
                if row.number in matches:
                    row.record_id = matches[row.number]
                    row.outcome = SKIPPED
            return
        matched_ids = sorted(set(matches.values()))
        for chunk in _chunks(matched_ids):
            for organization_id in chunk:
                states[organization_id]["tags"] = set()
                states[organization_id]["new_tags"] = set()
            for organization_id, tag_id, tag_name in Organization.tags.through.objects.filter(
                organization_id__in=chunk
            ).values_list("organization_id", "tag_id", "tag__name"):
                states[organization_id]["tags"].add(tag_id)
                self.tag_names[tag_id] = tag_name
        befores: dict[int, dict[str, Any]] = {}
        for row in rows:
            organization_id = matches.get(row.number)
            if organization_id is None:
                continue
            row.record_id = organization_id
            state = states[organization_id]
            if not (fill or overwrite):
                row.outcome = SKIPPED
                continue
            if organization_id not in befores:
                befores[organization_id] = _organization_snapshot(state)
            changed = False
            for name, value in row.values.items():
                if name.startswith("_") or name not in ORGANIZATION_SCALARS:
                    continue
                if name == "domain":
                    continue
                current = state[name]
                if name == "currency":
                    # Every organization has a currency: the file's replaces it only on overwrite.
                    current = current if overwrite else "set"
                if current == value or (current not in ("", None) and not overwrite):
                    continue
                state[name] = value
                if name == "website":
                    state["domain"] = row.values.get("domain", "")
                changed = True
            custom = state["custom_fields"]
            for key, value in row.custom.items():
                current = custom.get(key)
                if current == value or (current not in (None, "", []) and not overwrite):
                    continue
                custom[key] = value
                changed = True
            if overwrite and row.ownership is not None:
                owner, team = row.ownership
                if row.owner_given and state["owner_id"] != owner.pk:
                    state["owner_id"] = owner.pk
                    changed = True
                new_team = team.pk if team else None
                if (row.owner_given or row.team_given) and state["team_id"] != new_team:
                    state["team_id"] = new_team
                    changed = True
            for tag in row.tags:
                known_tag = self.tag_ids.get(tag.casefold())
                if known_tag is None:
                    if self.is_dry_run:
                        changed = True
                    continue
                if known_tag not in state["tags"]:
                    state["tags"].add(known_tag)
                    state["new_tags"].add(known_tag)
                    changed = True
            row.outcome = UPDATED if changed else SKIPPED
        if self.is_dry_run:
            return
        now = self.writer.now()
        type_id = self.content_type_id
        job_id = self.job.pk
        update_columns = (
            *ORGANIZATION_SCALARS,
            "custom_fields",
            "owner_id",
            "team_id",
            "search_text",
            "version",
            "updated_at",
        )
        updates = []
        tag_links = []
        events: list[tuple[int, int, str, Any]] = []
        renamed = []
        for organization_id, before in befores.items():
            state = states[organization_id]
            after = _organization_snapshot(state)
            if after == before:
                continue
            result.updated.append(organization_id)
            if before["name"] != after["name"]:
                renamed.append(organization_id)
            updates.append(
                (
                    *[state[name] for name in ORGANIZATION_SCALARS],
                    self.writer.json(state["custom_fields"]),
                    state["owner_id"],
                    state["team_id"],
                    _organization_search_text(state["name"], state["domain"], state["phone"]),
                    state["version"] + 1,
                    now,
                    organization_id,
                )
            )
            tag_links += [(organization_id, tag_id) for tag_id in state["new_tags"]]
            label = state["name"]
            diff = _diff(before, after, ("owner_id", "team_id", "tags"))
            if diff:
                events.append(
                    (
                        type_id,
                        organization_id,
                        OrganizationEvent.CHANGED.value,
                        {"label": label, "changes": diff, "import": job_id},
                    )
                )
            events += self._ownership_and_tag_events(
                organization_id, label, before, after, state["new_tags"], OrganizationEvent
            )
        self.writer.update(
            Organization._meta.db_table, _columns(Organization, update_columns), updates
        )
        self.writer.insert(
            Organization.tags.through._meta.db_table, ["organization_id", "tag_id"], tag_links
        )
        self._events(events)
        if renamed:
            from clientela.parties.search import contact_search_text_refresh

            contact_search_text_refresh(
                Affiliation.objects.filter(organization_id__in=renamed).values_list(
                    "contact_id", flat=True
                )
            )


_URL_VALIDATOR = URLValidator()
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _select_in(sql: str, values: Iterable[Any], extra: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql``, whose ``{in}`` is a condition "is one of ``values``": one ``= ANY(array)`` on
    PostgreSQL, chunks of ``IN (...)`` on SQLite; ``extra`` are the parameters after it. Raw SQL: the
    ORM's work on long ``__in`` lists costs more than the query."""
    wanted = list(values)
    if not wanted:
        return []
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql.replace("{in}", "= ANY(%s)"), [wanted, *extra])
            return list(cursor.fetchall())
        for chunk in _chunks(wanted, _IN_SIZES[-1]):
            # A few list lengths only, so that SQLite's statement cache holds a few statements.
            size = next(size for size in _IN_SIZES if size >= len(chunk))
            chunk += [chunk[-1]] * (size - len(chunk))
            condition = f"IN ({', '.join(['%s'] * size)})"
            cursor.execute(sql.replace("{in}", condition), [*chunk, *extra])
            rows += cursor.fetchall()
    return rows


_IN_SIZES = (16, 128, 1024, 4096)


def _json_dict(value: Any) -> dict[str, Any]:
    """A JSON column's value as a dict (SQLite returns the text, PostgreSQL the object)."""
    if isinstance(value, str):
        value = json.loads(value) if value else {}
    return dict(value) if isinstance(value, dict) else {}


def _chunks(items: list[Any], size: int = 900) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _amount(value: str) -> Decimal | None:
    """ "1250000", "1,250,000.50", "1.250.000,50", "€ 1 250 000" as a Decimal with at most 2 decimals."""
    # Spaces and apostrophes group digits in many countries; a currency may stand before or after.
    text = re.sub(r"[\s'\u2019]", "", value)
    text = re.sub(
        r"^(?:[A-Z]{3}|[^\w+\-.,])(?=[\d+-])|(?<=\d)(?:[A-Z]{3}|kr\.?|[^\w.,])$", "", text
    )
    if not re.fullmatch(r"[+-]?\d[\d.,]*", text):
        return None
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
    elif "," in text:
        decimal_mark = "." if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+", text) else ","
    else:
        decimal_mark = "." if not re.fullmatch(r"[-+]?\d{1,3}(\.\d{3}){2,}", text) else ","
    thousands = "." if decimal_mark == "," else ","
    text = text.replace(thousands, "").replace(decimal_mark, ".")
    try:
        amount = Decimal(text)
    except decimal.InvalidOperation:
        return None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    if abs(amount) >= Decimal("1e14"):
        return None
    return amount


def _boolean(value: str) -> str:
    lowered = header_key(value)
    if lowered in {"yes", "true", "1", "y", "si", "ja", "x", "हाँ", "हा"}:
        return "true"
    if lowered in {"no", "false", "0", "n", "nej", "नहीं", "नही"}:
        return "false"
    return value


def _contact_snapshot(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **{name: state[name] for name in CONTACT_SCALARS},
        "custom_fields": dict(state["custom_fields"]),
        "owner_id": state["owner_id"],
        "team_id": state["team_id"],
        "emails": list(state["emails"]),
        "phones": list(state["phones"]),
        "tags": set(state["tags"]),
        "organizations": [
            {"id": organization_id, "label": item["name"], "role": item["role"]}
            for organization_id, item in state["affiliations"].items()
        ],
    }


def _organization_snapshot(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **{name: state[name] for name in ORGANIZATION_SCALARS},
        "custom_fields": dict(state["custom_fields"]),
        "owner_id": state["owner_id"],
        "team_id": state["team_id"],
        "tags": set(state["tags"]),
    }


def _diff(
    before: dict[str, Any], after: dict[str, Any], leave_out: Sequence[str]
) -> dict[str, dict[str, Any]]:
    return {
        name: {"old": json_value(before.get(name)), "new": json_value(value)}
        for name, value in after.items()
        if name not in leave_out and before.get(name) != value
    }


# -- jobs: services --------------------------------------------------------------------------------


def _options_clean(actor: Any, options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    allowed = {"country", "tags", "owner", "team", "encoding"}
    errors: dict[str, list[str]] = {}
    for key in sorted(set(options) - allowed):
        errors.setdefault("options", []).append(_("Unknown option “%(option)s”.") % {"option": key})
    cleaned: dict[str, Any] = {}
    country = str(options.get("country") or "").strip()
    if country:
        code = _country_index().get(header_key(country))
        if code is None:
            errors["country"] = [_("Choose a country from the list.")]
        else:
            cleaned["country"] = code
    tags = options.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list | tuple):
        errors["tags"] = [_("Tags must be a list of names.")]
    else:
        names: list[str] = []
        for item in tags:
            name = " ".join(str(item).split())
            if not name:
                continue
            if len(name) > 60:
                errors["tags"] = [_("A tag name has at most 60 characters.")]
                break
            if name[0] in _FORMULA_STARTS:
                errors["tags"] = [_("A tag name may not start with =, +, -, or @.")]
                break
            if name.casefold() not in (existing.casefold() for existing in names):
                names.append(name)
        if names:
            cleaned["tags"] = names
    owner = team = None
    if options.get("owner") not in (None, ""):
        owner = (
            get_user_model()
            .objects.filter(pk=options["owner"] if str(options["owner"]).isdigit() else 0)
            .first()
        )
        if owner is None:
            errors["owner"] = [_("Choose a user from the list.")]
    if options.get("team") not in (None, ""):
        from clientela.identity.models import Team

        team = Team.objects.filter(
            pk=options["team"] if str(options["team"]).isdigit() else 0
        ).first()
        if team is None:
            errors["team"] = [_("Choose a team from the list.")]
    if not errors and (owner is not None or team is not None):
        try:
            ownership_resolve(actor=actor, owner=owner, team=team)
        except PermissionDenied as error:
            errors["owner" if owner is not None else "team"] = [str(error)]
        if owner is not None:
            cleaned["owner"] = owner.pk
        if team is not None:
            cleaned["team"] = team.pk
    encoding = str(options.get("encoding") or "auto").strip().lower()
    if encoding != "auto":
        try:
            cleaned["encoding"] = _encoding_check(encoding)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors, code="invalid")
    return cleaned


@transaction.atomic
def import_job_create(
    *,
    actor: Any,
    record_type: str,
    stored_name: str,
    original_name: str,
    mapping: dict[str, str],
    on_match: str = "skip",
    is_dry_run: bool = False,
    options: dict[str, Any] | None = None,
    dry_run_of: ImportJob | None = None,
    run: bool = True,
) -> ImportJob:
    """Start importing (or, ``is_dry_run``, checking) a stored file with ``mapping``.

    Checks the file (as ``import_preview``), the mapping, ``on_match`` ("skip", "fill", "overwrite") and
    the options ({"country": "DK", "tags": [...], "owner": user id, "team": team id, "encoding": ...});
    ValidationError keyed by what is wrong, and nothing is saved. The job waits (PENDING) until the
    worker runs it; with ``run`` it is queued when the transaction commits.
    """
    require_perm(actor, Perm.PARTIES_IMPORT)
    _record_type_check(record_type)
    if not is_dry_run:
        require_perm(actor, Perm.PARTIES_ADD)
    if on_match not in ImportOnMatch.values:
        raise ValidationError(
            {"on_match": _("Choose what happens to a row that matches a record.")},
            code="invalid",
        )
    if on_match != ImportOnMatch.SKIP and not is_dry_run:
        require_perm(actor, Perm.PARTIES_CHANGE)
    cleaned_options = _options_clean(actor, options)
    preview = import_preview(
        stored_name=stored_name, encoding=cleaned_options.get("encoding", "auto")
    )
    cleaned_mapping = import_mapping_validate(record_type, mapping, preview.header)
    job = ImportJob.objects.create(
        record_type=record_type,
        is_dry_run=is_dry_run,
        created_by=actor,
        original_name=str(original_name or stored_name)[:255],
        stored_name=stored_name,
        file_size=_stored_path(stored_name).stat().st_size,
        file_format=preview.file_format,
        encoding=preview.encoding,
        mapping=cleaned_mapping,
        on_match=on_match,
        options=cleaned_options,
        dry_run_of=dry_run_of,
        total_rows=dry_run_of.total_rows if dry_run_of is not None else None,
    )
    if run:
        from clientela.parties.tasks import import_job_run_task

        transaction.on_commit(lambda: import_job_run_task.enqueue(job_id=job.pk))
    return job


def import_job_start(*, actor: Any, dry_run: ImportJob) -> ImportJob:
    """The real import of a finished dry run: the same file, mapping, on-match rule and options."""
    dry_run = import_job_get(actor, dry_run.pk)
    if not dry_run.is_dry_run:
        raise ValidationError(_("This import is not a dry run."), code="not_dry_run")
    if dry_run.status != ImportStatus.DONE:
        raise ValidationError(
            _("The dry run has not finished; start the import when it has."), code="not_done"
        )
    return import_job_create(
        actor=actor,
        record_type=dry_run.record_type,
        stored_name=dry_run.stored_name,
        original_name=dry_run.original_name,
        mapping=dict(dry_run.mapping),
        on_match=dry_run.on_match,
        is_dry_run=False,
        options=dict(dry_run.options or {}),
        dry_run_of=dry_run,
    )


@transaction.atomic
def import_job_cancel(*, actor: Any, job: ImportJob) -> ImportJob:
    """Stop a waiting or running job: batches already written stay, no further batch is written."""
    job = import_job_get(actor, job.pk)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (ImportStatus.PENDING, ImportStatus.RUNNING):
        raise ValidationError(_("This import has already finished."), code="finished")
    job.status = ImportStatus.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "updated_at"])
    return job


def import_job_run(
    job_id: int, *, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob:
    """Run a job, or resume it from ``next_row`` (a job that stopped half-way, or failed); the task
    and the CLI call it. A finished or cancelled job is returned as it is, so running twice is safe.

    ``progress`` is called with the job after each batch. Problems with the file or the job's rights end
    the job as FAILED with a message; any other error also marks it FAILED and is raised again.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in (ImportStatus.DONE, ImportStatus.CANCELLED):
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.message = ""
        job.save(update_fields=["status", "started_at", "message", "updated_at"])
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    language = getattr(job.created_by, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        run = _ImportRun(job, progress)
        try:
            run.execute()
        except _Stop:
            return ImportJob.objects.get(pk=job_id)
        except (ValidationError, PermissionDenied) as error:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            return _job_fail(job_id, " ".join(messages))
        except Exception as error:
            _job_fail(
                job_id,
                _(
                    "The import stopped because of an unexpected error (%(error)s); running it again "
                    "resumes after the last row written."
                )
                % {"error": type(error).__name__},
            )
            raise
    return ImportJob.objects.get(pk=job_id)


def _job_fail(job_id: int, message: str) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ImportStatus.RUNNING:
            job.status = ImportStatus.FAILED
            job.message = message
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "message", "finished_at", "updated_at"])
    return job


# -- jobs: selectors -------------------------------------------------------------------------------


def import_jobs_visible_to(actor: Any) -> QuerySet[ImportJob]:
    """The imports ``actor`` started; every import for those who see everything and may import."""
    if not has_perm(actor, Perm.PARTIES_IMPORT):
        return ImportJob.objects.none()
    jobs = ImportJob.objects.select_related("created_by")
    if scope_of(actor) == Scope.ALL:
        return jobs
    return jobs.filter(created_by=actor)


def import_job_get(actor: Any, pk: Any) -> ImportJob:
    """One import ``actor`` may see, or Http404."""
    return get_object_or_404(import_jobs_visible_to(actor), pk=pk)


def import_report_rows(job: ImportJob) -> Iterator[list[str]]:
    """The job's report as CSV rows: a header, then one line per data row (a failed row once per error),
    read batch by batch so that memory does not grow with the file."""
    yield list(REPORT_HEADER)
    if job.on_match == ImportOnMatch.SKIP:
        skip_reason = _("Matches an existing record; skipped.")
    else:
        skip_reason = _("Matches an existing record that already has these values.")
    errors = (
        ImportRowError.objects.filter(job=job)
        .order_by("row_number", "id")
        .values_list("row_number", "column", "value", "message")
        .iterator(chunk_size=2000)
    )
    pending = next(errors, None)
    batches = (
        ImportBatch.objects.filter(job=job)
        .order_by("first_row")
        .values_list("first_row", "outcomes", "record_ids")
        .iterator(chunk_size=10)
    )
    for first_row, outcomes, record_ids in batches:
        for position, letter in enumerate(outcomes):
            if letter == EMPTY:
                continue
            number = first_row + position
            while pending is not None and pending[0] < number:
                pending = next(errors, None)
            record_id = record_ids[position] if position < len(record_ids) else None
            record = str(record_id) if record_id else ""
            if letter == FAILED:
                wrote = False
                while pending is not None and pending[0] == number:
                    yield [
                        str(number),
                        OUTCOME_NAMES[letter],
                        "",
                        pending[1],
                        pending[2],
                        pending[3],
                    ]
                    wrote = True
                    pending = next(errors, None)
                if not wrote:
                    yield [str(number), OUTCOME_NAMES[letter], "", "", "", ""]
                continue
            reason = skip_reason if letter == SKIPPED else ""
            yield [str(number), OUTCOME_NAMES[letter], record, "", "", reason]
