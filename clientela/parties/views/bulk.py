"""Pages that change many contacts or organizations at once.

The list's bulk bar posts the selected rows (``ids``), or the list's filters (``all`` and ``query``), with
the change to make. The answer asks for the value when it is missing (without JavaScript the bar cannot
load the owner or team choices), then asks for confirmation with the exact number of records that will
change; confirming applies the change through the bulk service and goes back to the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from clientela.core.permissions import Perm, require_perm
from clientela.identity.selectors import assignable_owners_for, assignable_teams_for
from clientela.parties.choices import LifecycleStage
from clientela.parties.forms import tag_names_parse
from clientela.parties.services import contacts_bulk_update, organizations_bulk_update
from clientela.parties.views.records import CONTACT_LIST, ORGANIZATION_LIST, ListPage

# What the bar offers, in order; organizations have no lifecycle stage.
ACTIONS: dict[str, Any] = {
    "owner": gettext_lazy("Change the owner"),
    "team": gettext_lazy("Change the team"),
    "lifecycle_stage": gettext_lazy("Change the lifecycle stage"),
    "tags_add": gettext_lazy("Add tags"),
    "tags_remove": gettext_lazy("Remove tags"),
}
# The form field that holds each action's value.
VALUE_FIELDS = {
    "owner": "owner",
    "team": "team",
    "lifecycle_stage": "lifecycle_stage",
    "tags_add": "tags",
    "tags_remove": "tags",
}


@dataclass(frozen=True)
class BulkPage:
    """What differs between the contact and the organization bulk change."""

    list_page: ListPage
    url_name: str
    value_url_name: str
    actions: tuple[str, ...]
    # "3 contacts": the same words as the list's count.
    records: Callable[[int], str]
    changed: Callable[[int], str]
    apply: Callable[..., int]


CONTACT_BULK = BulkPage(
    list_page=CONTACT_LIST,
    url_name="parties:contact_bulk",
    value_url_name="parties:contact_bulk_value",
    actions=("owner", "team", "lifecycle_stage", "tags_add", "tags_remove"),
    records=lambda count: (
        ngettext("%(counter)s contact", "%(counter)s contacts", count) % {"counter": count}
    ),
    changed=lambda count: (
        ngettext("%(count)s contact changed.", "%(count)s contacts changed.", count)
        % {"count": count}
    ),
    apply=lambda actor, records, **changes: contacts_bulk_update(
        actor=actor, contacts=records, **changes
    ),
)
ORGANIZATION_BULK = BulkPage(
    list_page=ORGANIZATION_LIST,
    url_name="parties:organization_bulk",
    value_url_name="parties:organization_bulk_value",
    actions=("owner", "team", "tags_add", "tags_remove"),
    records=lambda count: (
        ngettext("%(counter)s organization", "%(counter)s organizations", count)
        % {"counter": count}
    ),
    changed=lambda count: (
        ngettext("%(count)s organization changed.", "%(count)s organizations changed.", count)
        % {"count": count}
    ),
    apply=lambda actor, records, **changes: organizations_bulk_update(
        actor=actor, organizations=records, **changes
    ),
)


class BulkValueForm(forms.Form):
    """The change the bulk bar asks for: which one, and its value."""

    action = forms.ChoiceField(label=gettext_lazy("Change"))
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("New owner"), queryset=None, required=False
    )
    team: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("New team"), queryset=None, required=False
    )
    lifecycle_stage = forms.ChoiceField(
        label=gettext_lazy("New lifecycle stage"), choices=LifecycleStage.choices, required=False
    )
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        max_length=1000,
        required=False,
        help_text=gettext_lazy("Separate tags with commas."),
    )

    def __init__(
        self, data: Any, *, actor: Any, actions: tuple[str, ...], action: str = ""
    ) -> None:
        # Ids of their own: the list page beside the bar has owner and team filters too.
        super().__init__(data, auto_id="id_bulk_%s")
        self.actions = actions
        self.chosen_action = action or (data or {}).get("action", "")
        cast("forms.ChoiceField", self.fields["action"]).choices = [
            (key, ACTIONS[key]) for key in actions
        ]
        # Querysets only: they run when a page shows the choices or checks a value.
        cast("forms.ModelChoiceField[Any]", self.fields["owner"]).queryset = assignable_owners_for(
            actor
        ).order_by(Lower("full_name"), "id")
        cast("forms.ModelChoiceField[Any]", self.fields["team"]).queryset = assignable_teams_for(
            actor
        ).order_by(Lower("name"), "id")

    def value_field(self) -> forms.BoundField | None:
        name = VALUE_FIELDS.get(self.chosen_action)
        return self[name] if name and self.chosen_action in self.actions else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        action = cleaned.get("action")
        if action is None:
            return cleaned
        name = VALUE_FIELDS[action]
        if name == "tags":
            cleaned["tags"] = tag_names_parse(cleaned.get("tags", ""))
        if not cleaned.get(name) and name not in self.errors:
            self.add_error(name, _("Choose the new value."))
        return cleaned

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for the bulk service (after ``is_valid``)."""
        action = self.cleaned_data["action"]
        return {action: self.cleaned_data[VALUE_FIELDS[action]]}

    def hidden_values(self) -> list[tuple[str, str]]:
        """The posted action and value, to send again with the confirmation."""
        action = self.cleaned_data["action"]
        name = VALUE_FIELDS[action]
        value = self.cleaned_data[name]
        if name == "tags":
            text = ", ".join(value)
        elif hasattr(value, "pk"):
            text = str(value.pk)
        else:
            text = str(value)
        return [("action", action), (name, text)]

    def question(self, records: str) -> str:
        """The confirmation question: "Change the owner of 3 contacts to Ana Ruiz?"."""
        action = self.cleaned_data["action"]
        value = self.cleaned_data[VALUE_FIELDS[action]]
        if action == "owner":
            return _("Change the owner of %(records)s to %(owner)s?") % {
                "records": records,
                "owner": value,
            }
        if action == "team":
            return _("Move %(records)s to the team %(team)s?") % {"records": records, "team": value}
        if action == "lifecycle_stage":
            return _("Set the lifecycle stage of %(records)s to %(stage)s?") % {
                "records": records,
                "stage": LifecycleStage(value).label,
            }
        names = ", ".join(_("“%(name)s”") % {"name": name} for name in value)
        if action == "tags_add":
            return _("Add %(tags)s to %(records)s?") % {"tags": names, "records": records}
        return _("Remove %(tags)s from %(records)s?") % {"tags": names, "records": records}


