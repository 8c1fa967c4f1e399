"""The base of every API view (``ApiViewSet``, ``ApiSchema``) and the endpoints every domain shares:
/api/v1/tags/ and /api/v1/custom-fields/.

Kept apart from ``core.api``, which DRF's settings import while DRF itself is still loading.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import (
    PROBLEM_CONTENT_TYPE,
    ActionPermission,
    FilterBackend,
    ProblemSerializer,
    StrictSerializer,
)
from clientela.core.custom_fields import custom_field_record_types
from clientela.core.models import CustomFieldDefinition, CustomFieldType, Tag
from clientela.core.permissions import Perm
from clientela.core.selectors import custom_field_definitions_visible_to, tags_all
from clientela.core.services import (
    custom_field_definition_create,
    custom_field_definition_delete,
    custom_field_definition_update,
    tag_delete,
    tag_get_or_create,
)

# -- the base of every endpoint -----------------------------------------------------------------


class ApiSchema(AutoSchema):
    """The OpenAPI description of an endpoint, with its problem answers and its ETag headers."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> Any:
        # Tags and operation ids come from the path after the version: "contacts", not "v1".
        return super().get_operation(path, path_regex, r"^/api/v[0-9]+", method, registry)

    def _is_detail(self) -> bool:
        return "{" in self.path

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if "{id}" in self.path:
            parameters.append(OpenApiParameter("id", int, OpenApiParameter.PATH))
        if not getattr(self.view, "versioned", False):
            return parameters
        if self.method in ("PUT", "PATCH", "DELETE") and self._is_detail():
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    OpenApiParameter.HEADER,
                    description=_(
                        "The record's ETag as last read: the write happens only if it is still current (else 412)."
                    ),
                )
            )
        if self.method == "GET" and self._is_detail():
            parameters.append(
                OpenApiParameter(
                    "If-None-Match",
                    str,
                    OpenApiParameter.HEADER,
                    description=_(
                        "An ETag already held: 304 without a body when it is still current."
                    ),
                )
            )
        if (self.method in ("GET", "PUT", "PATCH") and self._is_detail()) or self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    "ETag",
                    str,
                    OpenApiParameter.HEADER,
                    response=[200, 201],
                    description=_("The record's version, for If-Match on the next write."),
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = [401]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append(400)
        elif self.method == "GET" and not self._is_detail() and self._is_list_view():
            codes.append(400)  # an invalid filter or sort
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append(403)
        if self._is_detail():
            codes.append(404)
        if (
            getattr(self.view, "versioned", False)
            and self._is_detail()
            and self.method in ("PUT", "PATCH", "DELETE")
        ):
            codes.append(412)
        if getattr(self.view, "versioned", False) and self._is_detail() and self.method == "GET":
            responses.setdefault(
                "304", {"description": _("Not modified: the ETag in If-None-Match is current.")}
            )
        for code in sorted(codes):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ProblemSerializer, str(code), (PROBLEM_CONTENT_TYPE,), direction
                )
        return responses


# The base of every endpoint: authenticated, role-checked, JSON in and out, documented with its problem
# answers. (A comment, not a docstring: the schema would show a docstring on every endpoint.)
class ApiViewSet(viewsets.GenericViewSet):
    schema = ApiSchema()
    permission_classes = [permissions.IsAuthenticated, ActionPermission]
    parser_classes = [JSONParser]
    filter_backends: list[Any] = []
    action_permissions: dict[str, Perm | tuple[Perm, ...]] = {}
    # Ids are numbers; anything else is an unknown address (404), never a failed lookup (500).
    lookup_value_regex = r"[0-9]+"
    versioned = False

    @property
    def actor(self) -> Any:
        """The user the request is made by (IsAuthenticated has made sure there is one)."""
        return self.request.user

    def get_object(self) -> Any:
        """The record from the view's scoped queryset, without applying list filters to it."""
        record = get_object_or_404(
            self.get_queryset(), pk=self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        )
        self.check_object_permissions(self.request, record)
        return record


# -- tags --------------------------------------------------------------------------------------


