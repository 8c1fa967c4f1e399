"""People at scale: import, search and lists at a million contacts, against the database's raw speed.

For each database (SQLite; PostgreSQL when ``DATABASE_URL`` is set), in a fresh scratch installation:

1. **Raw insert**: the rows of the generated file (``bench.dataset``), parsed into memory first, inserted
   into a bare table of the same database: ``executemany`` in one transaction on SQLite, ``COPY`` on
   PostgreSQL. This is the ceiling the import is compared with.
2. **Import**: ``clientela import contacts FILE`` as a child process, through the real import path
   (validation, E.164, matching, duplicates, search index, events); wall time and peak memory.
3. **Search**: a real server process (``clientela runserver``) answers ``/api/v1/search/`` for 200
   queries mixing prefixes, substrings, phone fragments and short words; each query is also run directly
   on the database (the same SQL the search builds, on a plain connection, no Django).
4. **Lists**: the contact list page and the contacts endpoint (first page, a deep page, sorted, filtered)
   through the same server; the number of SQL queries of each is compared with an installation of 100
   contacts.

On SQLite only, the import's peak memory is also measured for a tenth of the file, to show that it is
bounded by the batch size rather than the file size.
"""

from __future__ import annotations

import csv
import http.client
import json
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.dataset import dataset_write

ROOT = Path(__file__).resolve().parent.parent
CLIENTELA = [sys.executable, "-m", "clientela.cli"]
BENCH_EMAIL = "bench-admin@bench.clientela.example"
RAW_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "organization",
    "job_title",
    "city",
    "country",
)


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def dataset_path(cache_dir: Path, rows: int, seed: int) -> Path:
    """The generated file for ``rows`` and ``seed``, generated once and kept in ``cache_dir``."""
    path = cache_dir / f"contacts-{rows}-{seed}.csv"
    if not path.exists():
        print(f"   generating {rows:,} rows into {path}", flush=True)
        dataset_write(path.with_suffix(".tmp"), rows, seed=seed)
        path.with_suffix(".tmp").rename(path)
    return path


