"""API: /api/v1/leads/ (with POST /api/v1/leads/{id}/convert/) and /api/v1/assignment-rules/.

Reads start from the selectors (scoped to the caller: someone else's lead answers 404); writes call
the services in ``sales.leads``. The lead list takes the same filters as the list page.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

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
from clientela.sales import leads as services
from clientela.sales.lead_filters import LeadFilterSet
from clientela.sales.lead_serializers import (
    AssignmentRuleSerializer,
    ConversionSerializer,
    LeadConvertSerializer,
    LeadSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary=_("List leads"), description=_("Filters are those of the lead list page.")
    ),
    retrieve=extend_schema(summary=_("Read a lead")),
    create=extend_schema(
        summary=_("Create a lead"),
        description=_(
            "Without an owner the assignment rules decide who gets it, and that person is notified."
        ),
    ),
    update=extend_schema(
        summary=_("Change a lead"),
        description=_("Fields left out keep their values; tags are replaced when given."),
    ),
    partial_update=extend_schema(summary=_("Change some fields of a lead")),
    destroy=extend_schema(summary=_("Delete a lead")),
    convert=extend_schema(
        summary=_("Convert a lead"),
        description=_(
            "Makes the lead a contact (the existing one with its email address when there is one), "
            "linked to its organization (found by name or email domain, else created), and "
            "optionally a deal, in one step. A converted lead cannot be converted again (400)."
        ),
        request=LeadConvertSerializer,
        responses={200: ConversionSerializer},
    ),
)
class LeadViewSet(ApiViewSet):
    """Leads the caller can see. Their ETag is their version: send it back in If-Match."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    filter_backends = [FilterBackend]
    versioned = True
    action_permissions = {
        "list": Perm.SALES_VIEW,
        "retrieve": Perm.SALES_VIEW,
        "create": Perm.SALES_ADD,
        "update": Perm.SALES_CHANGE,
        "partial_update": Perm.SALES_CHANGE,
        "destroy": Perm.SALES_DELETE,
        "convert": Perm.SALES_CHANGE,
    }

    def get_queryset(self) -> Any:
        return services.leads_visible_to(self.actor)

    def get_serializer_class(self) -> Any:
        if self.action == "convert":
            return LeadConvertSerializer
        return LeadSerializer

    def _reloaded(self, lead: Any) -> Any:
        return self.get_queryset().filter(pk=lead.pk).first() or lead

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        if is_not_modified(request, lead):
            return Response(status=304, headers={"ETag": etag_of(lead.version)})
        return versioned_response(lead, self.get_serializer(lead).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = owner_and_team_changes(serializer.validated_data)
        lead = self._reloaded(services.lead_create(actor=self.actor, **fields))
        data = LeadSerializer(lead, context=self.get_serializer_context()).data
        return versioned_response(lead, data, status=201, location=data["url"])

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        lead = self.get_object()
        expected_version = if_match_version(request, lead)
        serializer = self.get_serializer(lead, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = owner_and_team_changes(serializer.validated_data, lead)
        lead = services.lead_update(
            actor=self.actor, lead=lead, expected_version=expected_version, **fields
        )
        lead = self._reloaded(lead)
        return versioned_response(lead, self.get_serializer(lead).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        services.lead_delete(
            actor=self.actor, lead=lead, expected_version=if_match_version(request, lead)
        )
        return Response(status=204)

    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversion = services.lead_convert(actor=self.actor, lead=lead, **serializer.validated_data)
        context = self.get_serializer_context()
        lead = self._reloaded(conversion.lead)
        data = {
            "lead": LeadSerializer(lead, context=context).data,
            "contact": conversion.contact.pk,
            "organization": conversion.organization.pk if conversion.organization else None,
            "deal": conversion.deal.pk if conversion.deal else None,
            "is_contact_new": conversion.is_contact_new,
            "is_organization_new": conversion.is_organization_new,
        }
        return Response(data, headers={"ETag": etag_of(lead.version)})


@extend_schema_view(
    list=extend_schema(summary=_("List assignment rules"), description=_("In the order tried.")),
    retrieve=extend_schema(summary=_("Read an assignment rule")),
    create=extend_schema(summary=_("Create an assignment rule")),
    update=extend_schema(summary=_("Change an assignment rule")),
    partial_update=extend_schema(summary=_("Change some settings of an assignment rule")),
    destroy=extend_schema(summary=_("Delete an assignment rule")),
)
class AssignmentRuleViewSet(ApiViewSet):
    """Assignment rules, for those who configure sales (others see none)."""

    serializer_class = AssignmentRuleSerializer
    etagged = True
    action_permissions = {
        "list": Perm.SALES_CONFIGURE,
        "retrieve": Perm.SALES_CONFIGURE,
        "create": Perm.SALES_CONFIGURE,
        "update": Perm.SALES_CONFIGURE,
        "partial_update": Perm.SALES_CONFIGURE,
        "destroy": Perm.SALES_CONFIGURE,
    }

    def get_queryset(self) -> Any:
        return services.assignment_rules_visible_to(self.actor)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.etagged_retrieve()

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = services.assignment_rule_create(actor=self.actor, **serializer.validated_data)
        return self.etagged_response(rule, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        with self.locked_for_write() as rule:
            serializer = self.get_serializer(rule, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            rule = services.assignment_rule_update(
                actor=self.actor, rule=rule, **serializer.validated_data
            )
        return self.etagged_response(rule)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_for_write() as rule:
            services.assignment_rule_delete(actor=self.actor, rule=rule)
        return Response(status=204)


def register(router: DefaultRouter) -> None:
    """Register this module's endpoints on the API router."""
    router.register("leads", LeadViewSet, basename="lead")
    router.register("assignment-rules", AssignmentRuleViewSet, basename="assignment-rule")
