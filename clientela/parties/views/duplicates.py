"""Pages of duplicates: the review queue, the merge page, and undoing a merge.

Everything here needs the merge permission (managers and administrators): others get 403. Pairs are
shown only when the person may see both records, and the merge page takes only records they may see
(someone else's id answers 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from clientela.core.custom_fields import custom_field_display, record_type_of
from clientela.core.exceptions import ConflictError
from clientela.core.locale import country_name, language_name, money
from clientela.core.permissions import Perm, require_perm
from clientela.core.phones import phone_display
from clientela.core.selectors import custom_field_definitions_for
from clientela.parties.duplicates import (
    CONTACTS,
    ORGANIZATIONS,
    duplicate_candidate_get,
    duplicate_candidates_visible_to,
    duplicate_dismiss,
    duplicate_pairs,
)
from clientela.parties.merges import (
    MERGE_RECORDS_MAX,
    MergeField,
    contacts_merge,
    merge_default_choices,
    merge_default_survivor,
    merge_fields,
    merge_get,
    merge_labels,
    merge_related_counts,
    merge_undo,
    organizations_merge,
)
from clientela.parties.models import Contact, Merge, Organization
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to
from clientela.parties.tasks import duplicates_detect_task

QUEUE_PAGE_SIZE = 25


def _is_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return bool(htmx.target == target and not htmx.history_restore_request)


def _record_type(value: str | None) -> str:
    return ORGANIZATIONS if value == ORGANIZATIONS else CONTACTS


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target or default
    return default


# -- the review queue ----------------------------------------------------------------------------


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Pairs that look alike, best first, both records side by side."""
    require_perm(request.user, Perm.PARTIES_MERGE)
    actor = request.user
    record_type = _record_type(request.GET.get("type"))
    record_id = _int_or_none(request.GET.get("record"))
    candidates = duplicate_candidates_visible_to(actor, record_type, record_id=record_id)
    page = Paginator(candidates, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    pairs = duplicate_pairs(actor, page.object_list)
    selector = contacts_visible_to if record_type == CONTACTS else organizations_visible_to
    record = None
    if record_id is not None:
        found = selector(actor).select_related(None).prefetch_related(None).filter(pk=record_id)
        record = found.first()
    context = {
        "nav": "contacts" if record_type == CONTACTS else "organizations",
        "record_type": record_type,
        "record": record,
        "page": page,
        "pairs": pairs,
        "merge_url": reverse(
            "parties:contact_merge" if record_type == CONTACTS else "parties:organization_merge"
        ),
    }
    template = "parties/duplicate_list.html"
    if _is_partial(request, "duplicates"):
        response = render(request, f"{template}#duplicates", context)
    else:
        response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_POST
def duplicate_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Not duplicates": the pair leaves the queue for good."""
    try:
        candidate = duplicate_candidate_get(request.user, pk)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    require_perm(request.user, Perm.PARTIES_MERGE)
    try:
        duplicate_dismiss(actor=request.user, candidate=candidate)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_safe_next(request, reverse("parties:duplicate_list")))
    if getattr(request, "htmx", None):
        return render(request, "parties/duplicate_list.html#dismissed", {"candidate": candidate})
    messages.success(request, _("The pair was marked as not duplicates."))
    return redirect(_safe_next(request, reverse("parties:duplicate_list")))


@login_required
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    """Look for duplicates among all records of a type now, in the background."""
    require_perm(request.user, Perm.PARTIES_MERGE)
    record_type = _record_type(request.POST.get("type"))
    transaction.on_commit(lambda: duplicates_detect_task.enqueue(record_type=record_type))
    messages.success(
        request,
        _(
            "Looking for duplicates. New pairs appear here in a moment: reload the page to see them."
        ),
    )
    return redirect(f"{reverse('parties:duplicate_list')}?type={record_type}")


# -- the merge page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeCell:
    record: Any
    text: str
    is_chosen: bool


@dataclass(frozen=True)
class MergeRow:
    """One field of the merge page: each record's value, and whether there is a choice to make."""

    field: MergeField
    cells: list[MergeCell]
    is_choice: bool


