"""Reads of organizations and contacts, always scoped to the person asking."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from clientela.core.search import search_filter
from clientela.core.selectors import scope_filter, visible_to
from clientela.parties.models import Affiliation, Contact, Organization

# The optional columns of the list pages, in display order (the name column is always shown), and the
# ones shown until a person chooses their own (saved by services.list_columns_set).
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "email",
        "phone",
        "organization",
        "job_title",
        "stage",
        "tags",
        "owner",
        "team",
        "city",
        "country",
        "created",
    ),
    "organizations": (
        "domain",
        "industry",
        "size",
        "phone",
        "city",
        "country",
        "revenue",
        "tags",
        "owner",
        "team",
        "created",
    ),
}
LIST_COLUMNS_DEFAULT: dict[str, tuple[str, ...]] = {
    "contacts": ("email", "phone", "organization", "stage", "tags", "owner", "created"),
    "organizations": ("domain", "industry", "country", "tags", "owner", "created"),
}


def organizations_visible_to(actor: Any) -> QuerySet[Organization]:
    """Organizations ``actor`` may see, with what list pages and the API show loaded up front."""
    return (
        visible_to(Organization.objects.all(), actor)
        .select_related("owner", "team")
        .prefetch_related("tags")
    )


def contacts_visible_to(actor: Any) -> QuerySet[Contact]:
    """Contacts ``actor`` may see; each with its emails, phones, tags and the organizations ``actor`` may see."""
    condition = scope_filter(actor, through="organization__")
    affiliations = (
        Affiliation.objects.none()
        if condition is None
        else Affiliation.objects.filter(condition).select_related("organization")
    )
    return (
        visible_to(Contact.objects.all(), actor)
        .select_related("owner", "team")
        .prefetch_related(
            "tags", "emails", "phones", Prefetch("affiliations", queryset=affiliations)
        )
    )


def contacts_listed_to(actor: Any) -> QuerySet[Contact]:
    """Contacts ``actor`` may see with only what a row of the list page shows: owner, team, tags and
    the names of the organizations ``actor`` may see (the primary email and phone are columns)."""
    condition = scope_filter(actor, through="organization__")
    affiliations = (
        Affiliation.objects.none()
        if condition is None
        else Affiliation.objects.filter(condition)
        .select_related("organization")
        .only(
            "contact_id", "organization_id", "is_primary", "organization__id", "organization__name"
        )
    )
    return (
        visible_to(Contact.objects.all(), actor)
        .select_related("owner", "team")
        .defer("search_text", "custom_fields")
        .prefetch_related("tags", Prefetch("affiliations", queryset=affiliations))
    )


def organization_get(actor: Any, pk: Any) -> Organization:
    """One visible organization, or Http404 (the same answer for someone else's and for a missing id)."""
    return get_object_or_404(organizations_visible_to(actor), pk=pk)


def contact_get(actor: Any, pk: Any) -> Contact:
    return get_object_or_404(contacts_visible_to(actor), pk=pk)


def organization_people(actor: Any, organization: Organization) -> QuerySet[Contact]:
    """The contacts at ``organization`` that ``actor`` may see."""
    return contacts_visible_to(actor).filter(affiliations__organization=organization).distinct()


def contacts_search(queryset: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """Contacts whose name, any email, any phone number (in any format) or organization ``text`` finds.

    Runs on the database's full-text index (core.search); accents and case do not matter.
    """
    return search_filter(queryset, text)


def organizations_search(queryset: QuerySet[Organization], text: str) -> QuerySet[Organization]:
    """Organizations whose name, domain or phone number ``text`` finds."""
    return search_filter(queryset, text)


def list_columns_for(actor: Any, list_name: str) -> list[str]:
    """The optional columns ``actor`` chose for the list ``list_name``, in display order.

    The default set when they chose none; columns that no longer exist are left out.
    """
    allowed = LIST_COLUMNS[list_name]
    saved = (getattr(actor, "preferences", None) or {}).get(f"{list_name}.columns")
    if not isinstance(saved, list):
        return list(LIST_COLUMNS_DEFAULT[list_name])
    return [column for column in allowed if column in saved]
