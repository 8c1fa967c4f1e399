"""API: /api/v1/deals/ with their line items, and POST /api/v1/deals/{id}/move/.

Reads start from the selectors (scoped to the user: someone else's id answers 404); writes call the
services. Lists take the same filters as the deal list page.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
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
from clientela.sales import services
from clientela.sales.filters import DealFilterSet
from clientela.sales.selectors import deals_visible_to
from clientela.sales.serializers import (
    DealMoveSerializer,
    DealSerializer,
    DealUpdateSerializer,
    deal_service_fields,
)


@extend_schema_view(
    list=extend_schema(
        summary=_("List deals"), description=_("Filters are those of the list page.")
    ),
    retrieve=extend_schema(summary=_("Read a deal")),
    create=extend_schema(summary=_("Create a deal")),
    update=extend_schema(
        summary=_("Change a deal"),
        description=_(
            "Fields left out keep their values; contacts, line items and tags are replaced when "
            "given. The stage changes through …/move/."
        ),
        request=DealUpdateSerializer,
        responses=DealSerializer,
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of a deal"),
        request=DealUpdateSerializer,
        responses=DealSerializer,
    ),
    destroy=extend_schema(summary=_("Delete a deal")),
    move=extend_schema(
        summary=_("Move a deal to another stage"),
        description=_(
            "A won or lost stage closes the deal and needs an active close reason of that outcome; "
            "an open stage reopens a closed deal. Honors If-Match."
        ),
        request=DealMoveSerializer,
        responses=DealSerializer,
    ),
)
class DealViewSet(ApiViewSet):
    """Deals the caller can see. Their ETag is their version: send it back in If-Match."""

    serializer_class = DealSerializer
    versioned = True
    filter_backends = [FilterBackend]
    filterset_class = DealFilterSet
    action_permissions = {
        "create": Perm.SALES_ADD,
        "update": Perm.SALES_CHANGE,
        "partial_update": Perm.SALES_CHANGE,
        "destroy": Perm.SALES_DELETE,
        "move": Perm.SALES_CHANGE,
    }

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("update", "partial_update"):
            return DealUpdateSerializer
        if self.action == "move":
            return DealMoveSerializer
        return DealSerializer

    def get_queryset(self) -> Any:
        return deals_visible_to(self.actor)

    def _write_response(self, deal: Any, status: int = 200) -> Response:
        deal = self.get_queryset().filter(pk=deal.pk).first() or deal
        data = DealSerializer(deal, context=self.get_serializer_context()).data
        return versioned_response(
            deal, data, status=status, location=data["url"] if status == 201 else None
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        if is_not_modified(request, deal):
            return Response(status=304, headers={"ETag": etag_of(deal.version)})
        return versioned_response(deal, self.get_serializer(deal).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = owner_and_team_changes(deal_service_fields(serializer.validated_data))
        deal = services.deal_create(actor=self.actor, **fields)
        return self._write_response(deal, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        deal = self.get_object()
        expected_version = if_match_version(request, deal)
        serializer = self.get_serializer(deal, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = owner_and_team_changes(deal_service_fields(serializer.validated_data), deal)
        deal = services.deal_update(
            actor=self.actor, deal=deal, expected_version=expected_version, **fields
        )
        return self._write_response(deal)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        services.deal_delete(
            actor=self.actor, deal=deal, expected_version=if_match_version(request, deal)
        )
        return Response(status=204)

    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        expected_version = if_match_version(request, deal)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deal = services.deal_move_to_stage(
            actor=self.actor,
            deal=deal,
            stage=data["stage"],
            expected_version=expected_version,
            close_reason=data.get("close_reason"),
            close_note=data.get("close_note", ""),
        )
        return self._write_response(deal)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    router.register("deals", DealViewSet, basename="deal")
