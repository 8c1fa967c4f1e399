"""The base of every API view (``ApiViewSet``, ``ApiSchema``) and the endpoints every domain shares:
/api/v1/tags/ and /api/v1/custom-fields/.

Kept apart from ``core.api``, which DRF's settings import while DRF itself is still loading.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import django_filters
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
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
    etag_is_current,
    etag_of,
    if_match_check,
    representation_etag,
)
from clientela.core.custom_fields import custom_field_record_types
from clientela.core.idempotency import (
    HEADER as IDEMPOTENCY_KEY_HEADER,
)
from clientela.core.idempotency import (
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    RequestFingerprint,
    idempotency_key_claim,
    idempotency_key_clean,
    idempotency_key_release,
    idempotency_response_replay,
    idempotency_response_store,
    request_fingerprint,
)
from clientela.core.models import CustomFieldDefinition, CustomFieldType, IdempotencyKey, Tag
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
    """The OpenAPI description of an endpoint: its problem answers, ETags and Idempotency-Key."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> Any:
        # Tags and operation ids come from the path after the version: "contacts", not "v1".
        return super().get_operation(path, path_regex, r"^/api/v[0-9]+", method, registry)

    def _is_detail(self) -> bool:
        return "{" in self.path

    def _has_etags(self) -> bool:
        return bool(getattr(self.view, "versioned", False) or getattr(self.view, "etagged", False))

    def _is_conditional_write(self) -> bool:
        return self._has_etags() and self._is_detail() and self.method in ("PUT", "PATCH", "DELETE")

    def _idempotency_parameters(self) -> list[OpenApiParameter]:
        return [
            OpenApiParameter(
                IDEMPOTENCY_KEY_HEADER,
                {"type": "string", "maxLength": MAX_KEY_LENGTH},
                OpenApiParameter.HEADER,
                description=_(
                    "A unique key of the client's choosing (a UUID, say). Sending the same request "
                    "again with the same key answers the first answer again instead of acting twice; "
                    "the same key with another request answers 422, and while the first request is "
                    "still running, 409. Keys are kept for CLIENTELA_IDEMPOTENCY_HOURS (24 by default)."
                ),
            ),
            OpenApiParameter(
                REPLAYED_HEADER,
                {"type": "string", "enum": ["true"]},
                OpenApiParameter.HEADER,
                response=[200, 201, 202, 204, 400],
                description=_(
                    "Present when this is the stored answer to an earlier request with the same "
                    "Idempotency-Key."
                ),
            ),
            OpenApiParameter(
                "Retry-After",
                int,
                OpenApiParameter.HEADER,
                response=[409],
                description=_("Seconds to wait before sending the request again."),
            ),
        ]

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if "{id}" in self.path:
            parameters.append(OpenApiParameter("id", int, OpenApiParameter.PATH))
        if self.method == "POST":
            parameters.extend(self._idempotency_parameters())
        if not self._has_etags():
            return parameters
        if self._is_conditional_write():
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
        is_create = self.method == "POST" and getattr(self.view, "action", None) == "create"
        if (self.method in ("GET", "PUT", "PATCH") and self._is_detail()) or is_create:
            parameters.append(
                OpenApiParameter(
                    "ETag",
                    str,
                    OpenApiParameter.HEADER,
                    response=[200, 201],
                    description=_("The record's current ETag, for If-Match on the next write."),
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
        if self.method == "POST":
            codes.extend((409, 422))  # Idempotency-Key in use, or used for another request
        if self._is_detail():
            codes.append(404)
        if self._is_conditional_write():
            codes.append(412)
        if self._has_etags() and self._is_detail() and self.method == "GET":
            responses.setdefault(
                "304", {"description": _("Not modified: the ETag in If-None-Match is current.")}
            )
        for code in sorted(codes):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ProblemSerializer, str(code), (PROBLEM_CONTENT_TYPE,), direction
                )
        return responses


class _Replay(Exception):
    """Raised by ``ApiViewSet.initial`` to answer a stored response instead of running the view."""

    def __init__(self, record: IdempotencyKey) -> None:
        super().__init__(record.key)
        self.record = record


# The base of every endpoint: authenticated, role-checked, JSON in and out, documented with its problem
# answers; every POST takes an Idempotency-Key, and records have ETags for If-Match. (A comment, not a
# docstring: the schema would show a docstring on every endpoint.)
class ApiViewSet(viewsets.GenericViewSet):
    schema = ApiSchema()
    permission_classes = [permissions.IsAuthenticated, ActionPermission]
    parser_classes = [JSONParser]
    filter_backends: list[Any] = []
    action_permissions: dict[str, Perm | tuple[Perm, ...]] = {}
    # Ids are numbers; anything else is an unknown address (404), never a failed lookup (500).
    lookup_value_regex = r"[0-9]+"
    # Records with a version (core.models.VersionedModel): ETag "<version>", checked by the services.
    versioned = False
    # Records without one: ETag from their representation (record_etag), checked by locked_for_write.
    etagged = False
    # What that representation ETag leaves out (core.api.representation_etag).
    etag_exclude: tuple[str, ...] = ("url",)
    # The serializer of the representation GET answers, when writes validate with another one.
    read_serializer_class: type[serializers.BaseSerializer[Any]] | None = None
    # Top-level answer fields never kept for Idempotency-Key replays (secrets): replayed as null.
    idempotency_redacted_fields: tuple[str, ...] = ()

    _idempotency_fingerprint: RequestFingerprint | None = None
    _idempotency_claim: IdempotencyKey | None = None

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

    # -- Idempotency-Key on every POST (core.idempotency) --------------------------------------

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Before DRF wraps the request: the raw body is hashed before any parser reads it.
        self._idempotency_fingerprint = request_fingerprint(request)
        self._idempotency_claim = None
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException:
            # An exception no handler answered (a 500): the client may try again with the key.
            self._idempotency_release()
            raise

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        fingerprint = self._idempotency_fingerprint
        if fingerprint is None:
            return
        # Claimed once the user is known (keys are per user) and allowed to make the request.
        key = idempotency_key_clean(fingerprint.raw_key)
        claim = idempotency_key_claim(user=request.user, key=key, fingerprint=fingerprint)
        if not claim.is_new:
            raise _Replay(claim.record)
        self._idempotency_claim = claim.record

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            # A plain HttpResponse, already rendered: finalize_response takes any response.
            return cast("Response", idempotency_response_replay(exc.record))
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        claim = self._idempotency_claim
        if claim is not None:
            # Rendered now so that the bytes kept are the bytes sent (a rendered response is not
            # rendered again).
            render = getattr(response, "render", None)
            if callable(render):
                render()
            idempotency_response_store(
                record=claim, response=response, redact=self.idempotency_redacted_fields
            )
            self._idempotency_claim = None
        return response

    def _idempotency_release(self) -> None:
        claim = self._idempotency_claim
        if claim is not None:
            self._idempotency_claim = None
            idempotency_key_release(record=claim)

    # -- ETags and If-Match for records without a version ------------------------------------

    def record_data(self, record: Any) -> Any:
        """``record`` as GET answers it."""
        serializer_class = self.read_serializer_class or self.get_serializer_class()
        return serializer_class(record, context=self.get_serializer_context()).data

    def record_etag(self, record: Any, data: Any = None) -> str:
        """The ETag of ``record``: its version, or a hash of its representation (``data``, if read)."""
        if self.versioned:
            return etag_of(record.version)
        return representation_etag(
            self.record_data(record) if data is None else data, exclude=self.etag_exclude
        )

    def etagged_response(self, record: Any, *, status: int = 200) -> Response:
        """``record`` as GET answers it, with its ETag, and its Location when just created (201)."""
        data = self.record_data(record)
        headers = {"ETag": self.record_etag(record, data)}
        if status == 201:
            headers["Location"] = data["url"]
        return Response(data, status=status, headers=headers)

    def etagged_retrieve(self) -> Response:
        """The record the URL names, with its ETag; 304 without a body when If-None-Match names it."""
        record = self.get_object()
        data = self.record_data(record)
        etag = self.record_etag(record, data)
        if etag_is_current(self.request, etag):
            return Response(status=304, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})

    @contextmanager
    def locked_for_write(self) -> Iterator[Any]:
        """The record the URL names, for a write made inside the ``with`` block.

        The block is one transaction. The record's row is locked first and the record read after, so
        the write changes what was checked: If-Match (when sent) must name its current ETag, else
        PreconditionFailedError (412) and nothing changes; and two writes never interleave.
        """
        with transaction.atomic():
            pk = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
            model = self.get_queryset().model
            # A row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers.
            list(model._default_manager.select_for_update().filter(pk=pk).values_list("pk"))
            record = self.get_object()
            if_match_check(self.request, self.record_etag(record))
            yield record


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
    etagged = True
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
        return self.etagged_retrieve()

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = tag_get_or_create(name=serializer.validated_data["name"], actor=self.actor)
        return self.etagged_response(tag, status=201)

    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_for_write() as tag:
            tag_delete(tag=tag, actor=self.actor)
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
    etagged = True
    read_serializer_class = CustomFieldDefinitionSerializer
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
        return self.etagged_retrieve()

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = custom_field_definition_create(actor=self.actor, **serializer.validated_data)
        return self.etagged_response(definition, status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        with self.locked_for_write() as definition:
            serializer = self.get_serializer(definition, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            definition = custom_field_definition_update(
                actor=self.actor, definition=definition, **serializer.validated_data
            )
        return self.etagged_response(definition)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_for_write() as definition:
            custom_field_definition_delete(actor=self.actor, definition=definition)
        return Response(status=204)


def register(router: DefaultRouter) -> None:
    router.register("tags", TagViewSet, basename="tag")
    router.register("custom-fields", CustomFieldDefinitionViewSet, basename="custom-field")