def _display(record: Any, merge_field: MergeField, definitions: dict[str, Any]) -> str:
    if merge_field.custom_key:
        definition = definitions.get(merge_field.custom_key)
        value = merge_field.value(record)
        return custom_field_display(definition, value) if definition else str(value or "")
    name = merge_field.attrs[0]
    if name == "owner":
        owner = str(record.owner)
        return f"{owner} · {record.team}" if record.team_id else owner
    if name in ("primary_phone", "phone"):
        return phone_display(getattr(record, name))
    if name == "country":
        return country_name(record.country)
    if name == "preferred_language":
        return language_name(record.preferred_language)
    if name == "annual_revenue":
        revenue = record.annual_revenue
        return money(revenue, record.currency) if revenue is not None else ""
    display = getattr(record, f"get_{name}_display", None)
    value = display() if callable(display) else getattr(record, name)
    return "" if value is None else str(value)


def _merge_rows(records: list[Any], choices: dict[str, int]) -> list[MergeRow]:
    model = type(records[0])
    definitions = {
        definition.key: definition
        for definition in custom_field_definitions_for(record_type_of(model))
    }
    rows = []
    for merge_field in merge_fields(model):
        values = {repr(merge_field.value(record)) for record in records}
        rows.append(
            MergeRow(
                field=merge_field,
                cells=[
                    MergeCell(
                        record=record,
                        text=_display(record, merge_field, definitions),
                        is_chosen=choices.get(merge_field.key) == record.pk,
                    )
                    for record in records
                ],
                is_choice=len(values) > 1,
            )
        )
    return rows


_COUNT_TEXTS = {
    "emails": lambda n: ngettext("%(count)s email address", "%(count)s email addresses", n),
    "phones": lambda n: ngettext("%(count)s phone number", "%(count)s phone numbers", n),
    "organizations": lambda n: ngettext("%(count)s organization", "%(count)s organizations", n),
    "people": lambda n: ngettext("%(count)s person", "%(count)s people", n),
    "tags": lambda n: ngettext("%(count)s tag", "%(count)s tags", n),
    "events": lambda n: ngettext("%(count)s timeline event", "%(count)s timeline events", n),
    "other": lambda n: ngettext(
        "%(count)s other related record", "%(count)s other related records", n
    ),
}


def _count_texts(counts: dict[str, int]) -> list[str]:
    return [
        _COUNT_TEXTS[name](counts[name]) % {"count": counts[name]}
        for name in _COUNT_TEXTS
        if counts.get(name)
    ]


def _merge_ids(request: HttpRequest) -> list[int]:
    raw = request.POST.get("ids") if request.method == "POST" else request.GET.get("ids")
    ids: list[int] = []
    for part in (raw or "").split(","):
        number = _int_or_none(part.strip())
        if number is not None and number not in ids:
            ids.append(number)
    return ids


