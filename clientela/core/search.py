"""Full-text search on the database's own engine, behind one small interface (ADR 0015).

A searchable model has a ``search_text`` column that its services fill with ``search_normalize``d text
(lower case, accents removed, phone numbers as digits). The database indexes that column:

- SQLite: two FTS5 external-content tables kept current by triggers in the same transaction as the
  write: ``<table>_fts`` (trigram tokenizer: any substring of three characters or more) and
  ``<table>_words`` (unicode61: word prefixes, for terms of one or two characters such as "Li" or "Wu").
- PostgreSQL: a pg_trgm GIN index on ``search_text`` (substrings: ``LIKE '%term%'``) and a GIN index on
  ``to_tsvector('simple', search_text)`` (word prefixes for short terms).

``search_filter(queryset, text)`` narrows a queryset of such a model to the rows matching every term;
``search_best(queryset, text, limit=...)`` returns the best few of them (names that start with the
text first), for search-as-you-type; ``SearchIndex(model_name)`` is the migration operation that
creates the database side. Nothing else in Clientela knows which engine runs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, migrations
from django.db.models import (
    BooleanField,
    Case,
    F,
    Func,
    IntegerField,
    Model,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

# Substring terms need three characters (a trigram); shorter ones match the start of a word.
MIN_SUBSTRING = 3
# Longer queries are cut: nobody types more, and each term costs an index lookup.
MAX_QUERY_LENGTH = 200
# Characters people type inside phone numbers.
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")


def search_normalize(text: str) -> str:
    """``text`` as the index stores it and queries compare it: lower case, no accents, single spaces.

    "José Ødegård" → "jose odegard". Letters that do not decompose (ø, æ, ß, ł) are folded to their
    usual ASCII spelling so that people can type them on any keyboard. Only Latin, Greek and Cyrillic
    letters lose their marks: in scripts such as Devanagari the marks are vowels and viramas, part of
    the word ("प्रिया" stays "प्रिया"). Control and format characters (NUL, zero-width joiners, soft
    hyphens) are left out.
    """
    if text.isascii():
        # Most names, emails and numbers: the same result as below, much faster (imports call this).
        text = text.lower()
        if not text.isprintable():
            text = _ASCII_CONTROL.sub(" ", text)
        return " ".join(text.split())
    kept: list[str] = []
    is_after_alphabet = False
    for character in unicodedata.normalize("NFKD", text.casefold()):
        category = unicodedata.category(character)
        if category[0] == "M":
            if is_after_alphabet:
                continue
        elif category == "Cc":
            character, is_after_alphabet = " ", False
        elif category in ("Cf", "Cs", "Co", "Cn"):
            continue
        else:
            is_after_alphabet = _is_alphabet_letter(character)
        kept.append(character)
    # Recomposed, so that other scripts are indexed as people type them (Hangul syllables, not jamo).
    text = unicodedata.normalize("NFC", "".join(kept))
    return " ".join(text.translate(_FOLD).split())


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})


@functools.lru_cache(maxsize=4096)
def _is_alphabet_letter(character: str) -> bool:
    """Whether ``character`` is a Latin, Greek or Cyrillic letter, whose accents search ignores."""
    return unicodedata.name(character, "").startswith(("LATIN ", "GREEK ", "CYRILLIC "))


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
    Punctuation around words is dropped, and so are short terms without a letter or digit ("&", "--"):
    nothing is indexed under them. Only the first ``MAX_QUERY_LENGTH`` characters count.
    """
    text = (text or "")[:MAX_QUERY_LENGTH].strip()
    if not text:
        return []
    if _PHONE_LIKE.match(text) and (digits := _phone_digits(text)):
        return [SearchTerm(digits)]
    seen: dict[str, SearchTerm] = {}
    for word in search_normalize(text).split(" "):
        if _PHONE_LIKE.match(word) and not word.isdecimal():
            # A phone number beside other words ("ana 415-555-0100"): its digits, as above.
            word = _phone_digits(word) or word
        # Punctuation around a word ("hansen," or "(acme)") is not part of what people look for.
        word = word.strip(_WORD_PUNCTUATION)
        if not word or word in seen:
            continue
        term = SearchTerm(word)
        if term.is_substring or any(character.isalnum() for character in word):
            seen[word] = term
    # A short term that is part of a longer one ("jo" in "jose") adds nothing.
    terms = list(seen.values())
    return [
        term
        for term in terms
        if term.is_substring
        or not any(other is not term and term.text in other.text for other in terms)
    ]


_WORD_PUNCTUATION = ".,;:!?()[]{}\"'+*"


def _phone_digits(text: str) -> str:
    """The digits of a phone number as typed, as they appear in stored E.164 numbers.

    Any script's digits ("४१५" too) become ASCII; the international prefix and trunk zeros go
    ("001 415…", "020 7946…"), and so does the "(0)" of "+44 (0)20 7946 0958".
    """
    text = text.replace("(0)", "")
    digits = "".join(
        str(unicodedata.decimal(character)) for character in text if character.isdecimal()
    )
    return digits.lstrip("0") or digits


