"""``python -m bench`` (``make bench``): people at scale, measured against the database's own speed.

For SQLite always, and for PostgreSQL too when ``DATABASE_URL`` is set (scratch databases named
``<name>_bench`` and ``<name>_bench_small`` are created beside the one it names and dropped afterwards),
in a temporary ``CLIENTELA_VAR_DIR``, it runs ``bench.scale``: the raw insert of a generated file, its
import through ``clientela import``, search through a real server against the same SQL run directly,
and the contact list page and endpoint; then writes ``bench/report.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import scale

ROOT = Path(__file__).resolve().parent.parent
CLIENTELA = [sys.executable, "-m", "clientela.cli"]


@dataclass
class Target:
    label: str
    database_url: str | None  # None: SQLite under the temporary var dir
    var_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="clientela-bench-")))
    server_version: str = ""

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env["CLIENTELA_VAR_DIR"] = str(self.var_dir)
        env["DJANGO_SETTINGS_MODULE"] = "clientela.settings"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def run(self, command: list[str], timeout: int = 3600) -> str:
        completed = subprocess.run(
            command,
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed.stdout

    def psycopg_url(self) -> str:
        parts = urlsplit(self.database_url or "")
        return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def _postgres_admin_url(url: str, suffix: str = "bench") -> tuple[str, str]:
    """(a URL for the server's maintenance database, the scratch database's name) for ``url``."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "clientela"
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql", "pgsql") else parts.scheme
    return urlunsplit((scheme, parts.netloc, "/postgres", parts.query, "")), f"{name}_{suffix}"


def _postgres_prepare(url: str, suffix: str = "bench") -> tuple[str, str]:
    """Create an empty scratch database; returns (its URL, the server version)."""
    import psycopg

    admin_url, scratch = _postgres_admin_url(url, suffix)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        connection.execute(f'CREATE DATABASE "{scratch}"')
        row = connection.execute("SHOW server_version").fetchone()
        version = row[0] if row else "?"
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, f"/{scratch}", parts.query, "")
    ), f"PostgreSQL {version}"


def _postgres_drop(url: str, suffix: str = "bench") -> None:
    import psycopg

    admin_url, scratch = _postgres_admin_url(url, suffix)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _machine() -> dict[str, str]:
    import django

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "CPU": cpu,
        "nproc": str(os.cpu_count()),
        "Memory": memory,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "SQLite": sqlite3.sqlite_version,
    }


def _ratio(value: float, ceiling: float) -> str:
    return f"{value / ceiling:.3f}×"


