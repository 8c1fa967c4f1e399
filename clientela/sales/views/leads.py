"""Pages of leads (list, detail, forms, conversion, import) and of the assignment rules."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clientela.core.custom_fields import record_type_of
from clientela.core.exceptions import ConflictError
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import custom_field_definitions_for, events_of, is_visible_to
from clientela.core.timeline import event_entries
from clientela.sales.choices import LeadStatus
from clientela.sales.lead_filters import LeadFilterSet
from clientela.sales.lead_forms import AssignmentRuleForm, ConvertForm, LeadForm, LeadImportForm
from clientela.sales.leads import (
    assignment_rule_create,
    assignment_rule_delete,
    assignment_rule_get,
    assignment_rule_update,
    assignment_rules_visible_to,
    lead_contact_matches,
    lead_convert,
    lead_create,
    lead_delete,
    lead_disqualify,
    lead_get,
    lead_organization_matches,
    lead_submissions,
    lead_update,
    leads_import,
    leads_visible_to,
)
from clientela.sales.models import Lead

PAGE_SIZES = (25, 50, 100)
TIMELINE_STEP = 50
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def _is_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target == target and not htmx.history_restore_request


def _page_size(value: str | None) -> int:
    default = settings.CLIENTELA_LIST_PAGE_SIZE
    try:
        size = int(value or default)
    except ValueError:
        return default
    return size if size in {*PAGE_SIZES, default} else default


SORT_HEADERS = ("name", "company", "email", "status", "owner", "country", "created")


def _headers(current: str) -> list[dict[str, Any]]:
    labels = {
        "name": _("Name"),
        "company": _("Company"),
        "email": _("Email"),
        "status": _("Status"),
        "owner": _("Owner"),
        "country": _("Country"),
        "created": _("Created"),
    }
    current = current or "-created"
    key, descending = current.lstrip("-"), current.startswith("-")
    headers = []
    for name in SORT_HEADERS:
        state = ("descending" if descending else "ascending") if name == key else None
        headers.append(
            {
                "key": name,
                "label": labels[name],
                "state": state,
                "next_sort": f"-{name}" if state == "ascending" else name,
            }
        )
    return headers


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_VIEW)
    data = request.GET.copy()
    for name in ("page", "per_page"):
        data.pop(name, None)
    sort_keys = LeadFilterSet.base_filters["sort"].keys()  # type: ignore[attr-defined]
    if data.get("sort", "").strip().lstrip("-") not in sort_keys:
        data.pop("sort", None)
    filterset = LeadFilterSet(data=data, queryset=leads_visible_to(request.user), request=request)
    per_page = _page_size(request.GET.get("per_page"))
    page = CappedPaginator(filterset.qs, per_page).get_page(request.GET.get("page"))
    sort = data.get("sort", "").strip()
    context = {
        "nav": "leads",
        "form_id": "leads-filters",
        "filterset": filterset,
        "filter_fields": [
            field
            for field in filterset.form
            if field.name not in ("q", "sort") and not field.is_hidden
        ],
        "hidden_filter_fields": [field for field in filterset.form if field.is_hidden],
        "page": page,
        "per_page": per_page,
        "page_sizes": sorted({*PAGE_SIZES, settings.CLIENTELA_LIST_PAGE_SIZE}),
        "sort": sort,
        "headers": _headers(sort),
        "is_filtered": any(value for key, value in data.lists() if key != "sort" and any(value)),
    }
    template = "sales/lead_list.html"
    if _is_partial(request, "results"):
        template = f"{template}#results"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _timeline_context(request: HttpRequest, record: Any) -> dict[str, Any]:
    try:
        limit = max(TIMELINE_STEP, int(request.GET.get("events", TIMELINE_STEP)))
    except ValueError:
        limit = TIMELINE_STEP
    limit = min(limit, 5000)
    events = list(events_of(record)[: limit + 1])
    query = request.GET.copy()
    query["events"] = str(limit + TIMELINE_STEP)
    return {
        "entries": event_entries(events[:limit], model=type(record)),
        "has_more": len(events) > limit,
        "more_url": f"{request.path}?{query.urlencode()}",
    }


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_VIEW)
    lead = lead_get(request.user, pk)
    context = {
        "nav": "leads",
        "lead": lead,
        "is_converted": lead.status == LeadStatus.CONVERTED,
        "is_disqualified": lead.status == LeadStatus.DISQUALIFIED,
        "submissions": list(lead_submissions(lead)[:20]),
        "definitions": custom_field_definitions_for(record_type_of(Lead)),
        **_timeline_context(request, lead),
    }
    template = "sales/lead_detail.html"
    if _is_partial(request, "timeline"):
        template = f"{template}#timeline"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _after_save(request: HttpRequest, lead: Lead) -> HttpResponse:
    """The lead's page, or the list when the assignment rules gave it to someone the person cannot
    see it through."""
    if is_visible_to(lead, request.user):
        return redirect("sales:lead_detail", lead.pk)
    messages.info(
        request,
        _("The assignment rules gave %(name)s to %(owner)s.") % {"name": lead, "owner": lead.owner},
    )
    return redirect("sales:lead_list")


def _lead_form_page(request: HttpRequest, lead: Lead | None) -> HttpResponse:
    form = LeadForm(
        request.POST if request.method == "POST" else None, actor=request.user, lead=lead
    )
    is_conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            if lead is None:
                saved = lead_create(actor=request.user, **form.service_values())
                messages.success(request, _("The lead %(name)s was created.") % {"name": saved})
            else:
                saved = lead_update(
                    actor=request.user,
                    lead=lead,
                    expected_version=form.expected_version,
                    **form.service_values(),
                )
                messages.success(
                    request, _("Your changes to %(name)s were saved.") % {"name": saved}
                )
        except ValidationError as error:
            form.add_service_errors(error)
        except ConflictError:
            is_conflict = True
        except ObjectDoesNotExist as error:
            raise Http404 from error
        else:
            return _after_save(request, saved)
    context = {"nav": "leads", "lead": lead, "form": form, "is_conflict": is_conflict}
    return render(request, "sales/lead_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def lead_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_ADD)
    return _lead_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get(request.user, pk)
    require_perm(request.user, Perm.SALES_CHANGE)
    return _lead_form_page(request, lead)


@login_required
@require_http_methods(["GET", "POST"])
def lead_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get(request.user, pk)
    require_perm(request.user, Perm.SALES_DELETE)
    if request.method == "POST":
        try:
            lead_delete(actor=request.user, lead=lead)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        messages.success(request, _("The lead %(name)s was deleted.") % {"name": lead})
        return redirect("sales:lead_list")
    context = {
        "nav": "leads",
        "record": lead,
        "cancel_url": reverse("sales:lead_detail", args=[lead.pk]),
    }
    return render(request, "sales/lead_confirm_delete.html", context)


@login_required
@require_POST
def lead_disqualify_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get(request.user, pk)
    require_perm(request.user, Perm.SALES_CHANGE)
    try:
        lead_disqualify(actor=request.user, lead=lead, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(name)s was disqualified.") % {"name": lead})
    return redirect("sales:lead_detail", lead.pk)


@login_required
@require_http_methods(["GET", "POST"])
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Convert a lead: the contact and organization found for it (or new ones), and a deal if wanted."""
    lead = lead_get(request.user, pk)
    require_perm(request.user, Perm.SALES_CHANGE)
    if lead.status == LeadStatus.CONVERTED:
        messages.info(request, _("This lead was already converted."))
        return redirect("sales:lead_detail", lead.pk)
    contacts = lead_contact_matches(request.user, lead)
    organizations = lead_organization_matches(request.user, lead)
    form = ConvertForm(
        request.POST if request.method == "POST" else None,
        lead=lead,
        contacts=contacts,
        organizations=organizations,
    )
    if request.method == "POST" and form.is_valid():
        try:
            conversion = lead_convert(actor=request.user, lead=lead, **form.service_values())
        except ValidationError as error:
            form.add_service_errors(error)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        else:
            messages.success(
                request,
                _("%(lead)s was converted into the contact %(contact)s.")
                % {"lead": lead, "contact": conversion.contact},
            )
            return redirect("sales:lead_detail", lead.pk)
    context = {
        "nav": "leads",
        "lead": lead,
        "form": form,
        "contacts": contacts,
        "organizations": organizations,
    }
    return render(request, "sales/lead_convert.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def lead_import_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_ADD)
    form = LeadImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            form.add_error("file", _("The file is larger than 5 MB."))
        else:
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            try:
                result = leads_import(actor=request.user, file_text=text)
            except ValidationError as error:
                form.add_error("file", error.messages)
            else:
                messages.success(
                    request,
                    _("%(count)s leads were imported.") % {"count": len(result.created)},
                )
                if not result.errors:
                    return redirect("sales:lead_list")
    context = {"nav": "leads", "form": form, "result": result}
    return render(request, "sales/lead_import.html", context)


# -- assignment rules ----------------------------------------------------------------------------


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    context = {"nav": "rules", "rules": list(assignment_rules_visible_to(request.user))}
    return render(request, "sales/rule_list.html", context)


def _rule_form_page(request: HttpRequest, rule: Any) -> HttpResponse:
    form = AssignmentRuleForm(request.POST if request.method == "POST" else None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                saved = assignment_rule_create(actor=request.user, **form.service_values())
            else:
                saved = assignment_rule_update(
                    actor=request.user, rule=rule, **form.service_values()
                )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The rule %(name)s was saved.") % {"name": saved.name})
            return redirect("sales:rule_list")
    return render(request, "sales/rule_form.html", {"nav": "rules", "rule": rule, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _rule_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _rule_form_page(request, assignment_rule_get(request.user, pk))


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    rule = assignment_rule_get(request.user, pk)
    if request.method == "POST":
        assignment_rule_delete(actor=request.user, rule=rule)
        messages.success(request, _("The rule %(name)s was deleted.") % {"name": rule.name})
        return redirect("sales:rule_list")
    context = {"nav": "rules", "record": rule, "cancel_url": reverse("sales:rule_list")}
    return render(request, "sales/rule_confirm_delete.html", context)


urlpatterns: list[Any] = [
    path("leads/", lead_list, name="lead_list"),
    path("leads/new/", lead_create_view, name="lead_create"),
    path("leads/import/", lead_import_view, name="lead_import"),
    path("leads/<int:pk>/", lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", lead_edit, name="lead_edit"),
    path("leads/<int:pk>/delete/", lead_delete_view, name="lead_delete"),
    path("leads/<int:pk>/disqualify/", lead_disqualify_view, name="lead_disqualify"),
    path("leads/<int:pk>/convert/", lead_convert_view, name="lead_convert"),
    path("assignment-rules/", rule_list, name="rule_list"),
    path("assignment-rules/new/", rule_create, name="rule_create"),
    path("assignment-rules/<int:pk>/edit/", rule_edit, name="rule_edit"),
    path("assignment-rules/<int:pk>/delete/", rule_delete, name="rule_delete"),
]
