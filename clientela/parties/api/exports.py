"""API: GET /api/v1/contacts/export/ and /api/v1/organizations/export/ download a filtered list as a file.

They take the filters of the list endpoints and ``format`` (csv, xlsx; vcf for contacts). The file's
type comes from ``format``, not from ``Accept``; errors are problem+json like everywhere else.
"""

from __future__ import annotations

from typing import Any

from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.routers import DefaultRouter

from clientela.core.api import PROBLEM_CONTENT_TYPE, FilterBackend, ProblemSerializer
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.parties.exports import (
    CONTENT_TYPES,
    EXPORT_KINDS,
    ExportFormat,
    export_start,
)
from clientela.parties.filters import ContactFilterSet, OrganizationFilterSet
from clientela.parties.views.exports import export_response

_DESCRIPTION = _(
    "The records the list endpoint would return with the same parameters (filters, q, sort), all of "
    "them, as one file: CSV (UTF-8 with a byte order mark) or XLSX with the field keys as the first "
    "row, or vCard 3.0. Each custom field is a column named cf_<key> and a filter of the same name. "
    "No cell starts with =, +, -, @, a tab or a carriage return: such text, phone numbers in E.164 "
    "included, gets a leading apostrophe."
)


def _schema(record_type: str, summary: Any) -> Any:
    formats = EXPORT_KINDS[record_type].formats
    responses: dict[Any, Any] = {
        (200, CONTENT_TYPES[ExportFormat(file_format)].split(";")[0]): OpenApiResponse(
            OpenApiTypes.BINARY, description=_("The file, as an attachment.")
        )
        for file_format in formats
    }
    responses[(403, PROBLEM_CONTENT_TYPE)] = ProblemSerializer
    return extend_schema_view(
        list=extend_schema(
            operation_id=f"{record_type}_export",
            summary=summary,
            description=_DESCRIPTION,
            parameters=[
                OpenApiParameter(
                    "format",
                    str,
                    OpenApiParameter.QUERY,
                    enum=list(formats),
                    default=ExportFormat.CSV.value,
                    description=_("The type of file."),
                ),
                OpenApiParameter(
                    "Content-Disposition",
                    str,
                    OpenApiParameter.HEADER,
                    response=[200],
                    description=_('attachment; filename="<records>-<date>.<format>"'),
                ),
            ],
            responses=responses,
        )
    )


# Download every visible record of one kind that the filters keep, as a file.
class _ExportViewSet(ApiViewSet):
    record_type = ""
    filter_backends = [FilterBackend]  # for the schema: the parameters are the list endpoint's
    pagination_class = None
    action_permissions = {"list": Perm.PARTIES_EXPORT}

    def get_queryset(self) -> Any:
        return EXPORT_KINDS[self.record_type].selector(self.actor)

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # ``format`` names the file's type here, not a renderer (DRF would answer 404 for "csv"); the
        # file responses are not rendered, and errors are JSON (problem+json).
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def list(self, request: Request) -> HttpResponseBase:
        export = export_start(
            actor=self.actor,
            record_type=self.record_type,
            file_format=request.query_params.get("format") or ExportFormat.CSV,
            filters=request.query_params,
        )
        return export_response(export)


@_schema("contacts", _("Export contacts"))
class ContactExportViewSet(_ExportViewSet):
    record_type = "contacts"
    filterset_class = ContactFilterSet


@_schema("organizations", _("Export organizations"))
class OrganizationExportViewSet(_ExportViewSet):
    record_type = "organizations"
    filterset_class = OrganizationFilterSet


def register(router: DefaultRouter) -> None:
    router.register("contacts/export", ContactExportViewSet, basename="contact-export")
    router.register(
        "organizations/export", OrganizationExportViewSet, basename="organization-export"
    )