class TagSerializer(StrictSerializer):
    """A label that records carry."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="tag-detail")
    name = serializers.CharField(max_length=60)
    color = serializers.CharField(read_only=True)


class TagFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label=_("Name contains")
    )

    class Meta:
        model = Tag
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary=_("List tags")),
    retrieve=extend_schema(summary=_("Read a tag")),
    create=extend_schema(
        summary=_("Create a tag"),
        description=_(
            "Answers the existing tag when one has the name already (in any case). Tags are also "
            "created by giving records tag names."
        ),
    ),
    destroy=extend_schema(
        summary=_("Delete a tag"), description=_("Removes it from every record.")
    ),
)
class TagViewSet(ApiViewSet):
    """Tags: everyone reads them; roles that tag records create them; tag managers delete them."""

    serializer_class = TagSerializer
    filter_backends = [FilterBackend]
    filterset_class = TagFilterSet
    # Whoever may tag records may create tags that way anyway; read-only roles may not.
    action_permissions = {
        "create": (Perm.PARTIES_CHANGE, Perm.TAGS_MANAGE),
        "destroy": Perm.TAGS_MANAGE,
    }

    def get_queryset(self) -> Any:
        return tags_all()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = tag_get_or_create(name=serializer.validated_data["name"], actor=self.actor)
        data = self.get_serializer(tag).data
        return Response(data, status=201, headers={"Location": data["url"]})

    def destroy(self, request: Request, pk: str) -> Response:
        tag_delete(tag=self.get_object(), actor=self.actor)
        return Response(status=204)


# -- custom field definitions ------------------------------------------------------------------


class CustomFieldDefinitionSerializer(StrictSerializer):
    """A field an administrator added to one record type."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="custom-field-detail")
    record_type = serializers.ChoiceField(
        choices=[],
        help_text=_("The kind of record that has the field, such as parties.contact."),
    )
    key = serializers.SlugField(
        max_length=50,
        help_text=_("The field's name in record JSON, imports, exports and filters (cf_<key>)."),
    )
    # Fields named like Field attributes (label, help_text) are fine: declared fields leave the class.
    label = serializers.CharField(max_length=100)  # type: ignore[assignment]
    field_type = serializers.ChoiceField(choices=CustomFieldType.choices)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text=_("The choices of a choice or multiple-choice field."),
    )
    is_required = serializers.BooleanField(required=False)
    min_value = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, required=False
    )
    max_value = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, required=False
    )
    max_length = serializers.IntegerField(min_value=1, allow_null=True, required=False)
    help_text = serializers.CharField(  # type: ignore[assignment]
        max_length=200, allow_blank=True, required=False
    )
    position = serializers.IntegerField(min_value=0, required=False)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The record types come from the installed models, so they are read once apps are loaded.
        record_type = self.fields["record_type"]
        if isinstance(record_type, serializers.ChoiceField):
            record_type.choices = sorted(custom_field_record_types().items())


class CustomFieldDefinitionUpdateSerializer(CustomFieldDefinitionSerializer):
    """What can change once a field exists: not its record type, key or type (stored values use them)."""

    record_type = serializers.CharField(read_only=True)  # type: ignore[assignment]
    key = serializers.CharField(read_only=True)  # type: ignore[assignment]
    field_type = serializers.ChoiceField(choices=CustomFieldType.choices, read_only=True)


class CustomFieldDefinitionFilterSet(django_filters.FilterSet):
    record_type = django_filters.CharFilter(label=_("Record type"))

    class Meta:
        model = CustomFieldDefinition
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary=_("List custom fields")),
    retrieve=extend_schema(summary=_("Read a custom field")),
    create=extend_schema(summary=_("Define a custom field")),
    update=extend_schema(
        summary=_("Change a custom field"),
        description=_("The record type, key and type of a field stay as they were created."),
        responses=CustomFieldDefinitionSerializer,
    ),
    partial_update=extend_schema(
        summary=_("Change some settings of a custom field"),
        responses=CustomFieldDefinitionSerializer,
    ),
    destroy=extend_schema(
        summary=_("Delete a custom field"),
        description=_("Stored values stay in the records but are no longer shown."),
    ),
)
class CustomFieldDefinitionViewSet(ApiViewSet):
    """Custom fields: everyone reads them; administrators define them."""

    filter_backends = [FilterBackend]
    filterset_class = CustomFieldDefinitionFilterSet
    action_permissions = {
        "create": Perm.CUSTOM_FIELDS_MANAGE,
        "update": Perm.CUSTOM_FIELDS_MANAGE,
        "partial_update": Perm.CUSTOM_FIELDS_MANAGE,
        "destroy": Perm.CUSTOM_FIELDS_MANAGE,
    }

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action in ("update", "partial_update"):
            return CustomFieldDefinitionUpdateSerializer
        return CustomFieldDefinitionSerializer

    def get_queryset(self) -> Any:
        return custom_field_definitions_visible_to(self.actor)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = custom_field_definition_create(actor=self.actor, **serializer.validated_data)
        data = CustomFieldDefinitionSerializer(
            definition, context=self.get_serializer_context()
        ).data
        return Response(data, status=201, headers={"Location": data["url"]})

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        definition = self.get_object()
        serializer = self.get_serializer(definition, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        definition = custom_field_definition_update(
            actor=self.actor, definition=definition, **serializer.validated_data
        )
        return Response(
            CustomFieldDefinitionSerializer(definition, context=self.get_serializer_context()).data
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        custom_field_definition_delete(actor=self.actor, definition=self.get_object())
        return Response(status=204)


def register(router: DefaultRouter) -> None:
    router.register("tags", TagViewSet, basename="tag")
    router.register("custom-fields", CustomFieldDefinitionViewSet, basename="custom-field")
