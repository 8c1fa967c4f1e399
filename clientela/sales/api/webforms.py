"""API: /api/v1/web-forms/, for those who configure sales.

Visitors do not use this API: they post to a form's public address (``public_url``, /f/<slug>/),
form-encoded or as JSON, without authentication.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import etag_of, if_match_version, is_not_modified, versioned_response
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.sales.lead_serializers import WebFormSerializer, webform_service_fields
from clientela.sales.webforms import (
    webform_create,
    webform_delete,
    webform_update,
    webforms_visible_to,
)


@extend_schema_view(
    list=extend_schema(summary=_("List web forms")),
    retrieve=extend_schema(summary=_("Read a web form")),
    create=extend_schema(summary=_("Create a web form")),
    update=extend_schema(
        summary=_("Change a web form"), description=_("Fields left out keep their values.")
    ),
    partial_update=extend_schema(summary=_("Change some settings of a web form")),
    destroy=extend_schema(
        summary=_("Delete a web form"),
        description=_("Its submissions go with it; its leads stay."),
    ),
)
class WebFormViewSet(ApiViewSet):
    """Web forms. Their ETag is their version: send it back in If-Match."""

    serializer_class = WebFormSerializer
    versioned = True
    action_permissions = {
        "list": Perm.SALES_CONFIGURE,
        "retrieve": Perm.SALES_CONFIGURE,
        "create": Perm.SALES_CONFIGURE,
        "update": Perm.SALES_CONFIGURE,
        "partial_update": Perm.SALES_CONFIGURE,
        "destroy": Perm.SALES_CONFIGURE,
    }

    def get_queryset(self) -> Any:
        return webforms_visible_to(self.actor).order_by("name", "id")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        web_form = self.get_object()
        if is_not_modified(request, web_form):
            return Response(status=304, headers={"ETag": etag_of(web_form.version)})
        return versioned_response(web_form, self.get_serializer(web_form).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        web_form = webform_create(
            actor=self.actor, **webform_service_fields(serializer.validated_data)
        )
        data = self.get_serializer(web_form).data
        return versioned_response(web_form, data, status=201, location=data["url"])

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        web_form = self.get_object()
        expected_version = if_match_version(request, web_form)
        serializer = self.get_serializer(web_form, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        web_form = webform_update(
            actor=self.actor,
            web_form=web_form,
            expected_version=expected_version,
            **webform_service_fields(serializer.validated_data),
        )
        return versioned_response(web_form, self.get_serializer(web_form).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        web_form = self.get_object()
        webform_delete(
            actor=self.actor,
            web_form=web_form,
            expected_version=if_match_version(request, web_form),
        )
        return Response(status=204)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    router.register("web-forms", WebFormViewSet, basename="web-form")
