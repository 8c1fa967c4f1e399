"""Time list pages and API endpoints in an installation that ``python -m bench`` has filled.

Run as ``python -m bench.endpoints`` with ``CLIENTELA_VAR_DIR`` (and ``DATABASE_URL``) pointing at it;
prints one JSON document on stdout. Requests go through Django's test ``Client``, so every middleware,
the session, the selectors and the templates or serializers run, but no network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

# What is measured: (label, URL). A search for a surname common in the demo's Nordic countries, and a
# filter on two indexed columns.
ENDPOINTS = (
    ("Contact list page, first page, default sort", "/contacts/"),
    ("Contact list page, search q=hansen", "/contacts/?q=hansen"),
    (
        "Contact list page, filter stage=customer & country=DE",
        "/contacts/?lifecycle_stage=customer&country=DE",
    ),
    ("Contacts API, first page, default sort", "/api/v1/contacts/"),
    ("Contacts API, search q=hansen", "/api/v1/contacts/?q=hansen"),
    (
        "Contacts API, filter stage=customer & country=DE",
        "/api/v1/contacts/?lifecycle_stage=customer&country=DE",
    ),
)
USERS = (
    ("administrator", "admin@demo.clientela.example"),
    ("representative", "lars@demo.clientela.example"),
)


def _percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``share`` of samples at or below it."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def _availability(response: Any, is_api: bool) -> str | None:
    """None when the response is the real thing; else why it is not (not built yet, an error)."""
    if response.status_code >= 500:
        return f"failed (HTTP {response.status_code})"
    if response.status_code != 200:
        return f"not available (HTTP {response.status_code})"
    content_type = response.get("Content-Type", "")
    if is_api:
        if "json" not in content_type or "results" not in response.json():
            return "not available (no paginated JSON list)"
    elif "text/html" not in content_type or b"<html" not in response.content.lower():
        return "not available (no HTML page yet)"
    return None


def measure(runs: int, warmups: int, budget_ms: float = 8_000) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientela.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from clientela.identity.models import User
    from clientela.parties.models import Contact

    setup_test_environment()
    results: dict[str, Any] = {"contacts": Contact.objects.count(), "measurements": []}
    for role, email in USERS:
        user = User.objects.get(email=email)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for label, url in ENDPOINTS:
            is_api = url.startswith("/api/")
            row: dict[str, Any] = {"endpoint": label, "url": url, "user": role}
            headers = {"Accept": "application/json"} if is_api else {}
            response = client.get(url, headers=headers)
            problem = _availability(response, is_api)
            if problem:
                row["status"] = problem
                results["measurements"].append(row)
                continue
            for _ in range(warmups):
                client.get(url, headers=headers)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, headers=headers)
            row["queries"] = len(queries)
            row["bytes"] = len(response.content)
            if is_api:
                row["count"] = response.json().get("count")
            samples: list[float] = []
            # Up to ``runs`` runs, fewer (but at least five) for slow endpoints: `make bench` stays short.
            while len(samples) < runs and (len(samples) < 5 or sum(samples) < budget_ms):
                started = time.perf_counter()
                client.get(url, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
            row |= {
                "status": "ok",
                "runs": len(samples),
                "median_ms": statistics.median(samples),
                "p95_ms": _percentile(samples, 0.95),
                "min_ms": min(samples),
            }
            results["measurements"].append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs, args.warmups)))


if __name__ == "__main__":
    main()
