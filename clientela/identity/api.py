"""REST API endpoints of users, teams and personal API tokens.

/api/v1/users/ is read-only (people are invited and managed on the settings pages); /api/v1/users/me/
is the caller. Teams can be read by everyone and changed by roles that manage teams. Tokens are one's
own: someone else's token answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import FilterBackend, ScopedPrimaryKeyRelatedField, StrictSerializer
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.identity.filters import UserFilterSet
from clientela.identity.models import ApiToken, Team, User
from clientela.identity.selectors import api_tokens_of, teams_visible_to, users_visible_to
from clientela.identity.services import (
    api_token_create,
    api_token_revoke,
    team_create,
    team_delete,
    team_update,
)


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes personal API tokens in the OpenAPI schema."""

    target_class = "clientela.identity.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "clt_…",
            "description": str(
                _(
                    "A personal API token, created under “API tokens” on one's profile: Authorization: Bearer clt_…"
                )
            ),
        }


# -- users -------------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    """A person who works in Clientela."""

    url = serializers.HyperlinkedIdentityField(view_name="user-detail")
    teams: serializers.PrimaryKeyRelatedField[Team] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = User
        fields = [
            "id",
            "url",
            "email",
            "full_name",
            "role",
            "teams",
            "language",
            "time_zone",
            "is_active",
            "date_joined",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary=_("List users")),
    retrieve=extend_schema(summary=_("Read a user")),
    me=extend_schema(summary=_("Read the calling user"), responses=UserSerializer),
)
class UserViewSet(ApiViewSet):
    """The users directory (read-only: people are invited and managed on the settings pages)."""

    serializer_class = UserSerializer
    filter_backends = [FilterBackend]
    filterset_class = UserFilterSet

    def get_queryset(self) -> QuerySet[User]:
        return users_visible_to(self.actor)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def me(self, request: Request) -> Response:
        user = get_object_or_404(self.get_queryset(), pk=self.actor.pk)
        return Response(self.get_serializer(user).data)


# -- teams -------------------------------------------------------------------------------------


class TeamSerializer(StrictSerializer):
    """A group of users who share records."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="team-detail")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, allow_blank=True, required=False)
    members = ScopedPrimaryKeyRelatedField(
        selector=users_visible_to,
        queryset=User.objects.all(),
        many=True,
        required=False,
        help_text=_("The members' user ids. Writing replaces them all."),
    )
    created_at = serializers.DateTimeField(read_only=True)


@extend_schema_view(
    list=extend_schema(summary=_("List teams")),
    retrieve=extend_schema(summary=_("Read a team")),
    create=extend_schema(summary=_("Create a team")),
    update=extend_schema(summary=_("Change a team")),
    partial_update=extend_schema(summary=_("Change some fields of a team")),
    destroy=extend_schema(
        summary=_("Delete a team"),
        description=_("Only a team that no record belongs to any more can be deleted (else 400)."),
    ),
)
class TeamViewSet(ApiViewSet):
    """Teams: everyone reads them; roles that manage teams change them."""

    serializer_class = TeamSerializer
    etagged = True
    action_permissions = {
        "create": Perm.TEAMS_MANAGE,
        "update": Perm.TEAMS_MANAGE,
        "partial_update": Perm.TEAMS_MANAGE,
        "destroy": Perm.TEAMS_MANAGE,
    }

    def get_queryset(self) -> QuerySet[Team]:
        return teams_visible_to(self.actor)

    def _reloaded(self, team: Team) -> Team:
        return self.get_queryset().get(pk=team.pk)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.etagged_retrieve()

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = team_create(actor=self.actor, **serializer.validated_data)
        return self.etagged_response(self._reloaded(team), status=201)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        with self.locked_for_write() as team:
            serializer = self.get_serializer(team, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            team = team_update(actor=self.actor, team=team, **serializer.validated_data)
        return self.etagged_response(self._reloaded(team))

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_for_write() as team:
            team_delete(actor=self.actor, team=team)
        return Response(status=204)


# -- API tokens --------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    """A personal API token (never its key, which is shown once)."""

    url = serializers.HyperlinkedIdentityField(view_name="token-detail")
    is_usable = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "url",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_usable",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(StrictSerializer):
    """A new personal API token."""

    name = serializers.CharField(
        max_length=100, help_text=_("What uses the token, such as “Invoice sync”.")
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    """A token just created, with its key."""

    key = serializers.CharField(
        read_only=True,
        help_text=_(
            "The token itself, for “Authorization: Bearer …”. Shown this once; it cannot be read again."
        ),
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary=_("List my API tokens")),
    retrieve=extend_schema(summary=_("Read one of my API tokens")),
    create=extend_schema(
        summary=_("Create an API token"),
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer},
    ),
    destroy=extend_schema(
        summary=_("Revoke an API token"),
        description=_("The token stops working at once; it stays listed."),
    ),
)
class ApiTokenViewSet(ApiViewSet):
    """The caller's own API tokens; someone else's answers 404."""

    serializer_class = ApiTokenSerializer
    etagged = True
    # Its last use changes with every request made with it, and is_usable with the clock.
    etag_exclude = ("url", "last_used_at", "is_usable")
    # The secret is shown once and stored nowhere, not even for a retry with an Idempotency-Key.
    idempotency_redacted_fields = ("key",)

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return api_tokens_of(self.actor)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.etagged_retrieve()

    def create(self, request: Request) -> Response:
        serializer = ApiTokenCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        issued = api_token_create(actor=self.actor, **serializer.validated_data)
        data = ApiTokenIssuedSerializer(issued.token, context=self.get_serializer_context()).data
        data["key"] = issued.key
        return Response(
            data,
            status=201,
            headers={"Location": data["url"], "ETag": self.record_etag(issued.token)},
        )

    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_for_write() as token:
            api_token_revoke(actor=self.actor, token=token)
        return Response(status=204)


def register(router: DefaultRouter) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("teams", TeamViewSet, basename="team")
    router.register("tokens", ApiTokenViewSet, basename="token")