def _rows_of(path: Path) -> list[tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        next(reader)
        return [tuple(row) for row in reader]


# -- 1. raw insert ---------------------------------------------------------------------------------


def raw_insert(target: Any, path: Path) -> dict[str, Any]:
    """Rows per second of the database's own bulk path, into a bare table of the same database."""
    rows = _rows_of(path)
    columns = ", ".join(RAW_COLUMNS)
    create = f"CREATE TABLE bench_raw_contacts (id INTEGER PRIMARY KEY, {', '.join(f'{name} TEXT' for name in RAW_COLUMNS)})"
    if target.database_url is None:
        connection = sqlite3.connect(target.var_dir / "clientela.sqlite3", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("DROP TABLE IF EXISTS bench_raw_contacts")
        connection.execute(create)
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"INSERT INTO bench_raw_contacts ({columns}) VALUES ({', '.join('?' * len(RAW_COLUMNS))})",
            rows,
        )
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE bench_raw_contacts")
        connection.close()
        method = "executemany, one transaction"
    else:
        import psycopg

        with psycopg.connect(target.psycopg_url()) as connection:
            connection.execute("DROP TABLE IF EXISTS bench_raw_contacts")
            connection.execute(create.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"))
            connection.commit()
            started = time.perf_counter()
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY bench_raw_contacts ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            connection.commit()
            seconds = time.perf_counter() - started
            connection.execute("DROP TABLE bench_raw_contacts")
            connection.commit()
        method = "COPY"
    return {
        "rows": len(rows),
        "seconds": seconds,
        "rows_per_second": len(rows) / seconds,
        "method": method,
    }


# -- 2. import -------------------------------------------------------------------------------------


def bench_user_create(target: Any) -> str:
    """An administrator for the benchmark, and an API token for it; returns the token."""
    script = f"""
from clientela.identity.models import User
from clientela.identity.services import api_token_create
from clientela.core.permissions import Role
user, _ = User.objects.get_or_create(email={BENCH_EMAIL!r}, defaults={{"full_name": "Bench", "role": Role.ADMINISTRATOR}})
print(api_token_create(actor=user, name="bench").key)
"""
    output = target.run([*CLIENTELA, "shell", "-c", script])
    return output.strip().splitlines()[-1]


def import_run(target: Any, path: Path) -> dict[str, Any]:
    """``clientela import contacts PATH`` as a child: wall time, its summary line and peak memory
    (the child's own, from ``bench.peak``)."""
    command = [
        sys.executable,
        "-m",
        "bench.peak",
        "import",
        "contacts",
        str(path),
        "--as",
        BENCH_EMAIL,
    ]
    log = target.var_dir / f"import-{path.stem}.log"
    peak_file = target.var_dir / f"import-{path.stem}.peak"
    env = target.env() | {"BENCH_PEAK_FILE": str(peak_file)}
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        code = process.wait()
        seconds = time.perf_counter() - started
    text = log.read_text()
    summary = [line for line in text.splitlines() if line.strip()][-1:] or [""]
    numbers = {
        key: int(value.replace(",", ""))
        for value, key in re.findall(r"([\d,]+) (created|updated|skipped|failed)", summary[0])
    }
    if code not in (0, 1) or "created" not in numbers:
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{text[-3000:]}")
    rows = sum(numbers.values())
    return {
        "command": "clientela import contacts " + path.name,
        "seconds": seconds,
        "rows": rows,
        "rows_per_second": rows / seconds,
        "peak_rss_mib": int(peak_file.read_text()) / 1024 if peak_file.exists() else 0.0,
        "summary": summary[0].strip(),
        **numbers,
    }


# -- 3 and 4. a real server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``clientela runserver`` (no reloader, DEBUG off) on a free loopback port."""

    def __init__(self, target: Any) -> None:
        self.port = _free_port()
        env = target.env() | {"CLIENTELA_DEBUG": "0"}
        self.process = subprocess.Popen(
            [*CLIENTELA, "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("The server did not start")

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes, float]:
        """One request on a new connection, as browsers' first request and curl make it. (On a kept-alive
        connection the development server sends headers and body in two writes, and Nagle's algorithm
        with the client's delayed ACK adds 40 ms to every answer: a measurement of TCP, not of us.)"""
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return response.status, body, (time.perf_counter() - started) * 1000

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def search_queries(path: Path, count: int = 200, seed: int = 7) -> list[str]:
    """``count`` queries people type: name prefixes, substrings of names, emails and organizations,
    phone fragments in other formats, and one- or two-letter word starts."""
    rng = random.Random(seed)
    sample: list[tuple[str, ...]] = []
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        next(reader)
        for number, row in enumerate(reader):
            if number % 997 == 0:
                sample.append(tuple(row))
            if len(sample) >= 1000:
                break
    queries: list[str] = []
    while len(queries) < count:
        first, last, email, phone, organization, _title, _city, _country = rng.choice(sample)
        kind = len(queries) % 8
        if kind in (0, 1) and len(last) >= 4:
            queries.append(last[: rng.randrange(3, min(len(last), 6) + 1)])
        elif kind == 2 and len(last) >= 5:
            start = rng.randrange(1, len(last) - 3)
            queries.append(last[start : start + 4])
        elif kind == 3 and email:
            local = email.split("@")[0]
            queries.append(local[: rng.randrange(4, max(5, min(len(local), 10)))])
        elif kind == 4 and organization:
            queries.append(organization.split()[0][:5].lower())
        elif kind == 5 and phone:
            digits = "".join(character for character in phone if character.isdigit())
            queries.append(digits[-7:])
        elif kind == 6:
            queries.append(f"{first} {last[:3]}")
        elif kind == 7:
            queries.append(last[:2])
    return queries


def _raw_search_sql(target: Any, queries: list[str]) -> list[tuple[str, list[Any]]]:
    """The SQL the search endpoint runs for each query (as the benchmark's administrator)."""
    script = f"""
import json
from clientela.core.search import search_filter
from clientela.identity.models import User
from clientela.parties.selectors import contacts_visible_to
user = User.objects.get(email={BENCH_EMAIL!r})
out = []
for text in json.loads({json.dumps(json.dumps(queries))}):
    queryset = search_filter(contacts_visible_to(user), text).select_related(None).prefetch_related(None)
    sql, params = queryset.values_list("id", "first_name", "last_name", "primary_email")[:8].query.sql_with_params()
    out.append([sql, list(params)])
print(json.dumps(out))
"""
    return [
        (sql, params)
        for sql, params in json.loads(
            target.run([*CLIENTELA, "shell", "-c", script]).strip().splitlines()[-1]
        )
    ]


def search_bench(target: Any, server: Server, token: str, queries: list[str]) -> dict[str, Any]:
    from urllib.parse import quote

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    for text in queries[:10]:
        server.get(f"/api/v1/search/?q={quote(text)}&types=contacts&limit=8", headers)
    api_times = []
    empty = 0
    for text in queries:
        status, body, ms = server.get(
            f"/api/v1/search/?q={quote(text)}&types=contacts&limit=8", headers
        )
        if status != 200:
            raise SystemExit(f"search {text!r} answered {status}: {body[:300]!r}")
        empty += not json.loads(body).get("contacts")
        api_times.append(ms)
    raw_times = []
    statements = _raw_search_sql(target, queries)
    if target.database_url is None:
        connection = sqlite3.connect(target.var_dir / "clientela.sqlite3")
        run = lambda sql, params: connection.execute(sql.replace("%s", "?"), params).fetchall()  # noqa: E731
    else:
        import psycopg

        # As Django runs them (client-side binding): psycopg otherwise prepares a statement run five
        # times on the server, whose generic plan cannot see the pattern and walks the name index for
        # a rare substring (1-2 s at a million rows).
        connection = psycopg.connect(target.psycopg_url(), prepare_threshold=None)
        run = lambda sql, params: connection.execute(sql, params).fetchall()  # noqa: E731
    for sql, params in statements[:10]:
        run(sql, params)
    for sql, params in statements:
        started = time.perf_counter()
        run(sql, params)
        raw_times.append((time.perf_counter() - started) * 1000)
    connection.close()
    return {
        "queries": len(queries),
        "without_results": empty,
        "api_p50": statistics.median(api_times),
        "api_p95": percentile(api_times, 0.95),
        "raw_p50": statistics.median(raw_times),
        "raw_p95": percentile(raw_times, 0.95),
    }


LIST_ENDPOINTS = (
    ("List page, first page", "/contacts/"),
    ("List page, deep page (200)", "/contacts/?page=200"),
    ("List page, sorted by newest", "/contacts/?sort=-created"),
    ("List page, filtered (stage, country)", "/contacts/?lifecycle_stage=lead&country=DK"),
    ("API, first page", "/api/v1/contacts/"),
    ("API, deep page (200)", "/api/v1/contacts/?page=200"),
    ("API, sorted by newest", "/api/v1/contacts/?sort=-created"),
    ("API, filtered (stage, country)", "/api/v1/contacts/?lifecycle_stage=lead&country=DK"),
)


def query_counts(target: Any) -> dict[str, int]:
    """How many SQL queries each list endpoint makes in this installation (in-process, test client)."""
    script = f"""
import json
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from clientela.identity.models import User
client = Client(headers={{"Accept": "application/json"}}, SERVER_NAME="localhost")
client.force_login(User.objects.get(email={BENCH_EMAIL!r}))
counts = {{}}
for label, url in {LIST_ENDPOINTS!r}:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    counts[label] = len(queries) if response.status_code == 200 else -response.status_code
print(json.dumps(counts))
"""
    return json.loads(target.run([*CLIENTELA, "shell", "-c", script]).strip().splitlines()[-1])


def list_bench(server: Server, token: str, runs: int) -> list[dict[str, Any]]:
    results = []
    for label, url in LIST_ENDPOINTS:
        headers = (
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if url.startswith("/api/")
            else {"Cookie": server.session_cookie}
        )
        status, _body, _ms = server.get(url, headers)
        if status != 200:
            results.append({"endpoint": label, "url": url, "status": status})
            continue
        server.get(url, headers)
        samples = [server.get(url, headers)[2] for _ in range(runs)]
        results.append(
            {
                "endpoint": label,
                "url": url,
                "status": 200,
                "p50": statistics.median(samples),
                "p95": percentile(samples, 0.95),
                "runs": runs,
            }
        )
    return results


def session_cookie(target: Any) -> str:
    script = f"""
from django.test import Client
from clientela.identity.models import User
client = Client()
client.force_login(User.objects.get(email={BENCH_EMAIL!r}))
print(client.cookies["sessionid"].value)
"""
    return "sessionid=" + target.run([*CLIENTELA, "shell", "-c", script]).strip().splitlines()[-1]
