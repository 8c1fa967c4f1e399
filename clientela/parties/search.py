"""What search finds organizations and contacts by, and search across both (core.search runs it).

A contact is found by any part of its name, any email address, any phone number (in any format) and
the names of its organizations; an organization by its name, domain and phone number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clientela.core.search import search_document, search_phone_digits
from clientela.parties.models import Affiliation, Contact, ContactEmail, ContactPhone


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


def search_everything(actor: Any, text: str, *, limit: int = 8) -> dict[str, list[Any]]:
    """Up to ``limit`` contacts and organizations that ``actor`` may see and ``text`` finds, by name."""
    from clientela.parties.selectors import (
        contacts_search,
        contacts_visible_to,
        organizations_search,
        organizations_visible_to,
    )

    return {
        "contacts": list(contacts_search(contacts_visible_to(actor), text)[:limit]),
        "organizations": list(organizations_search(organizations_visible_to(actor), text)[:limit]),
    }