@dataclass(frozen=True)
class Selection:
    """The records a bulk change is about, as posted: chosen rows, or everything a filter matches."""

    records: QuerySet[Any] | None
    ids: list[int]
    is_all: bool
    query: str
    error: str = ""


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except ValueError:
            continue
        if number > 0:
            ids.append(number)
    return list(dict.fromkeys(ids))


def _selection(request: HttpRequest, spec: BulkPage) -> Selection:
    actor = request.user
    selector = spec.list_page.selector
    query = request.POST.get("query", "")[:4000]
    if request.POST.get("all"):
        data = QueryDict(query, mutable=True)
        # Paging and order do not change which records match.
        for name in ("page", "per_page", "sort"):
            data.pop(name, None)
        filterset = spec.list_page.filterset_class(
            data=data, queryset=selector(actor), request=request
        )
        if not filterset.is_valid():
            return Selection(
                None, [], True, query, _("The list's filters are not valid: go back and fix them.")
            )
        return Selection(filterset.qs, [], True, query)
    ids = _ids(request.POST.getlist("ids"))
    if not ids:
        return Selection(None, [], False, query, _("Select at least one row first."))
    return Selection(selector(actor).filter(pk__in=ids), ids, False, query)


def _next_url(request: HttpRequest, spec: BulkPage) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(spec.list_page.url_name)


def _bulk(request: HttpRequest, spec: BulkPage) -> HttpResponse:
    require_perm(request.user, Perm.PARTIES_CHANGE)
    actor = request.user
    form = BulkValueForm(request.POST, actor=actor, actions=spec.actions)
    selection = _selection(request, spec)
    context: dict[str, Any] = {
        "nav": spec.list_page.nav,
        "spec": spec,
        "form": form,
        "selection": selection,
        "next_url": _next_url(request, spec),
        "bulk_url": reverse(spec.url_name),
    }

    def page(step: str, status: int = 200, **extra: Any) -> HttpResponse:
        return render(
            request, "parties/bulk_change.html", {**context, "step": step, **extra}, status=status
        )

    if selection.records is None:
        return page("error", errors=[selection.error])
    matched = selection.records.count()
    context["matched"] = matched
    context["matched_text"] = spec.records(matched)
    if not matched:
        return page("error", errors=[_("None of the selected rows can be changed by you.")])
    if not form.is_valid():
        if "action" in form.errors:
            return page("error", errors=[_("Choose what to change.")])
        return page("choose")
    is_confirmed = bool(request.POST.get("confirm"))
    try:
        count = spec.apply(actor, selection.records, dry_run=not is_confirmed, **form.changes())
    except ValidationError as error:
        return page("error", errors=error.messages)
    except PermissionDenied as error:
        return page("error", status=403, errors=[str(error)])
    if is_confirmed:
        messages.success(request, spec.changed(count))
        return redirect(context["next_url"])
    if not count:
        return page("nothing")
    unchanged = matched - count
    return page(
        "confirm",
        count=count,
        question=form.question(spec.records(count)),
        unchanged_text=(
            ngettext(
                "%(count)s of the selected records already has this and stays as it is.",
                "%(count)s of the selected records already have this and stay as they are.",
                unchanged,
            )
            % {"count": unchanged}
            if unchanged > 0
            else ""
        ),
    )


def _value(request: HttpRequest, spec: BulkPage) -> HttpResponse:
    """The value control of one action, swapped into the bulk bar when the action is chosen."""
    require_perm(request.user, Perm.PARTIES_CHANGE)
    form = BulkValueForm(
        None, actor=request.user, actions=spec.actions, action=request.GET.get("action", "")
    )
    return render(request, "parties/bulk_value.html", {"field": form.value_field()})


@login_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, CONTACT_BULK)


@login_required
@require_POST
def organization_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, ORGANIZATION_BULK)


@login_required
@require_GET
def contact_bulk_value(request: HttpRequest) -> HttpResponse:
    return _value(request, CONTACT_BULK)


@login_required
@require_GET
def organization_bulk_value(request: HttpRequest) -> HttpResponse:
    return _value(request, ORGANIZATION_BULK)


urlpatterns = [
    path("contacts/bulk/", contact_bulk, name="contact_bulk"),
    path("contacts/bulk/value/", contact_bulk_value, name="contact_bulk_value"),
    path("organizations/bulk/", organization_bulk, name="organization_bulk"),
    path("organizations/bulk/value/", organization_bulk_value, name="organization_bulk_value"),
]