def _fts5_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search_filter[QS: QuerySet[Any]](queryset: QS, text: str) -> QS:
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
    # Expressions, not raw SQL naming the table: the queryset may end up as a subquery under an alias
    # (``pk__in=found.values("pk")``).
    for term in terms:
        if term.is_substring:
            # LIKE '%term%' (Django escapes % and _), which the trigram index serves.
            queryset = queryset.filter(search_text__contains=term.text)
        else:
            queryset = queryset.filter(
                _WordPrefixMatch(F("search_text"), Value(_tsquery_prefix(term.text)))
            )
    return queryset


def _tsquery_prefix(text: str) -> str:
    # Quoted as a lexeme so that the term's own characters never read as tsquery operators.
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "':*"


class _WordPrefixMatch(Func):
    """PostgreSQL: a word of the column starts with the prefix tsquery, on the expression index."""

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column, column_params = compiler.compile(self.source_expressions[0])
        query, query_params = compiler.compile(self.source_expressions[1])
        return (
            f"to_tsvector('simple'::regconfig, {column}) @@ to_tsquery('simple'::regconfig, {query})",
            [*column_params, *query_params],
        )


# PostgreSQL: up to this many matches are fetched by key and sorted; more are read in name order.
SEARCH_SORT_CAP = 2000


def search_best[M: Model](queryset: QuerySet[M], text: str, *, limit: int) -> list[M]:
    """Up to ``limit`` rows of ``queryset`` that ``text`` finds, best first; none without terms.

    First the rows whose search text starts with the query: their name does, since it comes first in
    the document ("jose" puts José Ruiz before Ana Josefsson); then the others. Each group keeps the
    queryset's order (the model's default: by name). One query on SQLite; two or three on PostgreSQL,
    whatever the number of matches (ADR 0015).
    """
    terms = search_terms(text)
    if not terms:
        return []
    found = search_filter(queryset, text)
    ordering = list(found.query.order_by or found.model._meta.ordering or ())
    starts = Q(search_text__startswith=" ".join(term.text for term in terms))
    rank = Case(When(starts, then=Value(0)), default=Value(1), output_field=IntegerField())
    if connection.vendor == "postgresql":
        # PostgreSQL cannot tell how the matches of a pattern spread over the name order: for a
        # rare name late in the alphabet ("schou": 1,218 of a million contacts) it walks the name
        # index through 835,000 rows (1.3 s). So: fetch the keys of up to SEARCH_SORT_CAP matches
        # (the full-text index finds a few fast; with many, a scan stops early) and sort those; only
        # with more matches than that, walk the name index, which then finds them soon.
        keys = list(found.order_by().values_list("pk", flat=True)[:SEARCH_SORT_CAP])
        if len(keys) < SEARCH_SORT_CAP:
            chosen = queryset.filter(pk__in=keys).alias(search_rank=rank)
            return list(chosen.order_by("search_rank", *ordering)[:limit])
        # Starting with the whole query implies matching every term: the prefix index alone finds them.
        first = list(queryset.filter(starts).order_by(*ordering)[:limit])
        if len(first) == limit:
            return first
        others = list(found.exclude(starts).order_by(*ordering)[: limit - len(first)])
        return first + others
    # SQLite reads the matches from the FTS table and sorts them all anyway: ranking them is free.
    return list(found.alias(search_rank=rank).order_by("search_rank", *ordering)[:limit])


# -- the database side, created by migrations --------------------------------------------------


def _sqlite_statements(table: str) -> list[str]:
    statements = []
    # Substring phrases need token positions (detail full); word prefixes need none. Words are made
    # of letters, digits and marks (the default leaves marks out, splitting Devanagari words at each
    # vowel sign); the quotes are doubled inside the SQL string.
    for suffix, tokenizer, detail in (
        ("fts", "trigram", "full"),
        ("words", "unicode61 remove_diacritics 2 categories ''L* N* Co M*''", "none"),
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
        *_postgresql_prefix_statements(table),
    ]


def _postgresql_prefix_statements(table: str) -> list[str]:
    # "Starts with" (search_best's first group): a range of a B-tree, not a trigram bitmap that
    # rechecks every row sharing the prefix's trigrams (0.1 ms against 140 ms at a million rows).
    return [
        f'CREATE INDEX IF NOT EXISTS "{table}_search_prefix" ON "{table}" '
        f"(search_text text_pattern_ops)"
    ]


def _postgresql_drop(table: str) -> list[str]:
    return [
        f'DROP INDEX IF EXISTS "{table}_search_trgm"',
        f'DROP INDEX IF EXISTS "{table}_search_words"',
        f'DROP INDEX IF EXISTS "{table}_search_prefix"',
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


class SearchPrefixIndex(SearchIndex):
    """Migration operation: on PostgreSQL, the B-tree that serves "search text starts with" (added
    after ``SearchIndex`` had run; ``SearchIndex`` creates it too)."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            self._run(
                schema_editor, _postgresql_prefix_statements(self._table(app_label, to_state))
            )

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            table = self._table(app_label, from_state)
            self._run(schema_editor, [f'DROP INDEX IF EXISTS "{table}_search_prefix"'])

    def describe(self) -> str:
        return f"Search prefix index of {self.model_name}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return ("clientela.core.search.SearchPrefixIndex", [self.model_name], {})
