"""What search finds organizations and contacts by, and search across both (core.search runs it).

A contact is found by any part of its name, any email address, any phone number (in any format) and
the names of its organizations; an organization by its name, domain and phone number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from clientela.core.search import (
    search_best,
    search_document,
    search_phone_digits,
    search_terms,
)
from clientela.core.selectors import scope_filter
from clientela.parties.models import Affiliation, Contact, ContactEmail, ContactPhone, Organization


def contact_search_text(
    *,
    first_name: str,
    last_name: str,
    emails: Iterable[str],
    phones: Iterable[str],
    organization_names: Iterable[str],
) -> str:
    """The ``search_text`` of a contact with these values (phones in E.164)."""
    return search_document(
        first_name,
        last_name,
        list(emails),
        [search_phone_digits(phone) for phone in phones],
        list(organization_names),
    )


def organization_search_text(*, name: str, domain: str, phone: str) -> str:
    return search_document(name, domain, search_phone_digits(phone))


def contact_search_text_refresh(contact_ids: Iterable[int]) -> int:
    """Recompute the ``search_text`` of these contacts from their current rows; returns how many changed.

    Services call it inside their transaction after changing what a contact is found by (its emails,
    phones or affiliations, or an organization's name).
    """
    ids = list(contact_ids)
    if not ids:
        return 0
    contacts = Contact.objects.filter(pk__in=ids).only(
        "id", "first_name", "last_name", "search_text"
    )
    emails: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    names: dict[int, list[str]] = {}
    for contact_id, email in ContactEmail.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "email"
    ):
        emails.setdefault(contact_id, []).append(email)
    for contact_id, number in ContactPhone.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "number"
    ):
        phones.setdefault(contact_id, []).append(number)
    for contact_id, name in Affiliation.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "organization__name"
    ):
        names.setdefault(contact_id, []).append(name)
    changed = []
    for contact in contacts:
        text = contact_search_text(
            first_name=contact.first_name,
            last_name=contact.last_name,
            emails=emails.get(contact.pk, ()),
            phones=phones.get(contact.pk, ()),
            organization_names=names.get(contact.pk, ()),
        )
        if text != contact.search_text:
            contact.search_text = text
            changed.append(contact)
    Contact.objects.bulk_update(changed, ["search_text"], batch_size=1000)
    return len(changed)


SEARCH_TYPES = ("contacts", "organizations")


def _visible_affiliations(actor: Any) -> QuerySet[Affiliation]:
    """Affiliations with the organizations ``actor`` may see, those loaded."""
    affiliations = Affiliation.objects.select_related("organization")
    scope = scope_filter(actor)
    if scope is None:
        return affiliations.none()
    if not scope:
        return affiliations
    # The scope as conditions on the joined organization, not ``organization__in=<visible ids>``:
    # SQLite would probe the affiliations once per visible organization (15,000 probes for 8 contacts
    # at the demo's large size, 170 ms; this takes 1 ms).
    return affiliations.filter(_on_related(scope, "organization"))


def _on_related(condition: Q, relation: str) -> Q:
    """``condition`` (on a model's fields) as a condition on the model reached through ``relation``."""
    related = Q()
    related.connector, related.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            related.children.append(_on_related(child, relation))
        else:
            lookup, value = cast(tuple[str, Any], child)
            related.children.append((f"{relation}__{lookup}", value))
    return related


def _contacts(actor: Any) -> QuerySet[Contact]:
    from clientela.parties.selectors import contacts_visible_to

    # Only what search results show: name, primary email and phone are columns.
    return contacts_visible_to(actor).select_related(None).prefetch_related(None)


def _organizations(actor: Any) -> QuerySet[Organization]:
    from clientela.parties.selectors import organizations_visible_to

    return organizations_visible_to(actor).select_related(None).prefetch_related(None)


def search_everything(
    actor: Any, text: str, *, limit: int = 8, types: Iterable[str] = SEARCH_TYPES
) -> dict[str, list[Any]]:
    """Up to ``limit`` contacts and organizations that ``actor`` may see and ``text`` finds, best first.

    Records whose name starts with the text come first, then by name (``core.search.search_best``).
    Contacts come with their affiliations to the organizations ``actor`` may see (primary first). A
    text without search terms (empty, blank, only punctuation) finds nothing, rather than everything.
    The number of queries does not depend on the number of matches. Only the ``types`` asked for are
    searched and returned.
    """
    wanted = [name for name in SEARCH_TYPES if name in set(types)]
    if not search_terms(text):
        return {name: [] for name in wanted}
    found: dict[str, list[Any]] = {}
    if "contacts" in wanted:
        contacts = search_best(_contacts(actor), text, limit=limit)
        prefetch_related_objects(
            contacts, Prefetch("affiliations", queryset=_visible_affiliations(actor))
        )
        found["contacts"] = contacts
    if "organizations" in wanted:
        found["organizations"] = search_best(_organizations(actor), text, limit=limit)
    return found


def search_counts(actor: Any, text: str) -> dict[str, int]:
    """How many contacts and organizations that ``actor`` may see ``text`` finds (0 without terms)."""
    from clientela.parties.selectors import contacts_search, organizations_search

    if not search_terms(text):
        return dict.fromkeys(SEARCH_TYPES, 0)
    return {
        "contacts": contacts_search(_contacts(actor), text).order_by().count(),
        "organizations": organizations_search(_organizations(actor), text).order_by().count(),
    }
