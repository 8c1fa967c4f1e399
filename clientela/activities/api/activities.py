"""API: /api/v1/activities/ — calls, meetings, emails and notes on the records they concern.

Reads start from the selectors (someone else's id answers 404); writes call the services.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.activities import services
from clientela.activities.filters import ActivityFilterSet
from clientela.activities.selectors import activities_visible_to
from clientela.activities.serializers import ActivitySerializer, ActivityUpdateSerializer
from clientela.core.api import (
    FilterBackend,
    etag_of,
    if_match_version,
    is_not_modified,
    versioned_response,
)
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm


def _service_fields(validated: dict[str, Any]) -> dict[str, Any]:
    return dict(validated)


@extend_schema_view(
    list=extend_schema(summary=_("List activities")),
    retrieve=extend_schema(summary=_("Read an activity")),
    create=extend_schema(
        summary=_("Log an activity"),
        description=_(
            "A call needs direction, duration_seconds and call_outcome; a meeting needs ends_at after "
            "occurred_at; an email needs direction; a note needs a body. Every related record must be "
            "one you can see."
        ),
    ),
    update=extend_schema(summary=_("Change an activity"), responses=ActivitySerializer),
    partial_update=extend_schema(
        summary=_("Change some fields of an activity"), responses=ActivitySerializer
    ),
    destroy=extend_schema(summary=_("Delete an activity")),
)
class ActivityViewSet(ApiViewSet):
    """Activities the caller can see. Their ETag is their version: send it back in If-Match."""

    versioned = True
    filter_backends = [FilterBackend]
    filterset_class = ActivityFilterSet
    action_permissions = {
        "list": Perm.ACTIVITIES_VIEW,
        "retrieve": Perm.ACTIVITIES_VIEW,
        "create": Perm.ACTIVITIES_ADD,
        "update": Perm.ACTIVITIES_ADD,
        "partial_update": Perm.ACTIVITIES_ADD,
        "destroy": Perm.ACTIVITIES_ADD,
    }

    def get_serializer_class(self) -> Any:
        if self.action in ("update", "partial_update"):
            return ActivityUpdateSerializer
        return ActivitySerializer

    def get_queryset(self) -> Any:
        return activities_visible_to(self.actor)

    def _write_response(self, record: Any, status: int = 200) -> Response:
        record = self.get_queryset().filter(pk=record.pk).first() or record
        data = ActivitySerializer(record, context=self.get_serializer_context()).data
        location = data["url"] if status == 201 else None
        return versioned_response(record, data, status=status, location=location)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        if is_not_modified(request, record):
            return Response(status=304, headers={"ETag": etag_of(record.version)})
        return versioned_response(record, self.get_serializer(record).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.activity_log(
            actor=self.actor, **_service_fields(serializer.validated_data)
        )
        return self._write_response(record, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        record = self.get_object()
        expected_version = if_match_version(request, record)
        serializer = self.get_serializer(record, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        record = services.activity_update(
            actor=self.actor,
            activity=record,
            expected_version=expected_version,
            **_service_fields(serializer.validated_data),
        )
        return self._write_response(record)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        services.activity_delete(
            actor=self.actor, activity=record, expected_version=if_match_version(request, record)
        )
        return Response(status=204)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    router.register("activities", ActivityViewSet, basename="activity")