def _report(
    results: list[dict[str, Any]],
    machine: dict[str, str],
    command: str,
    took: float,
    memory: dict[str, Any] | None,
) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Clientela benchmarks",
        "",
        f"Written by `{command}` on {now} in {took / 60:.1f} minutes. Each figure below comes from this one "
        "run; the data is generated deterministically by `bench/dataset.py` (names, emails, phone numbers in "
        "several national formats, organizations, cities; about 3% near-duplicates).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {key} | {value} |" for key, value in machine.items() if value],
        *[
            f"| {result['label']} server | {result['server']} |"
            for result in results
            if result["server"]
        ],
        "",
        "## Import against the database's raw insert",
        "",
        "Raw: the same rows, already parsed in memory, inserted into a bare table of the same database "
        "(`executemany` in one transaction on SQLite, `COPY` on PostgreSQL). Import: `clientela import "
        "contacts FILE` as a child process, through the real path (parsing, validation, E.164, matching "
        "against existing records and within the file, organizations created by name, search index, "
        "events), from start to exit. Target: import ≥ 0.25× raw. Duplicate scan: the one scan of the "
        "whole table that an import queues for the duplicates review queue (the worker runs it after the "
        "import; here `clientela duplicates detect --record-type contacts`), timed on its own.",
        "",
        "| Database | Rows in file | Raw (rows/s) | Import (s) | Import (rows/s) | Ratio | Created | Skipped | Failed | Peak RSS (MiB) | Duplicate scan (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        raw, imported = result["raw"], result["import"]
        lines.append(
            f"| {result['label']} | {raw['rows']:,} | {raw['rows_per_second']:,.0f} | {imported['seconds']:.1f} | "
            f"{imported['rows_per_second']:,.0f} | {_ratio(imported['rows_per_second'], raw['rows_per_second'])} | "
            f"{imported.get('created', 0):,} | {imported.get('skipped', 0):,} | {imported.get('failed', 0):,} | "
            f"{imported['peak_rss_mib']:.0f} | {imported.get('scan_seconds', 0):.1f} |"
        )
    if memory:
        lines += [
            "",
            "Peak memory of the import is bounded by the batch size, not the file size (SQLite, fresh "
            "installations):",
            "",
            "| Rows in file | Peak RSS (MiB) |",
            "| ---: | ---: |",
            *[f"| {rows:,} | {rss:.0f} |" for rows, rss in sorted(memory.items())],
        ]
    lines += [
        "",
        "## Search",
        "",
        "200 queries mixing name prefixes, substrings of names, emails and organizations, phone fragments "
        "and one- or two-letter word starts, through `GET /api/v1/search/?q=…&types=contacts&limit=8` on a "
        "real server process (`clientela runserver`, HTTP on loopback, token authentication), against the "
        "same SQL run directly on a plain database connection. Target: API p95 ≤ 2 × raw p95 + 10 ms.",
        "",
        "| Database | Contacts | Queries | API p50 (ms) | API p95 (ms) | Raw p50 (ms) | Raw p95 (ms) | 2 × raw p95 + 10 | Met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        search = result["search"]
        bound = 2 * search["raw_p95"] + 10
        lines.append(
            f"| {result['label']} | {result['contacts']:,} | {search['queries']} | {search['api_p50']:.1f} | "
            f"{search['api_p95']:.1f} | {search['raw_p50']:.1f} | {search['raw_p95']:.1f} | {bound:.1f} | "
            f"{'yes' if search['api_p95'] <= bound else 'no'} |"
        )
    lines += [
        "",
        "## Contact list page and endpoint",
        "",
        "Through the same server, as an administrator (session cookie for the page, token for the API), "
        "after a warm-up request. Queries: SQL statements of one request at this size and in an "
        "installation of 100 contacts. Target: p95 ≤ 50 ms, the same number of queries at both sizes.",
        "",
        "| Database | Contacts | Endpoint | p50 (ms) | p95 (ms) | Runs | Queries | Queries at 100 |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        for row in result["lists"]:
            start = f"| {result['label']} | {result['contacts']:,} | {row['endpoint']} (`{row['url']}`) |"
            if row["status"] != 200:
                lines.append(f"{start} HTTP {row['status']} | | | | |")
                continue
            lines.append(
                f"{start} {row['p50']:.1f} | {row['p95']:.1f} | {row['runs']} | "
                f"{result['queries'].get(row['endpoint'], '')} | {result['queries_small'].get(row['endpoint'], '')} |"
            )
    lines += [
        "",
        "## Reproducing",
        "",
        "```",
        f"{command}",
        "",
        "make bench                                                          # SQLite",
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/clientela make bench  # SQLite, then PostgreSQL",
        "```",
        "",
    ]
    return "\n".join(lines)


def _prepared(target: Target) -> Target:
    target.run([*CLIENTELA, "migrate", "--no-input", "-v0"])
    return target


def _bench_target(target: Target, path: Path, small: Path, runs: int) -> dict[str, Any]:
    label = target.label
    print(f"== {label}: migrating", flush=True)
    _prepared(target)
    token = scale.bench_user_create(target)
    print(f"== {label}: raw insert of {path.name}", flush=True)
    raw = scale.raw_insert(target, path)
    print(
        f"   {raw['rows']:,} rows in {raw['seconds']:.1f} s ({raw['rows_per_second']:,.0f} rows/s)",
        flush=True,
    )
    print(f"== {label}: clientela import contacts {path.name}", flush=True)
    imported = scale.import_run(target, path)
    print(f"   {imported['summary']} in {imported['seconds']:.1f} s", flush=True)
    # The import queues one scan of the whole table for the duplicates review queue, which the
    # worker runs afterwards; the benchmark runs it here, timed on its own.
    print(f"== {label}: clientela duplicates detect --record-type contacts", flush=True)
    scan_started = time.perf_counter()
    scan_output = target.run(
        [*CLIENTELA, "duplicates", "detect", "--record-type", "contacts"], timeout=7200
    )
    imported["scan_seconds"] = time.perf_counter() - scan_started
    imported["scan_summary"] = scan_output.strip().splitlines()[-1] if scan_output.strip() else ""
    print(f"   {imported['scan_summary']} in {imported['scan_seconds']:.1f} s", flush=True)
    contacts = int(
        target.run(
            [
                *CLIENTELA,
                "shell",
                "-c",
                "from clientela.parties.models import Contact; print(Contact.objects.count())",
            ]
        ).split()[-1]
    )
    server = scale.Server(target)
    try:
        server.session_cookie = scale.session_cookie(target)
        print(f"== {label}: search, {contacts:,} contacts", flush=True)
        search = scale.search_bench(target, server, token, scale.search_queries(path))
        print(
            f"   API p95 {search['api_p95']:.1f} ms, raw p95 {search['raw_p95']:.1f} ms", flush=True
        )
        print(f"== {label}: list page and endpoint ({runs} runs each)", flush=True)
        lists = scale.list_bench(server, token, runs)
    finally:
        server.stop()
    queries = scale.query_counts(target)
    return {
        "label": label,
        "server": target.server_version,
        "contacts": contacts,
        "raw": raw,
        "import": imported,
        "search": search,
        "lists": lists,
        "queries": queries,
    }


def _small_counts(target: Target, small: Path) -> dict[str, int]:
    """Query counts of the list endpoints in an installation of 100 contacts."""
    _prepared(target)
    scale.bench_user_create(target)
    scale.import_run(target, small)
    return scale.query_counts(target)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="Contacts in the file (default: 1,000,000)."
    )
    parser.add_argument(
        "--runs", type=int, default=20, help="Timed runs per list endpoint (default: 20)."
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "report.md")
    parser.add_argument(
        "--cache", type=Path, default=ROOT / "var" / "bench", help="Where generated files are kept."
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="Skip PostgreSQL even with DATABASE_URL."
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="Skip the import memory comparison."
    )
    args = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    print("== generating data", flush=True)
    path = scale.dataset_path(args.cache, args.rows, args.seed)
    small = scale.dataset_path(args.cache, 100, args.seed)
    targets = [Target("SQLite", None)]
    database_url = os.environ.get("DATABASE_URL", "")
    use_postgres = database_url.startswith(("postgres", "postgresql")) and not args.no_postgres
    if use_postgres:
        scratch_url, version = _postgres_prepare(database_url)
        targets.append(Target("PostgreSQL", scratch_url, server_version=version))
    results = []
    memory: dict[int, float] = {}
    try:
        for target in targets:
            result = _bench_target(target, path, small, args.runs)
            suffix = "bench_small"
            if target.database_url:
                small_url, _version = _postgres_prepare(database_url, suffix)
                small_target = Target("small", small_url)
            else:
                small_target = Target("small", None)
            try:
                result["queries_small"] = _small_counts(small_target, small)
            finally:
                shutil.rmtree(small_target.var_dir, ignore_errors=True)
                if target.database_url:
                    _postgres_drop(database_url, suffix)
            results.append(result)
            shutil.rmtree(target.var_dir, ignore_errors=True)
            if target.database_url:
                _postgres_drop(database_url)
        if not args.no_memory:
            # The full file's import into a fresh SQLite installation was measured above.
            memory[results[0]["import"]["rows"]] = results[0]["import"]["peak_rss_mib"]
            tenth = scale.dataset_path(args.cache, max(1000, args.rows // 10), args.seed)
            print(f"== memory: import of {tenth.name} into a fresh SQLite installation", flush=True)
            fresh = _prepared(Target("memory", None))
            try:
                scale.bench_user_create(fresh)
                run = scale.import_run(fresh, tenth)
                memory[run["rows"]] = run["peak_rss_mib"]
            finally:
                shutil.rmtree(fresh.var_dir, ignore_errors=True)
    finally:
        for target in targets:
            shutil.rmtree(target.var_dir, ignore_errors=True)
        if use_postgres:
            _postgres_drop(database_url)
    executable = Path(sys.executable)
    if executable.is_relative_to(ROOT):
        executable = executable.relative_to(ROOT)
    command = f"{executable} -m bench " + " ".join(sys.argv[1:])
    if use_postgres:
        parts = urlsplit(database_url)
        # The report names the server, never a password.
        netloc = parts.netloc.rsplit("@", 1)
        shown = f"{netloc[0].split(':')[0]}@{netloc[1]}" if len(netloc) == 2 else parts.netloc
        command = f"DATABASE_URL={urlunsplit((parts.scheme, shown, parts.path, '', ''))} {command}"
    machine = _machine()
    # Other work on the machine slows every figure down: the report says how busy it was.
    machine["Load average (1 min) before / after"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
    report = _report(
        results, machine, command.strip(), time.perf_counter() - started, memory or None
    )
    args.output.write_text(report)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
