"""Pages every domain shares: the home page and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override

from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import events_visible_to


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from clientela.parties.selectors import contacts_visible_to, organizations_visible_to

    contacts = contacts_visible_to(request.user)
    context = {
        "contact_count": contacts.count(),
        "organization_count": organizations_visible_to(request.user).count(),
        "my_contact_count": contacts.filter(owner=request.user).count(),
        "recent_contacts": contacts.order_by("-created_at", "-id")[:8],
    }
    return render(request, "core/home.html", context)


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    """Every recorded event, newest first, for administrators and analysts."""
    require_perm(request.user, Perm.AUDIT_VIEW)
    events = events_visible_to(request.user)
    if kind := request.GET.get("kind", "").strip():
        events = events.filter(kind=kind)
    if actor := request.GET.get("actor", "").strip():
        events = events.filter(actor_id=actor) if actor.isdigit() else events.none()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page, "nav": "audit"})


def swagger_ui(view: Callable[..., Any]) -> Callable[..., Any]:
    """The API docs page: Swagger UI sets inline styles, so only this page allows them."""
    policy = {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF],
        "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
        "img-src": [CSP.SELF, "data:"],
        "connect-src": [CSP.SELF],
        "object-src": [CSP.NONE],
        "frame-ancestors": [CSP.NONE],
    }
    return csp_override(policy)(view)


@login_required
def custom_field_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.CUSTOM_FIELDS_MANAGE)
    return HttpResponse("TODO")
