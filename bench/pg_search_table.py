"""Search on a bare PostgreSQL table of the benchmark's contacts, without a server or Django's models.

Builds ``contact(id, first_name, last_name, search_text)`` from the generated CSV, with the indexes the
migrations create (trigram GIN, tsvector GIN, name B-tree, prefix B-tree), then runs the 200 benchmark
queries two ways and prints p50/p95: "raw" (one query in name order, as the raw column of the report)
and "best" (what ``core.search.search_best`` sends on PostgreSQL). Used for the corrections in
bench/report.md:

    .venv/bin/python -m bench.pg_search_table var/bench/contacts-1000000-2026.csv \\
        postgresql://postgres@127.0.0.1:5432/srch
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import time
from pathlib import Path

ORDER = "lower(last_name), lower(first_name), id"
CAP = 2000


def _build(connection, path: Path) -> None:
    from clientela.core.search import search_document

    connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    connection.execute("DROP TABLE IF EXISTS contact")
    connection.execute(
        "CREATE TABLE contact (id bigint primary key, first_name text, last_name text, search_text text)"
    )
    with (
        path.open(newline="") as source,
        connection.cursor().copy("COPY contact FROM STDIN") as copy,
    ):
        reader = csv.reader(source)
        next(reader)
        for number, (first, last, email, phone, organization, *_rest) in enumerate(reader, 1):
            digits = "".join(character for character in phone if character.isdigit())
            copy.write_row(
                (
                    number,
                    first,
                    last,
                    search_document(first, last, [email], [digits], [organization]),
                )
            )
    connection.execute(f"CREATE INDEX contact_name ON contact ({ORDER})")
    connection.execute("CREATE INDEX contact_trgm ON contact USING gin (search_text gin_trgm_ops)")
    connection.execute(
        "CREATE INDEX contact_words ON contact USING gin (to_tsvector('simple'::regconfig, search_text))"
    )
    connection.execute("CREATE INDEX contact_prefix ON contact (search_text text_pattern_ops)")
    connection.execute("ANALYZE contact")


def _where(text: str) -> tuple[str, list[str]]:
    from clientela.core.search import search_terms

    conditions, params = [], []
    for term in search_terms(text):
        if term.is_substring:
            conditions.append("search_text LIKE %s")
            params.append(f"%{term.text}%")
        else:
            conditions.append(
                "to_tsvector('simple'::regconfig, search_text) @@ to_tsquery('simple'::regconfig, %s)"
            )
            params.append("'" + term.text.replace("'", "''") + "':*")
    return " AND ".join(conditions), params


def _best(connection, where: str, params: list[str], start: str) -> None:
    keys = [
        row[0]
        for row in connection.execute(f"SELECT id FROM contact WHERE {where} LIMIT {CAP}", params)
    ]
    if len(keys) < CAP:
        connection.execute(
            "SELECT id FROM contact WHERE id = ANY(%s) ORDER BY "
            f"CASE WHEN search_text LIKE %s THEN 0 ELSE 1 END, {ORDER} LIMIT 8",
            [keys, start + "%"],
        ).fetchall()
        return
    first = connection.execute(
        f"SELECT id FROM contact WHERE search_text LIKE %s ORDER BY {ORDER} LIMIT 8", [start + "%"]
    ).fetchall()
    if len(first) < 8:
        connection.execute(
            f"SELECT id FROM contact WHERE {where} AND NOT search_text LIKE %s ORDER BY {ORDER} LIMIT 8",
            [*params, start + "%"],
        ).fetchall()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientela.settings")
    import django
    import psycopg

    django.setup()
    from bench.scale import search_queries
    from clientela.core.search import search_terms

    path, url = Path(sys.argv[1]), sys.argv[2]
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as connection:
        if "--reuse" not in sys.argv:
            _build(connection, path)
        times: dict[str, list[float]] = {"raw": [], "best": []}
        for text in search_queries(path):
            where, params = _where(text)
            if not where:
                continue
            start = " ".join(term.text for term in search_terms(text))
            began = time.perf_counter()
            connection.execute(
                f"SELECT id FROM contact WHERE {where} ORDER BY {ORDER} LIMIT 8", params
            ).fetchall()
            times["raw"].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            _best(connection, where, params, start)
            times["best"].append((time.perf_counter() - began) * 1000)
    for name, samples in times.items():
        samples.sort()
        print(
            f"{name}: p50 {statistics.median(samples):.1f} ms, "
            f"p95 {samples[int(len(samples) * 0.95)]:.1f} ms ({len(samples)} queries)"
        )


if __name__ == "__main__":
    main()
