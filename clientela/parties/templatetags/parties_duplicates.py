"""Template tags of duplicates on record pages: how many possible duplicates a record has, and the
notice with an "Undo" button after a merge."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse

from clientela.core.permissions import Perm, has_perm
from clientela.parties.duplicates import CONTACTS, ORGANIZATIONS, possible_duplicates_count
from clientela.parties.merges import merge_get, merge_labels
from clientela.parties.models import Contact

register = template.Library()


def _record_type(record: Any) -> str:
    return CONTACTS if isinstance(record, Contact) else ORGANIZATIONS


@register.inclusion_tag("parties/duplicate_possible.html", takes_context=True)
def possible_duplicates(context: template.Context, record: Any) -> dict[str, Any]:
    """A link to the review queue of ``record`` when it has open pairs (for those who may merge)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not has_perm(user, Perm.PARTIES_MERGE):
        return {"count": 0}
    record_type = _record_type(record)
    return {
        "count": possible_duplicates_count(user, record),
        "url": f"{reverse('parties:duplicate_list')}?type={record_type}&record={record.pk}",
    }


@register.inclusion_tag("parties/merge_notice.html", takes_context=True)
def merge_notice(context: template.Context, record: Any) -> dict[str, Any]:
    """After a merge (``?merged=<merge id>`` on the survivor's page): what was merged into it, with a
    button that undoes it; nothing once undone, or for a merge into another record."""
    request = context.get("request")
    user = getattr(request, "user", None)
    merge_id = request.GET.get("merged") if request is not None else None
    if not merge_id or not merge_id.isdigit() or not has_perm(user, Perm.PARTIES_MERGE):
        return {"merge": None}
    try:
        merge = merge_get(user, merge_id)
    except ObjectDoesNotExist:
        return {"merge": None}
    if (
        merge.undone_at is not None
        or merge.survivor_id != record.pk
        or merge.record_type != _record_type(record)
    ):
        return {"merge": None}
    return {
        "merge": merge,
        "labels": merge_labels(merge),
        "undo_url": reverse("parties:merge_undo", args=[merge.pk]),
        "csrf_token": context.get("csrf_token"),
    }
