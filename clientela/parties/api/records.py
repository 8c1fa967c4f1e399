"""REST API endpoints of organizations and contacts: /api/v1/organizations/ and /api/v1/contacts/.

Reads start from the selectors (scoped to the user: someone else's id answers 404); writes call the
services. Lists take the same filters as the list pages.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.serializers import BaseSerializer

from clientela.core.api import (
    FilterBackend,
    etag_of,
    if_match_version,
    is_not_modified,
    owner_and_team_changes,
    versioned_response,
)
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.parties import services
from clientela.parties.filters import ContactFilterSet, OrganizationFilterSet
from clientela.parties.models import Contact, Organization
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to
from clientela.parties.serializers import (
    ContactSerializer,
    OrganizationSerializer,
    contact_service_fields,
)

_FILTERS_NOTE = _(
    "Filters are those of the list page. Besides the parameters below, each custom field is a filter "
    "named cf_<key> (cf_<key>_min/_max for numbers, cf_<key>_after/_before for dates)."
)


# List, read, create, change (PUT or PATCH) and delete one kind of party record.
class _PartyViewSet(ApiViewSet):
    versioned = True
    filter_backends = [FilterBackend]
    action_permissions = {
        "create": Perm.PARTIES_ADD,
        "update": Perm.PARTIES_CHANGE,
        "partial_update": Perm.PARTIES_CHANGE,
        "destroy": Perm.PARTIES_DELETE,
    }

    def selector(self, actor: Any) -> Any:
        raise NotImplementedError

    def service_fields(self, validated: dict[str, Any]) -> dict[str, Any]:
        return dict(validated)

    def service_create(self, **fields: Any) -> Any:
        raise NotImplementedError

    def service_update(self, record: Any, **fields: Any) -> Any:
        raise NotImplementedError

    def service_delete(self, record: Any, expected_version: int | None) -> None:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        return self.selector(self.actor)

    def _reloaded(self, record: Any) -> Any:
        """The written record as the selector loads it (children, tags, visible organizations)."""
        return self.get_queryset().filter(pk=record.pk).first() or record

    def _write_response(self, record: Any, status: int = 200) -> Response:
        record = self._reloaded(record)
        data = self.get_serializer(record).data
        location = data["url"] if status == 201 else None
        return versioned_response(record, data, status=status, location=location)

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        if is_not_modified(request, record):
            return Response(status=304, headers={"ETag": etag_of(record.version)})
        return versioned_response(record, self.get_serializer(record).data)

    def create(self, request: Request) -> Response:
        serializer: BaseSerializer[Any] = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = owner_and_team_changes(self.service_fields(serializer.validated_data))
        record = self.service_create(**fields)
        return self._write_response(record, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        record = self.get_object()
        expected_version = if_match_version(request, record)
        serializer: BaseSerializer[Any] = self.get_serializer(
            record, data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        fields = owner_and_team_changes(self.service_fields(serializer.validated_data), record)
        record = self.service_update(record, expected_version=expected_version, **fields)
        return self._write_response(record)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        self.service_delete(record, if_match_version(request, record))
        return Response(status=204)


@extend_schema_view(
    list=extend_schema(summary=_("List organizations"), description=_FILTERS_NOTE),
    retrieve=extend_schema(summary=_("Read an organization")),
    create=extend_schema(summary=_("Create an organization")),
    update=extend_schema(
        summary=_("Change an organization"),
        description=_("Fields left out keep their values; tags are replaced when given."),
    ),
    partial_update=extend_schema(summary=_("Change some fields of an organization")),
    destroy=extend_schema(
        summary=_("Delete an organization"),
        description=_("Its contacts stay, without this affiliation."),
    ),
)
class OrganizationViewSet(_PartyViewSet):
    """Organizations the caller can see. Their ETag is their version: send it back in If-Match."""

    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet

    def selector(self, actor: Any) -> Any:
        return organizations_visible_to(actor)

    def service_create(self, **fields: Any) -> Organization:
        return services.organization_create(actor=self.actor, **fields)

    def service_update(self, record: Any, **fields: Any) -> Organization:
        return services.organization_update(actor=self.actor, organization=record, **fields)

    def service_delete(self, record: Any, expected_version: int | None) -> None:
        services.organization_delete(
            actor=self.actor, organization=record, expected_version=expected_version
        )


@extend_schema_view(
    list=extend_schema(summary=_("List contacts"), description=_FILTERS_NOTE),
    retrieve=extend_schema(summary=_("Read a contact")),
    create=extend_schema(summary=_("Create a contact")),
    update=extend_schema(
        summary=_("Change a contact"),
        description=_(
            "Fields left out keep their values; emails, phones, organizations and tags are replaced "
            "when given."
        ),
    ),
    partial_update=extend_schema(summary=_("Change some fields of a contact")),
    destroy=extend_schema(summary=_("Delete a contact")),
)
class ContactViewSet(_PartyViewSet):
    """Contacts the caller can see. Their ETag is their version: send it back in If-Match."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet

    def selector(self, actor: Any) -> Any:
        return contacts_visible_to(actor)

    def service_fields(self, validated: dict[str, Any]) -> dict[str, Any]:
        return contact_service_fields(validated)

    def service_create(self, **fields: Any) -> Contact:
        return services.contact_create(actor=self.actor, **fields)

    def service_update(self, record: Any, **fields: Any) -> Contact:
        return services.contact_update(actor=self.actor, contact=record, **fields)

    def service_delete(self, record: Any, expected_version: int | None) -> None:
        services.contact_delete(actor=self.actor, contact=record, expected_version=expected_version)


def register(router: DefaultRouter) -> None:
    router.register("organizations", OrganizationViewSet, basename="organization")
    router.register("contacts", ContactViewSet, basename="contact")
