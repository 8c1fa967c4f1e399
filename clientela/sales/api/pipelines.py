"""API: /api/v1/pipelines/ (with their stages) and /api/v1/close-reasons/.

Everyone who may see sales reads them; administrators (sales.configure) write them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import (
    FilterBackend,
    etag_of,
    if_match_version,
    is_not_modified,
    versioned_response,
)
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.sales import services
from clientela.sales.selectors import close_reasons_visible_to, pipelines_visible_to
from clientela.sales.serializers import CloseReasonSerializer, PipelineSerializer

_CONFIGURE = {
    "create": Perm.SALES_CONFIGURE,
    "update": Perm.SALES_CONFIGURE,
    "partial_update": Perm.SALES_CONFIGURE,
    "destroy": Perm.SALES_CONFIGURE,
}


@extend_schema_view(
    list=extend_schema(summary=_("List pipelines")),
    retrieve=extend_schema(summary=_("Read a pipeline")),
    create=extend_schema(
        summary=_("Create a pipeline"),
        description=_("Without stages, the pipeline gets a usual set of five."),
    ),
    update=extend_schema(summary=_("Change a pipeline and its stages")),
    partial_update=extend_schema(summary=_("Change some settings or the stages of a pipeline")),
    destroy=extend_schema(
        summary=_("Delete a pipeline"),
        description=_("Refused (400) while deals are in it; make it inactive instead."),
    ),
)
class PipelineViewSet(ApiViewSet):
    """Pipelines and their stages. Their ETag is their version: send it back in If-Match."""

    serializer_class = PipelineSerializer
    versioned = True
    action_permissions = _CONFIGURE

    def get_queryset(self) -> Any:
        return pipelines_visible_to(self.actor)

    def _response(self, pipeline: Any, status: int = 200) -> Response:
        pipeline = self.get_queryset().get(pk=pipeline.pk)
        data = self.get_serializer(pipeline).data
        return versioned_response(
            pipeline, data, status=status, location=data["url"] if status == 201 else None
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        if is_not_modified(request, pipeline):
            return Response(status=304, headers={"ETag": etag_of(pipeline.version)})
        return versioned_response(pipeline, self.get_serializer(pipeline).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "stages" in data:
            data["stages"] = [dict(stage) for stage in data["stages"]]
        pipeline = services.pipeline_create(actor=self.actor, **data)
        return self._response(pipeline, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        pipeline = self.get_object()
        expected_version = if_match_version(request, pipeline)
        serializer = self.get_serializer(pipeline, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        stages = data.pop("stages", None)
        with transaction.atomic():
            pipeline = services.pipeline_update(
                actor=self.actor, pipeline=pipeline, expected_version=expected_version, **data
            )
            if stages is not None:
                services.pipeline_stages_set(
                    actor=self.actor,
                    pipeline=pipeline,
                    stages=[dict(stage) for stage in stages],
                    # Checked once, before the settings changed (which may have raised the version).
                    expected_version=None,
                )
        return self._response(pipeline)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        services.pipeline_delete(
            actor=self.actor,
            pipeline=pipeline,
            expected_version=if_match_version(request, pipeline),
        )
        return Response(status=204)


@extend_schema_view(
    list=extend_schema(summary=_("List close reasons")),
    retrieve=extend_schema(summary=_("Read a close reason")),
    create=extend_schema(summary=_("Add a close reason")),
    update=extend_schema(summary=_("Change a close reason")),
    partial_update=extend_schema(summary=_("Change some fields of a close reason")),
    destroy=extend_schema(
        summary=_("Delete a close reason"),
        description=_(
            "A reason that closed deals cite is deactivated instead (answered 200 with it); "
            "otherwise it is deleted (204)."
        ),
    ),
)
class CloseReasonViewSet(ApiViewSet):
    """Why deals are won or lost: the list a closing deal picks its reason from."""

    serializer_class = CloseReasonSerializer
    etagged = True
    filter_backends = [FilterBackend]
    filterset_fields = ["outcome", "is_active"]
    action_permissions = _CONFIGURE

    def get_queryset(self) -> Any:
        return close_reasons_visible_to(self.actor)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.etagged_retrieve()

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = services.close_reason_create(actor=self.actor, **serializer.validated_data)
        return self.etagged_response(reason, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        with self.locked_for_write() as reason:
            serializer = self.get_serializer(reason, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            reason = services.close_reason_update(
                actor=self.actor, close_reason=reason, **serializer.validated_data
            )
        return self.etagged_response(reason)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_for_write() as reason:
            deleted = services.close_reason_delete(actor=self.actor, close_reason=reason)
        if deleted:
            return Response(status=204)
        reason.refresh_from_db()
        return self.etagged_response(reason)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    router.register("pipelines", PipelineViewSet, basename="pipeline")
    router.register("close-reasons", CloseReasonViewSet, basename="close-reason")
