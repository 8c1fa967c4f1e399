"""Pages every domain shares: the home page and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_http_methods

from clientela.core.custom_fields import custom_field_record_types
from clientela.core.forms import CustomFieldDefinitionForm
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import (
    custom_field_definition_get,
    custom_field_definitions_for,
    events_visible_to,
)
from clientela.core.services import (
    custom_field_definition_create,
    custom_field_definition_delete,
    custom_field_definition_update,
)
from clientela.core.timeline import event_entries, event_kind_choices


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
    page = CappedPaginator(events, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "entries": event_entries(page.object_list),
        "kinds": event_kind_choices(),
        "kind": kind,
        "nav": "audit",
    }
    return render(request, "core/audit.html", context)


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
    """The custom fields of every record type that can carry them."""
    require_perm(request.user, Perm.CUSTOM_FIELDS_MANAGE)
    groups = [
        {
            "record_type": record_type,
            "label": label,
            "definitions": custom_field_definitions_for(record_type),
        }
        for record_type, label in custom_field_record_types().items()
    ]
    return render(request, "core/custom_field_list.html", {"groups": groups, "nav": "settings"})


@login_required
@require_http_methods(["GET", "POST"])
def custom_field_create(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.CUSTOM_FIELDS_MANAGE)
    initial = {"record_type": request.GET.get("record_type", "")}
    form = CustomFieldDefinitionForm(
        request.POST if request.method == "POST" else None, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            definition = custom_field_definition_create(actor=request.user, **form.service_values())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("The custom field %(label)s was added.") % {"label": definition.label}
            )
            return redirect("core:custom_field_list")
    return render(
        request,
        "core/custom_field_form.html",
        {"form": form, "definition": None, "nav": "settings"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.CUSTOM_FIELDS_MANAGE)
    definition = custom_field_definition_get(pk)
    form = CustomFieldDefinitionForm(
        request.POST if request.method == "POST" else None, definition=definition
    )
    if request.method == "POST" and form.is_valid():
        try:
            custom_field_definition_update(
                actor=request.user, definition=definition, **form.service_values()
            )
        except ValidationError as error:
            form.add_service_errors(error)
            # The service changed the instance before refusing; show the stored values beside the form.
            definition.refresh_from_db()
        else:
            messages.success(
                request, _("The custom field %(label)s was saved.") % {"label": definition.label}
            )
            return redirect("core:custom_field_list")
    context = {
        "form": form,
        "definition": definition,
        "record_type_label": custom_field_record_types().get(
            definition.record_type, definition.record_type
        ),
        "nav": "settings",
    }
    return render(request, "core/custom_field_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def custom_field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.CUSTOM_FIELDS_MANAGE)
    definition = custom_field_definition_get(pk)
    if request.method == "POST":
        custom_field_definition_delete(actor=request.user, definition=definition)
        messages.success(
            request, _("The custom field %(label)s was deleted.") % {"label": definition.label}
        )
        return redirect("core:custom_field_list")
    return render(
        request,
        "core/custom_field_confirm_delete.html",
        {"definition": definition, "nav": "settings"},
    )