def _merge_page(request: HttpRequest, model: type[Contact] | type[Organization]) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_MERGE)
    actor = request.user
    is_contacts = model is Contact
    record_type = CONTACTS if is_contacts else ORGANIZATIONS
    queue_url = f"{reverse('parties:duplicate_list')}?type={record_type}"
    ids = _merge_ids(request)
    if not 2 <= len(ids) <= MERGE_RECORDS_MAX:
        messages.error(
            request,
            _("Choose between 2 and %(count)s records to merge.") % {"count": MERGE_RECORDS_MAX},
        )
        return redirect(queue_url)
    selector = contacts_visible_to if is_contacts else organizations_visible_to
    found = selector(actor).in_bulk(ids)
    if len(found) != len(ids):
        raise Http404
    records = [found[pk] for pk in ids]
    data = request.POST if request.method == "POST" else request.GET
    survivor = found.get(_int_or_none(data.get("survivor")) or 0)
    if survivor is None:
        survivor = merge_default_survivor(records)
    choices = merge_default_choices(survivor, records)
    for key in choices:
        chosen = _int_or_none(data.get(f"field_{key}"))
        if chosen is not None and chosen in found:
            choices[key] = chosen
    errors: list[str] = []
    is_conflict = False
    if request.method == "POST":
        versions = {
            pk: version
            for pk in ids
            if (version := _int_or_none(request.POST.get(f"version_{pk}"))) is not None
        }
        if not request.POST.get("confirm"):
            errors.append(_("Tick the box to confirm the merge."))
        else:
            merge_service: Any = contacts_merge if is_contacts else organizations_merge
            try:
                merge = merge_service(
                    actor=actor,
                    survivor=survivor,
                    others=[record for record in records if record.pk != survivor.pk],
                    values=choices,
                    expected_versions=versions,
                )
            except ObjectDoesNotExist as error:
                raise Http404 from error
            except ConflictError:
                is_conflict = True
                records = [found[pk] for pk in ids]
                for record in records:
                    record.refresh_from_db()
            except ValidationError as error:
                errors.extend(error.messages)
            else:
                detail = "parties:contact_detail" if is_contacts else "parties:organization_detail"
                return redirect(f"{reverse(detail, args=[survivor.pk])}?merged={merge.pk}")
    counts = merge_related_counts(records)
    moving: dict[str, int] = {}
    for record in records:
        if record.pk != survivor.pk:
            for name, count in counts.get(record.pk, {}).items():
                moving[name] = moving.get(name, 0) + count
    context = {
        "nav": "contacts" if is_contacts else "organizations",
        "record_type": record_type,
        "records": records,
        "ids": ",".join(str(pk) for pk in ids),
        "survivor": survivor,
        "rows": _merge_rows(records, choices),
        "moves": {record.pk: _count_texts(counts.get(record.pk, {})) for record in records},
        "moving": _count_texts(moving),
        "errors": errors,
        "is_conflict": is_conflict,
        "queue_url": queue_url,
    }
    template = "parties/merge_form.html"
    if _is_partial(request, "merge-form"):
        return render(request, f"{template}#merge_form", context)
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_http_methods(["GET", "POST"])
def contact_merge(request: HttpRequest) -> HttpResponse:
    return _merge_page(request, Contact)


@login_required
@require_http_methods(["GET", "POST"])
def organization_merge(request: HttpRequest) -> HttpResponse:
    return _merge_page(request, Organization)


# -- undo ----------------------------------------------------------------------------------------


def _survivor_url(merge: Merge) -> str:
    name = (
        "parties:contact_detail" if merge.record_type == CONTACTS else "parties:organization_detail"
    )
    return reverse(name, args=[merge.survivor_id])


@login_required
@require_http_methods(["GET", "POST"])
def merge_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation (GET) and the undo itself (POST), then back to the survivor."""
    require_perm(request.user, Perm.PARTIES_MERGE)
    try:
        merge = merge_get(request.user, pk)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    labels = merge_labels(merge)
    if request.method == "POST":
        try:
            merge_undo(actor=request.user, merge=merge)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(_survivor_url(merge))
        messages.success(
            request,
            ngettext(
                "The merge was undone: %(names)s is a separate record again.",
                "The merge was undone: %(names)s are separate records again.",
                len(labels),
            )
            % {"names": ", ".join(labels)},
        )
        return redirect(_survivor_url(merge))
    context = {
        "nav": "contacts" if merge.record_type == CONTACTS else "organizations",
        "merge": merge,
        "labels": labels,
        "survivor_url": _survivor_url(merge),
    }
    return render(request, "parties/merge_undo.html", context)


urlpatterns = [
    path("duplicates/", duplicate_list, name="duplicate_list"),
    path("duplicates/scan/", duplicate_scan, name="duplicate_scan"),
    path("duplicates/<int:pk>/dismiss/", duplicate_dismiss_view, name="duplicate_dismiss"),
    path("contacts/merge/", contact_merge, name="contact_merge"),
    path("organizations/merge/", organization_merge, name="organization_merge"),
    path("merges/<int:pk>/undo/", merge_undo_view, name="merge_undo"),
]
