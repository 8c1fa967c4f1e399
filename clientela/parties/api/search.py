"""API: search across contacts and organizations, /api/v1/search/?q=TEXT.

The same engine and ranking as the global search box (``parties.search.search_everything``), scoped to
the caller. ``/api/v1/contacts/?q=`` and ``/api/v1/organizations/?q=`` filter their paginated lists with
the same engine.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import PROBLEM_CONTENT_TYPE, ProblemSerializer
from clientela.core.api_views import ApiSchema, ApiViewSet
from clientela.core.permissions import Perm
from clientela.core.search import MAX_QUERY_LENGTH
from clientela.parties.search import SEARCH_TYPES, search_everything

DEFAULT_LIMIT = 8
MAX_LIMIT = 50


class SearchQuerySerializer(serializers.Serializer):
    """The query parameters of a search."""

    q = serializers.CharField(allow_blank=True, max_length=MAX_QUERY_LENGTH)
    types = serializers.CharField(required=False, default=",".join(SEARCH_TYPES))
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)

    def validate_types(self, value: str) -> list[str]:
        types = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(types) - set(SEARCH_TYPES))
        if unknown or not types:
            raise serializers.ValidationError(
                _("Choose among %(types)s, separated by commas.")
                % {"types": ", ".join(SEARCH_TYPES)}
            )
        return types


class ContactHitSerializer(serializers.Serializer):
    """A contact that the search found."""

    id = serializers.IntegerField()
    url = serializers.HyperlinkedIdentityField(view_name="contact-detail")
    name = serializers.CharField(source="full_name")
    email = serializers.CharField(
        source="primary_email", help_text=gettext_lazy("The primary email address, or empty.")
    )
    phone = serializers.CharField(
        source="primary_phone",
        help_text=gettext_lazy("The primary phone number in E.164, or empty."),
    )
    organization = serializers.SerializerMethodField(
        help_text=gettext_lazy("The name of the contact's (primary) organization, or null.")
    )

    def get_organization(self, contact: Any) -> str | None:
        affiliations = list(contact.affiliations.all())
        return affiliations[0].organization.name if affiliations else None


class OrganizationHitSerializer(serializers.Serializer):
    """An organization that the search found."""

    id = serializers.IntegerField()
    url = serializers.HyperlinkedIdentityField(view_name="organization-detail")
    name = serializers.CharField()
    domain = serializers.CharField()
    city = serializers.CharField()


class SearchResultsSerializer(serializers.Serializer):
    """What a search found, best match first: each type asked for, up to the limit of records each."""

    contacts = ContactHitSerializer(many=True, required=False)
    organizations = OrganizationHitSerializer(many=True, required=False)


class _SearchSchema(ApiSchema):
    # One object with a list per type, not a paginated list, and 400 for missing or bad parameters.
    def _is_list_view(self, serializer: Any = None) -> bool:
        return False

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if "400" not in responses:
            responses["400"] = self._get_response_for_code(
                ProblemSerializer, "400", (PROBLEM_CONTENT_TYPE,), direction
            )
        return responses


# Search across types: a comment, not a docstring (the schema would show it).
class SearchViewSet(ApiViewSet):
    schema = _SearchSchema()
    action_permissions = {"list": Perm.PARTIES_VIEW}
    pagination_class = None
    serializer_class = SearchResultsSerializer

    @extend_schema(
        operation_id="search",
        summary=gettext_lazy("Search contacts and organizations"),
        description=gettext_lazy(
            "Finds contacts by any part of their name, email addresses, phone numbers (typed in any "
            "format) and organizations, and organizations by name, domain and phone number; accents "
            "and case do not matter. Every word must match. Records whose name starts with the text "
            "come first, then by name. Only records the caller may see. An empty text finds nothing."
        ),
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description=gettext_lazy("The text to look for (up to 200 characters)."),
            ),
            OpenApiParameter(
                "types",
                str,
                description=gettext_lazy(
                    "Which types to search, separated by commas: contacts, organizations (both by "
                    "default). Only those are in the answer."
                ),
            ),
            OpenApiParameter(
                "limit",
                int,
                description=gettext_lazy("How many records of each type, 1 to 50 (8 by default)."),
            ),
        ],
        responses=SearchResultsSerializer,
    )
    def list(self, request: Request) -> Response:
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = search_everything(
            self.actor,
            query.validated_data["q"],
            limit=query.validated_data["limit"],
            types=query.validated_data["types"],
        )
        context = self.get_serializer_context()
        data = {
            name: serializer(found[name], many=True, context=context).data
            for name, serializer in (
                ("contacts", ContactHitSerializer),
                ("organizations", OrganizationHitSerializer),
            )
            if name in found
        }
        return Response(data)


def register(router: DefaultRouter) -> None:
    router.register("search", SearchViewSet, basename="search")
