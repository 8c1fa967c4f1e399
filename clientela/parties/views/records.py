"""Pages of organizations and contacts: lists, details with timelines, forms, deletion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from clientela.core.custom_fields import record_type_of
from clientela.core.exceptions import ConflictError
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, require_perm
from clientela.core.selectors import custom_field_definitions_for, events_of
from clientela.core.timeline import event_entries
from clientela.parties.filters import ContactFilterSet, OrganizationFilterSet
from clientela.parties.forms import ContactForm, ContactFormGroup, OrganizationForm, PartyForm
from clientela.parties.models import Contact, Organization
from clientela.parties.selectors import (
    LIST_COLUMNS,
    contact_get,
    contacts_listed_to,
    list_columns_for,
    organization_get,
    organization_people,
    organizations_visible_to,
)
from clientela.parties.services import (
    contact_create,
    contact_delete,
    contact_update,
    list_columns_set,
    organization_create,
    organization_delete,
    organization_update,
)

PAGE_SIZES = (25, 50, 100)
TIMELINE_STEP = 50
ORGANIZATION_PEOPLE_SHOWN = 20


# -- lists -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """An optional list column: its key (as saved in preferences), heading and sort key."""

    key: str
    label: Any
    sort: str | None = None


CONTACT_COLUMNS = (
    Column("email", gettext_lazy("Email"), "email"),
    Column("phone", gettext_lazy("Phone"), "phone"),
    Column("organization", gettext_lazy("Organization")),
    Column("job_title", gettext_lazy("Job title"), "job_title"),
    Column("stage", gettext_lazy("Lifecycle stage"), "stage"),
    Column("tags", gettext_lazy("Tags")),
    Column("owner", gettext_lazy("Owner"), "owner"),
    Column("team", gettext_lazy("Team")),
    Column("city", gettext_lazy("City"), "city"),
    Column("country", gettext_lazy("Country"), "country"),
    Column("created", gettext_lazy("Created"), "created"),
)
ORGANIZATION_COLUMNS = (
    Column("domain", gettext_lazy("Domain"), "domain"),
    Column("industry", gettext_lazy("Industry"), "industry"),
    Column("size", gettext_lazy("Size")),
    Column("phone", gettext_lazy("Phone")),
    Column("city", gettext_lazy("City"), "city"),
    Column("country", gettext_lazy("Country"), "country"),
    Column("revenue", gettext_lazy("Annual revenue")),
    Column("tags", gettext_lazy("Tags")),
    Column("owner", gettext_lazy("Owner"), "owner"),
    Column("team", gettext_lazy("Team")),
    Column("created", gettext_lazy("Created"), "created"),
)


@dataclass(frozen=True)
class ListPage:
    """What differs between the contact and the organization list."""

    list_name: str
    columns: tuple[Column, ...]
    filterset_class: type
    selector: Callable[[Any], QuerySet[Any]]
    template: str
    nav: str
    url_name: str
    columns_url_name: str
    create_url_name: str


CONTACT_LIST = ListPage(
    list_name="contacts",
    columns=CONTACT_COLUMNS,
    filterset_class=ContactFilterSet,
    selector=contacts_listed_to,
    template="parties/contact_list.html",
    nav="contacts",
    url_name="parties:contact_list",
    columns_url_name="parties:contact_columns",
    create_url_name="parties:contact_create",
)
ORGANIZATION_LIST = ListPage(
    list_name="organizations",
    columns=ORGANIZATION_COLUMNS,
    filterset_class=OrganizationFilterSet,
    selector=organizations_visible_to,
    template="parties/organization_list.html",
    nav="organizations",
    url_name="parties:organization_list",
    columns_url_name="parties:organization_columns",
    create_url_name="parties:organization_create",
)


def _page_size(value: str | None) -> int:
    default = settings.CLIENTELA_LIST_PAGE_SIZE
    try:
        size = int(value or default)
    except ValueError:
        return default
    return size if size in _page_sizes() else default


def _page_sizes() -> list[int]:
    return sorted({*PAGE_SIZES, settings.CLIENTELA_LIST_PAGE_SIZE})


def _filter_data(request: HttpRequest, sort_keys: list[str]) -> QueryDict:
    """The query without paging parameters, and without a sort that is not allowlisted."""
    data = request.GET.copy()
    for name in ("page", "per_page"):
        data.pop(name, None)
    if data.get("sort", "").strip().lstrip("-") not in sort_keys:
        data.pop("sort", None)
    return data


def _sort_headers(columns: list[Column], current: str, default: str) -> list[dict[str, Any]]:
    current = current or default
    key, descending = current.lstrip("-"), current.startswith("-")
    headers = []
    for column in columns:
        state = None
        if column.sort is not None and column.sort == key:
            state = "descending" if descending else "ascending"
        next_sort = None
        if column.sort is not None:
            next_sort = f"-{column.sort}" if state == "ascending" else column.sort
        headers.append({"column": column, "state": state, "next_sort": next_sort})
    return headers


def _is_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target == target and not htmx.history_restore_request


def _list(request: HttpRequest, page_spec: ListPage) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_VIEW)
    actor = request.user
    filterset_class = page_spec.filterset_class
    sort_keys = filterset_class.base_filters["sort"].keys()
    data = _filter_data(request, sort_keys)
    filterset = filterset_class(data=data, queryset=page_spec.selector(actor), request=request)
    per_page = _page_size(request.GET.get("per_page"))
    page = CappedPaginator(filterset.qs, per_page).get_page(request.GET.get("page"))
    shown = list_columns_for(actor, page_spec.list_name)
    visible_columns = [column for column in page_spec.columns if column.key in shown]
    sort = data.get("sort", "").strip()
    context = {
        "nav": page_spec.nav,
        "form_id": f"{page_spec.list_name}-filters",
        "columns_url": reverse(page_spec.columns_url_name),
        "filterset": filterset,
        "filter_fields": [
            field
            for field in filterset.form
            if field.name not in ("q", "sort") and not field.is_hidden
        ],
        "hidden_filter_fields": [field for field in filterset.form if field.is_hidden],
        "page": page,
        "per_page": per_page,
        "page_sizes": _page_sizes(),
        "sort": sort,
        "name_header": _sort_headers([Column("name", "", "name")], sort, "name")[0],
        "headers": _sort_headers(visible_columns, sort, "name"),
        "shown": set(shown),
        "all_columns": page_spec.columns,
        "is_filtered": any(value for key, value in data.lists() if key != "sort" and any(value)),
    }
    if _is_partial(request, "results"):
        response = render(request, f"{page_spec.template}#results", context)
    else:
        response = render(request, page_spec.template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _columns_save(request: HttpRequest, page_spec: ListPage) -> HttpResponse:
    if request.POST.get("reset"):
        list_columns_set(actor=request.user, list_name=page_spec.list_name, columns=None)
    else:
        allowed = LIST_COLUMNS[page_spec.list_name]
        chosen = [column for column in request.POST.getlist("columns") if column in allowed]
        list_columns_set(actor=request.user, list_name=page_spec.list_name, columns=chosen)
    messages.success(request, _("Your choice of columns was saved."))
    target = request.POST.get("next", "")
    default = reverse(page_spec.url_name)
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return redirect(target or default)


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list(request, CONTACT_LIST)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    return _list(request, ORGANIZATION_LIST)


@login_required
@require_POST
def contact_columns(request: HttpRequest) -> HttpResponse:
    return _columns_save(request, CONTACT_LIST)


@login_required
@require_POST
def organization_columns(request: HttpRequest) -> HttpResponse:
    return _columns_save(request, ORGANIZATION_LIST)


# -- details -----------------------------------------------------------------------------------


def _timeline_context(request: HttpRequest, record: Any) -> dict[str, Any]:
    """The latest events of ``record``; ``?events=N`` shows more (in steps of TIMELINE_STEP)."""
    try:
        limit = max(TIMELINE_STEP, int(request.GET.get("events", TIMELINE_STEP)))
    except ValueError:
        limit = TIMELINE_STEP
    limit = min(limit, 5000)
    events = list(events_of(record)[: limit + 1])
    has_more = len(events) > limit
    query = request.GET.copy()
    query["events"] = str(limit + TIMELINE_STEP)
    return {
        "entries": event_entries(events[:limit], model=type(record)),
        "has_more": has_more,
        "more_url": f"{request.path}?{query.urlencode()}",
    }


def _detail(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    if _is_partial(request, "timeline"):
        response = render(request, f"{template}#timeline", context)
    else:
        response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_VIEW)
    contact = contact_get(request.user, pk)
    context = {
        "nav": "contacts",
        "contact": contact,
        "definitions": custom_field_definitions_for(record_type_of(Contact)),
        **_timeline_context(request, contact),
    }
    return _detail(request, "parties/contact_detail.html", context)


@login_required
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_VIEW)
    organization = organization_get(request.user, pk)
    people = organization_people(request.user, organization)
    shown_people = list(people[:ORGANIZATION_PEOPLE_SHOWN])
    people_count = len(shown_people)
    if people_count == ORGANIZATION_PEOPLE_SHOWN:
        people_count = people.count()
    roles = {
        person.pk: next(
            (
                item.role
                for item in person.affiliations.all()
                if item.organization_id == organization.pk
            ),
            "",
        )
        for person in shown_people
    }
    context = {
        "nav": "organizations",
        "organization": organization,
        "definitions": custom_field_definitions_for(record_type_of(Organization)),
        "people": [(person, roles[person.pk]) for person in shown_people],
        "people_count": people_count,
        "people_url": f"{reverse('parties:contact_list')}?organization={organization.pk}",
        **_timeline_context(request, organization),
    }
    return _detail(request, "parties/organization_detail.html", context)


# -- forms -------------------------------------------------------------------------------------


def _organization_choices(actor: Any) -> QuerySet[Organization]:
    return (
        organizations_visible_to(actor)
        .select_related(None)
        .prefetch_related(None)
        .only("id", "name")
    )


@dataclass(frozen=True)
class ConflictEdit:
    """What one colleague changed while the form was open: a headline and one line per change."""

    headline: str
    lines: list[str]


@dataclass(frozen=True)
class Conflict:
    """Why a save was refused: the version the record has now, and what changed since the form opened."""

    current_version: int
    edits: list[ConflictEdit]


# At most this many events are told on a conflict (the timeline has all of them).
CONFLICT_EVENTS_SHOWN = 100


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _latest_event_id(record: Any) -> int:
    """The newest event of ``record``: the form remembers it, to tell later what happened since."""
    return events_of(record).order_by("-id").values_list("id", flat=True).first() or 0


def _when(moment: Any) -> str:
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return formats.time_format(local, "TIME_FORMAT")
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def _quoted(value: str) -> str:
    return _("“%(name)s”") % {"name": value} if value else _("(empty)")


def _form_order(record: Any) -> dict[str, int]:
    """Field names in the order the record's form shows them."""
    if isinstance(record, Contact):
        names = (*ContactForm.main_fields, "emails", "phones", "organizations")
    else:
        names = (*OrganizationForm.main_fields, "description")
    names = (
        *names,
        *PartyForm.address_fields,
        "custom_fields",
        "owner",
        "team",
        "is_shared_with_team",
    )
    return {name: index for index, name in enumerate(names)}


