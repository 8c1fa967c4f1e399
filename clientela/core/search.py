"""Full-text search on the database's own engine, behind one small interface (ADR 0015).

A searchable model has a ``search_text`` column that its services fill with ``search_normalize``d text
(lower case, accents removed, phone numbers as digits). The database indexes that column:

- SQLite: two FTS5 external-content tables kept current by triggers in the same transaction as the
  write: ``<table>_fts`` (trigram tokenizer: any substring of three characters or more) and
  ``<table>_words`` (unicode61: word prefixes, for terms of one or two characters such as "Li" or "Wu").
- PostgreSQL: a pg_trgm GIN index on ``search_text`` (substrings: ``LIKE '%term%'``) and a GIN index on
  ``to_tsvector('simple', search_text)`` (word prefixes for short terms).

``search_filter(queryset, text)`` narrows a queryset of such a model to the rows matching every term;
``SearchIndex(model_name)`` is the migration operation that creates the database side. Nothing else in
Clientela knows which engine runs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, migrations
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

# Substring terms need three characters (a trigram); shorter ones match the start of a word.
MIN_SUBSTRING = 3
# Characters people type inside phone numbers.
_PHONE_PUNCTUATION = re.compile(r"[\s+().\-/]")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")


def search_normalize(text: str) -> str:
    """``text`` as the index stores it and queries compare it: lower case, no accents, single spaces.

    "José Ødegård" → "jose odegard". Letters that do not decompose (ø, æ, ß, ł) are folded to their
    usual ASCII spelling so that people can type them on any keyboard.
    """
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(character for character in text if not unicodedata.combining(character))
    return " ".join(text.translate(_FOLD).split())


_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})


def search_phone_digits(e164: str) -> str:
    """How a stored phone number appears in ``search_text``: its digits ("+14155550100" → "14155550100").

    A query typed in a national format ("(415) 555-0100", "020 7946 0958") loses its punctuation and
    trunk zeros (``search_terms``), so it is a substring of this.
    """
    return "".join(character for character in e164 if character.isdigit())


def search_document(*parts: str | Iterable[str] | None) -> str:
    """The ``search_text`` of a record from its parts (strings, or lists of strings), normalized."""
    words: list[str] = []
    for part in parts:
        if not part:
            continue
        if isinstance(part, str):
            words.append(part)
        else:
            words.extend(item for item in part if item)
    return search_normalize(" ".join(words))


@dataclass(frozen=True)
class SearchTerm:
    text: str

    @property
    def is_substring(self) -> bool:
        return len(self.text) >= MIN_SUBSTRING


def search_terms(text: str) -> list[SearchTerm]:
    """The terms of a query; a row matches when it matches every one.

    A query that looks like a phone number ("+1 415-555-0100", "0045 32 12 34 56") is one term of
    digits, without the international prefix or trunk zeros, so that any format finds the E.164 number.
    """
    text = (text or "").strip()
    if not text:
        return []
    if _PHONE_LIKE.match(text):
        digits = _PHONE_PUNCTUATION.sub("", text)
        if len(digits) >= 4:
            return [SearchTerm(digits.lstrip("0") or digits)]
    seen: dict[str, SearchTerm] = {}
    for word in search_normalize(text).split(" "):
        # Punctuation around a word ("hansen," or "(acme)") is not part of what people look for.
        word = word.strip(".,;:!?()[]{}\"'")
        if word and word not in seen:
            seen[word] = SearchTerm(word)
    # A short term that is part of a longer one ("jo" in "jose") adds nothing.
    terms = list(seen.values())
    return [
        term
        for term in terms
        if term.is_substring
        or not any(other is not term and term.text in other.text for other in terms)
    ]


def _fts5_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_filter[Q: QuerySet[Any]](queryset: Q, text: str) -> Q:
    """``queryset`` narrowed to rows whose ``search_text`` matches every term of ``text``.

    Runs on the full-text index of the database in use; an empty query changes nothing.
    """
    terms = search_terms(text)
    if not terms:
        return queryset
    model = queryset.model
    table = model._meta.db_table
    if connection.vendor == "sqlite":
        substrings = [term.text for term in terms if term.is_substring]
        prefixes = [term.text for term in terms if not term.is_substring]
        if substrings:
            match = " AND ".join(_fts5_phrase(term) for term in substrings)
            queryset = queryset.filter(
                pk__in=RawSQL(
                    f'SELECT rowid FROM "{table}_fts" WHERE "{table}_fts" MATCH %s',
                    [match],
                )
            )
        if prefixes:
            match = " AND ".join(f"{_fts5_phrase(term)}*" for term in prefixes)
            queryset = queryset.filter(
                pk__in=RawSQL(
                    f'SELECT rowid FROM "{table}_words" WHERE "{table}_words" MATCH %s',
                    [match],
                )
            )
        return queryset
    column = f'"{table}"."search_text"'
    where: list[str] = []
    params: list[str] = []
    for term in terms:
        if term.is_substring:
            where.append(f"{column} LIKE %s")
            params.append(_like_pattern(term.text))
        else:
            where.append(
                f"to_tsvector('simple'::regconfig, {column}) @@ to_tsquery('simple'::regconfig, %s)"
            )
            # Quoted as a lexeme so that the term's own characters never read as tsquery operators.
            params.append("'" + term.text.replace("'", "''").replace("\\", "\\\\") + "':*")
    return queryset.extra(where=where, params=params)  # noqa: S610


# -- the database side, created by migrations --------------------------------------------------


def _sqlite_statements(table: str) -> list[str]:
    statements = []
    # Substring phrases need token positions (detail full); word prefixes need none.
    for suffix, tokenizer, detail in (
        ("fts", "trigram", "full"),
        ("words", "unicode61 remove_diacritics 2", "none"),
    ):
        index = f"{table}_{suffix}"
        statements += [
            f"CREATE VIRTUAL TABLE \"{index}\" USING fts5(search_text, content='{table}', "
            f"content_rowid='id', tokenize='{tokenizer}', detail='{detail}')",
            f'CREATE TRIGGER "{index}_ai" AFTER INSERT ON "{table}" BEGIN '
            f'INSERT INTO "{index}"(rowid, search_text) VALUES (new.id, new.search_text); END',
            f'CREATE TRIGGER "{index}_ad" AFTER DELETE ON "{table}" BEGIN '
            f'INSERT INTO "{index}"("{index}", rowid, search_text) VALUES (\'delete\', old.id, '
            f"old.search_text); END",
            f'CREATE TRIGGER "{index}_au" AFTER UPDATE OF search_text ON "{table}" BEGIN '
            f'INSERT INTO "{index}"("{index}", rowid, search_text) VALUES (\'delete\', old.id, '
            f"old.search_text); "
            f'INSERT INTO "{index}"(rowid, search_text) VALUES (new.id, new.search_text); END',
            f'INSERT INTO "{index}"("{index}") VALUES (\'rebuild\')',
        ]
    return statements


def _sqlite_drop(table: str) -> list[str]:
    statements = []
    for suffix in ("fts", "words"):
        index = f"{table}_{suffix}"
        statements += [f'DROP TRIGGER IF EXISTS "{index}_{event}"' for event in ("ai", "ad", "au")]
        statements.append(f'DROP TABLE IF EXISTS "{index}"')
    return statements


def _postgresql_statements(table: str) -> list[str]:
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f'CREATE INDEX "{table}_search_trgm" ON "{table}" USING gin (search_text gin_trgm_ops)',
        f'CREATE INDEX "{table}_search_words" ON "{table}" '
        f"USING gin (to_tsvector('simple'::regconfig, search_text))",
    ]


def _postgresql_drop(table: str) -> list[str]:
    return [
        f'DROP INDEX IF EXISTS "{table}_search_trgm"',
        f'DROP INDEX IF EXISTS "{table}_search_words"',
    ]


class SearchIndex(migrations.operations.base.Operation):
    """Migration operation: the full-text index of ``model_name``'s ``search_text`` on this database."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: Any) -> None:
        return None

    def _table(self, app_label: str, state: Any) -> str:
        model = state.apps.get_model(app_label, self.model_name)
        return str(model._meta.db_table)

    def _run(self, schema_editor: Any, statements: list[str]) -> None:
        for statement in statements:
            schema_editor.execute(statement)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        table = self._table(app_label, to_state)
        vendor = schema_editor.connection.vendor
        if vendor == "sqlite":
            self._run(schema_editor, _sqlite_statements(table))
        elif vendor == "postgresql":
            self._run(schema_editor, _postgresql_statements(table))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        table = self._table(app_label, from_state)
        vendor = schema_editor.connection.vendor
        if vendor == "sqlite":
            self._run(schema_editor, _sqlite_drop(table))
        elif vendor == "postgresql":
            self._run(schema_editor, _postgresql_drop(table))

    def describe(self) -> str:
        return f"Full-text search index of {self.model_name}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return ("clientela.core.search.SearchIndex", [self.model_name], {})
