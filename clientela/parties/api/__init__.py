"""REST API endpoints of organizations and contacts, one module per feature."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from clientela.parties.api import bulk, duplicates, exports, imports, records, search


def register(router: DefaultRouter) -> None:
    # Feature endpoints first: "contacts/merge/" must not be read as a contact id.
    for module in (search, imports, exports, duplicates, bulk, records):
        module.register(router)
