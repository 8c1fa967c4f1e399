"""``python -m bench`` (``make bench``): load the large demo and time the contact list and API.

For SQLite always, and for PostgreSQL too when ``DATABASE_URL`` is set (a scratch database named
``<name>_bench`` is created beside the one it names and dropped afterwards), it

1. migrates a fresh database in a temporary ``CLIENTELA_VAR_DIR``;
2. runs ``clientela demo --size large`` as a child process and records its wall time, rows per second
   and peak resident memory (``wait4``'s ``ru_maxrss``);
3. times the contact list page and the contacts API (``bench.endpoints``) as an administrator and as a
   representative: median and 95th percentile of several runs;

then writes ``bench/report.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
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


def _postgres_admin_url(url: str) -> tuple[str, str]:
    """(a URL for the server's maintenance database, the scratch database's name) for ``url``."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "clientela"
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql", "pgsql") else parts.scheme
    return urlunsplit((scheme, parts.netloc, "/postgres", parts.query, "")), f"{name}_bench"


def _postgres_prepare(url: str) -> tuple[str, str]:
    """Create an empty scratch database; returns (its URL, the server version)."""
    import psycopg

    admin_url, scratch = _postgres_admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        connection.execute(f'CREATE DATABASE "{scratch}"')
        row = connection.execute("SHOW server_version").fetchone()
        version = row[0] if row else "?"
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, f"/{scratch}", parts.query, "")
    ), f"PostgreSQL {version}"


def _postgres_drop(url: str) -> None:
    import psycopg

    admin_url, scratch = _postgres_admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _run(command: list[str], target: Target, timeout: int = 900) -> str:
    completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command,
        env=target.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


def _demo_load(target: Target, demo_args: list[str]) -> dict[str, Any]:
    """Run `clientela demo` as a child; its wall time, rows and peak memory."""
    command = [*CLIENTELA, "demo", *demo_args]
    log = target.var_dir / "demo.log"
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, env=target.env(), cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{text}")
    loaded = re.search(r"Loaded ([\d,]+) organizations, ([\d,]+) contacts .*?\(([\d,]+) rows", text)
    if loaded is None:
        raise SystemExit(f"Unexpected output of {' '.join(command)}:\n{text}")
    organizations, contacts, rows = (int(value.replace(",", "")) for value in loaded.groups())
    return {
        "command": "clientela demo " + " ".join(demo_args),
        "seconds": seconds,
        "organizations": organizations,
        "contacts": contacts,
        "rows": rows,
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }


def _bench_target(target: Target, demo_args: list[str], runs: int) -> dict[str, Any]:
    print(f"== {target.label}: migrating", flush=True)
    _run([*CLIENTELA, "migrate", "--no-input", "-v0"], target)
    print(f"== {target.label}: clientela demo {' '.join(demo_args)}", flush=True)
    load = _demo_load(target, demo_args)
    print(
        f"   {load['rows']:,} rows in {load['seconds']:.1f} s, peak RSS {load['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    print(f"== {target.label}: timing pages and API ({runs} runs each)", flush=True)
    endpoints = json.loads(
        _run([sys.executable, "-m", "bench.endpoints", "--runs", str(runs)], target)
    )
    return {"label": target.label, "server": target.server_version, "load": load, **endpoints}


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


def _report(
    results: list[dict[str, Any]], machine: dict[str, str], command: str, took: float
) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Clientela benchmarks",
        "",
        f"Written by `{command}` on {now} in {took / 60:.1f} minutes.",
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
        "## Loading the demo data",
        "",
        "One child process each; peak memory is its maximum resident set size.",
        "",
        "| Database | Command | Organizations | Contacts | Rows | Time (s) | Rows/s | Contacts/s | Peak RSS (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        load = result["load"]
        lines.append(
            f"| {result['label']} | `{load['command']}` | {load['organizations']:,} | {load['contacts']:,} | "
            f"{load['rows']:,} | {load['seconds']:.1f} | {load['rows'] / load['seconds']:,.0f} | "
            f"{load['contacts'] / load['seconds']:,.0f} | {load['peak_rss_mib']:.0f} |"
        )
    lines += [
        "",
        "## Contact list and API",
        "",
        "Django's test client, logged in, after two warm-up requests; up to 15 timed runs (at least 5, fewer "
        "when an endpoint is slow, to keep `make bench` short). p95 is the nearest-rank 95th percentile, so "
        'with few runs it is the slowest one. Queries and bytes are of one request; "failed" is a server '
        'error, "not available" an endpoint that is not there yet.',
        "",
        "| Database | Contacts | Endpoint | User | Median (ms) | p95 (ms) | Min (ms) | Runs | Queries | Bytes | API count |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        for row in result["measurements"]:
            start = f"| {result['label']} | {result['contacts']:,} | {row['endpoint']} (`{row['url']}`) | {row['user']} |"
            if row["status"] != "ok":
                lines.append(f"{start} {row['status']} | | | | | | |")
                continue
            count = "" if row.get("count") is None else f"{row['count']:,}"
            lines.append(
                f"{start} {row['median_ms']:.1f} | {row['p95_ms']:.1f} | {row['min_ms']:.1f} | {row['runs']} | "
                f"{row['queries']} | {row['bytes']:,} | {count} |"
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", help="Demo size to load (default: large).")
    parser.add_argument(
        "--contacts", type=int, help="Load this many contacts instead of a named size."
    )
    parser.add_argument(
        "--runs", type=int, default=15, help="Timed runs per endpoint (default: 15)."
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "report.md")
    parser.add_argument(
        "--no-postgres", action="store_true", help="Skip PostgreSQL even with DATABASE_URL."
    )
    args = parser.parse_args()

    demo_args = ["--size", args.size, "--seed", "2026"]
    if args.contacts:
        demo_args += ["--contacts", str(args.contacts)]
    targets = [Target("SQLite", None, server_version="")]
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres", "postgresql")) and not args.no_postgres:
        scratch_url, version = _postgres_prepare(database_url)
        targets.append(Target("PostgreSQL", scratch_url, server_version=version))

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = []
    try:
        for target in targets:
            results.append(_bench_target(target, demo_args, args.runs))
    finally:
        for target in targets:
            shutil.rmtree(target.var_dir, ignore_errors=True)
        if len(targets) > 1:
            _postgres_drop(database_url)
    executable = Path(sys.executable)
    if executable.is_relative_to(ROOT):
        executable = executable.relative_to(ROOT)
    command = f"{executable} -m bench " + " ".join(sys.argv[1:])
    if len(targets) > 1:
        parts = urlsplit(database_url)
        # The report names the server, never a password.
        netloc = parts.netloc.rsplit("@", 1)
        shown = f"{netloc[0].split(':')[0]}@{netloc[1]}" if len(netloc) == 2 else parts.netloc
        command = f"DATABASE_URL={urlunsplit((parts.scheme, shown, parts.path, '', ''))} {command}"
    machine = _machine()
    # Other work on the machine slows every figure down: the report says how busy it was.
    machine["Load average (1 min) before / after"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
    report = _report(results, machine, command.strip(), time.perf_counter() - started)
    args.output.write_text(report)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
