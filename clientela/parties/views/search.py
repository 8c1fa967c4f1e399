"""Pages: search across contacts and organizations.

``/search/?q=`` is the full results page that the global search box submits to; ``/search/live/?q=``
is the dropdown the box shows as one types (an htmx partial). Both read through
``parties.search.search_everything``, scoped to the person asking.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from clientela.core.permissions import Perm, require_perm
from clientela.core.search import MAX_QUERY_LENGTH, search_terms
from clientela.parties.search import search_counts, search_everything

# How many of each type the dropdown shows, and the full results page before its "all" links.
LIVE_LIMIT = 8
PAGE_LIMIT = 20


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "")[:MAX_QUERY_LENGTH].strip()


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_VIEW)
    query = _query(request)
    has_terms = bool(search_terms(query))
    results = search_everything(request.user, query, limit=PAGE_LIMIT)
    counts = search_counts(request.user, query) if has_terms else {}
    context = {
        "query": query,
        "has_terms": has_terms,
        "contacts": results["contacts"],
        "organizations": results["organizations"],
        "contact_count": counts.get("contacts", 0),
        "organization_count": counts.get("organizations", 0),
    }
    return render(request, "parties/search.html", context)


@login_required
@require_GET
def search_live(request: HttpRequest) -> HttpResponse:
    """The dropdown of the global search box: a fixed number of queries whatever the matches."""
    require_perm(request.user, Perm.PARTIES_VIEW)
    query = _query(request)
    results = search_everything(request.user, query, limit=LIVE_LIMIT)
    context = {
        "query": query,
        "has_terms": bool(search_terms(query)),
        "contacts": results["contacts"],
        "organizations": results["organizations"],
        "shown_count": len(results["contacts"]) + len(results["organizations"]),
    }
    response = render(request, "parties/search_live.html", context)
    # Results change with every write: a browser must not answer the next keystroke from its cache.
    response["Cache-Control"] = "no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("search/", search_page, name="search"),
    path("search/live/", search_live, name="search_live"),
]