def _conflict(record: Any, *, seen_event: int | None, current_version: int) -> Conflict:
    """What others changed on ``record`` after the event ``seen_event``, grouped by who did it.

    Without ``seen_event`` (a form from before the page sent it) only the version is known.
    """
    if seen_event is None:
        return Conflict(current_version, [])
    events = list(
        events_of(record).filter(id__gt=seen_event).order_by("id")[:CONFLICT_EVENTS_SHOWN]
    )
    # Changes in the order of the form (PostgreSQL's jsonb does not keep the order they were
    # recorded in); the events are only read here, never saved.
    order = _form_order(record)
    for event in events:
        diff = event.data.get("changes") if isinstance(event.data, dict) else None
        if isinstance(diff, dict):
            event.data["changes"] = dict(
                sorted(diff.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
            )
    if isinstance(record, Contact):
        headline = _("%(name)s changed this contact at %(time)s while you were editing:")
    else:
        headline = _("%(name)s changed this organization at %(time)s while you were editing:")
    groups: list[tuple[Any, Any, list[str]]] = []
    for entry in event_entries(events, model=type(record)):
        event = entry.event
        lines = [
            _("%(field)s: %(old)s → %(new)s")
            % {"field": change.label, "old": _quoted(change.old), "new": _quoted(change.new)}
            for change in entry.changes
        ]
        if entry.tags and event.kind.endswith(".tagged"):
            lines.append(_("Tags added: %(tags)s") % {"tags": ", ".join(entry.tags)})
        elif entry.tags and event.kind.endswith(".untagged"):
            lines.append(_("Tags removed: %(tags)s") % {"tags": ", ".join(entry.tags)})
        elif not lines:
            lines.append(entry.kind_label)
        if groups and groups[-1][0] == event.actor_id:
            groups[-1] = (event.actor_id, event, [*groups[-1][2], *lines])
        else:
            groups.append((event.actor_id, event, lines))
    edits = [
        ConflictEdit(
            headline=headline
            % {"name": event.actor or _("Someone"), "time": _when(event.occurred_at)},
            lines=lines,
        )
        for _actor, event, lines in groups
    ]
    return Conflict(current_version, edits)


def _saved_from_form(
    request: HttpRequest,
    form: Any,
    *,
    record: Contact | Organization | None,
    create: Any,
    update: Any,
    created_message: str,
) -> Contact | Organization | None:
    """The record a valid POSTed form created or updated through its service, else None.

    Service errors go back onto the form's fields. A conflict (someone saved the record since the
    form was opened) sets ``form.is_conflict`` and ``form.conflict`` (what they changed, from the
    events after ``form.seen_event``, the newest event when the form was opened) and keeps the
    person's input; the page then offers to reload, or to save anyway: that posts
    ``overwrite_version``, the version the conflict reported, which replaces the form's own.
    ``create(actor, values)`` and ``update(actor, record, version, values)`` call the services.
    """
    form.is_conflict = False
    form.conflict = None
    if request.method != "POST":
        form.seen_event = _latest_event_id(record) if record is not None else None
        return None
    form.seen_event = _int_or_none(request.POST.get("seen_event"))
    if not form.is_valid():
        return None
    actor = request.user
    try:
        if record is None:
            saved = create(actor, form.service_values())
        else:
            overwrite = _int_or_none(request.POST.get("overwrite_version"))
            version = form.expected_version if overwrite is None else overwrite
            saved = update(actor, record, version, form.service_values())
    except ValidationError as error:
        form.add_service_errors(error)
        return None
    except ConflictError as error:
        if record is None:  # only an update can conflict
            raise
        form.is_conflict = True
        form.conflict = _conflict(
            record,
            seen_event=form.seen_event,
            current_version=error.current_version or record.version,
        )
        return None
    except ObjectDoesNotExist as error:
        raise Http404 from error
    if record is None:
        messages.success(request, created_message % {"name": saved})
    else:
        messages.success(request, _("Your changes to %(name)s were saved.") % {"name": saved})
    return saved


def _contact_form_page(request: HttpRequest, contact: Contact | None) -> HttpResponse:
    group = ContactFormGroup(
        request.POST if request.method == "POST" else None,
        actor=request.user,
        definitions=custom_field_definitions_for(record_type_of(Contact)),
        organizations=_organization_choices(request.user),
        contact=contact,
    )
    saved = _saved_from_form(
        request,
        group,
        record=contact,
        create=lambda actor, values: contact_create(actor=actor, **values),
        update=lambda actor, record, version, values: contact_update(
            actor=actor, contact=record, expected_version=version, **values
        ),
        created_message=_("The contact %(name)s was created."),
    )
    if saved is not None:
        return redirect("parties:contact_detail", saved.pk)
    context = {"nav": "contacts", "contact": contact, "group": group, "form": group.form}
    return render(request, "parties/contact_form.html", context)


def _organization_form_page(
    request: HttpRequest, organization: Organization | None
) -> HttpResponse:
    form = OrganizationForm(
        request.POST if request.method == "POST" else None,
        actor=request.user,
        definitions=custom_field_definitions_for(record_type_of(Organization)),
        record=organization,
    )
    saved = _saved_from_form(
        request,
        form,
        record=organization,
        create=lambda actor, values: organization_create(actor=actor, **values),
        update=lambda actor, record, version, values: organization_update(
            actor=actor, organization=record, expected_version=version, **values
        ),
        created_message=_("The organization %(name)s was created."),
    )
    if saved is not None:
        return redirect("parties:organization_detail", saved.pk)
    context = {
        "nav": "organizations",
        "organization": organization,
        "form": form,
        "is_conflict": form.is_conflict,
    }
    return render(request, "parties/organization_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def contact_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_ADD)
    return _contact_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = contact_get(request.user, pk)
    require_perm(request.user, Perm.PARTIES_CHANGE)
    return _contact_form_page(request, contact)


@login_required
@require_http_methods(["GET", "POST"])
def organization_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_ADD)
    return _organization_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organization = organization_get(request.user, pk)
    require_perm(request.user, Perm.PARTIES_CHANGE)
    return _organization_form_page(request, organization)


# -- deletion ----------------------------------------------------------------------------------


def _delete_page(
    request: HttpRequest,
    record: Contact | Organization,
    *,
    delete: Any,
    nav: str,
    deleted_message: str,
    list_url: str,
    detail_url: str,
    affiliation_count: int = 0,
) -> HttpResponse:
    """A confirmation page (GET) and the deletion itself (POST) through ``delete``."""
    require_perm(request.user, Perm.PARTIES_DELETE)
    if request.method == "POST":
        try:
            delete(request.user, record)
        except ObjectDoesNotExist as error:
            raise Http404 from error
        messages.success(request, deleted_message)
        return redirect(list_url)
    context = {
        "nav": nav,
        "record": record,
        "cancel_url": reverse(detail_url, args=[record.pk]),
        "affiliation_count": affiliation_count,
    }
    return render(request, "parties/confirm_delete.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = contact_get(request.user, pk)
    return _delete_page(
        request,
        contact,
        delete=lambda actor, record: contact_delete(actor=actor, contact=record),
        nav="contacts",
        deleted_message=_("The contact %(name)s was deleted.") % {"name": contact},
        list_url="parties:contact_list",
        detail_url="parties:contact_detail",
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    organization = organization_get(request.user, pk)
    return _delete_page(
        request,
        organization,
        delete=lambda actor, record: organization_delete(actor=actor, organization=record),
        nav="organizations",
        deleted_message=_("The organization %(name)s was deleted.") % {"name": organization},
        list_url="parties:organization_list",
        detail_url="parties:organization_detail",
        affiliation_count=organization.affiliations.count(),
    )
