"""API: /api/v1/tasks/ — tasks with due times and reminders; POST …/complete/ and …/reopen/."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.activities import services
from clientela.activities.filters import TaskFilterSet
from clientela.activities.selectors import tasks_visible_to
from clientela.activities.serializers import TaskSerializer
from clientela.core.api import (
    FilterBackend,
    etag_of,
    if_match_version,
    is_not_modified,
    versioned_response,
)
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm


@extend_schema_view(
    list=extend_schema(summary=_("List tasks")),
    retrieve=extend_schema(summary=_("Read a task")),
    create=extend_schema(
        summary=_("Create a task"),
        description=_(
            "Times are ISO 8601 with an offset. A task is about one record at most. Giving a task to "
            "someone else needs the sales assign permission."
        ),
    ),
    update=extend_schema(summary=_("Change a task")),
    partial_update=extend_schema(summary=_("Change some fields of a task")),
    destroy=extend_schema(summary=_("Delete a task")),
    complete=extend_schema(summary=_("Mark a task done"), request=None),
    reopen=extend_schema(summary=_("Open a done task again"), request=None),
)
class TaskViewSet(ApiViewSet):
    """Tasks the caller can see. Their ETag is their version: send it back in If-Match."""

    versioned = True
    serializer_class = TaskSerializer
    filter_backends = [FilterBackend]
    filterset_class = TaskFilterSet
    action_permissions = {
        "list": Perm.ACTIVITIES_VIEW,
        "retrieve": Perm.ACTIVITIES_VIEW,
        "create": Perm.ACTIVITIES_ADD,
        "update": Perm.ACTIVITIES_ADD,
        "partial_update": Perm.ACTIVITIES_ADD,
        "destroy": Perm.ACTIVITIES_ADD,
        "complete": Perm.ACTIVITIES_ADD,
        "reopen": Perm.ACTIVITIES_ADD,
    }

    def get_queryset(self) -> Any:
        return tasks_visible_to(self.actor)

    def _write_response(self, record: Any, status: int = 200) -> Response:
        record = self.get_queryset().filter(pk=record.pk).first() or record
        data = self.get_serializer(record).data
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
        record = services.task_create(actor=self.actor, **serializer.validated_data)
        return self._write_response(record, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        record = self.get_object()
        expected_version = if_match_version(request, record)
        serializer = self.get_serializer(record, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        record = services.task_update(
            actor=self.actor,
            task=record,
            expected_version=expected_version,
            **serializer.validated_data,
        )
        return self._write_response(record)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        services.task_delete(
            actor=self.actor, task=record, expected_version=if_match_version(request, record)
        )
        return Response(status=204)

    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        record = services.task_complete(
            actor=self.actor, task=record, expected_version=if_match_version(request, record)
        )
        return self._write_response(record)

    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        record = services.task_reopen(
            actor=self.actor, task=record, expected_version=if_match_version(request, record)
        )
        return self._write_response(record)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    router.register("tasks", TaskViewSet, basename="task")
