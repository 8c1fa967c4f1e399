"""REST API endpoints that change many records at once: /api/v1/contacts/bulk-update/ and
/api/v1/organizations/bulk-update/.

The records are named by ``ids`` or by ``filter`` (the list endpoint's filters as a JSON object); only
those the caller may see are matched, whatever the request says. The bulk services do the rest.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clientela.core.api import ScopedPrimaryKeyRelatedField, StrictSerializer
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.identity.models import Team, User
from clientela.identity.selectors import teams_visible_to, users_visible_to
from clientela.parties.choices import LifecycleStage
from clientela.parties.filters import ContactFilterSet, OrganizationFilterSet
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to
from clientela.parties.services import (
    bulk_max,
    contacts_bulk_update,
    organizations_bulk_update,
)

_DESCRIPTION = gettext_lazy(
    "Changes the owner, team or tags (and, for contacts, the lifecycle stage) of many records in one "
    "transaction. Name the records by `ids` or by `filter`, an object with the list endpoint's filter "
    'parameters (for example {"q": "acme", "tags": [3]}); records the caller may not see are '
    "never matched. Records that already have the requested values are not changed. Each changed "
    "record gets a new version and the same events as one edit of it. With `dry_run` nothing is "
    "written and `changed` says how many records would change. Giving records to someone else follows "
    "the same rules as for one record (403); more records than the server's limit are refused (400)."
)


def _tag_names(help_text: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        max_length=100,
        help_text=help_text,
    )


# What to change and on which records. (Comments, not docstrings: the schema would show them.)
class _BulkUpdateSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        help_text=gettext_lazy("The records to change, by id. Give either ids or filter."),
    )
    filter = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text=gettext_lazy(
            "Change every record these list filters match (an empty object: every record the "
            "caller can see). Give either ids or filter."
        ),
    )
    owner = ScopedPrimaryKeyRelatedField(
        selector=users_visible_to,
        queryset=User.objects.all(),
        required=False,
        help_text=gettext_lazy("Give the records to this user (id)."),
    )
    team = ScopedPrimaryKeyRelatedField(
        selector=teams_visible_to,
        queryset=Team.objects.all(),
        required=False,
        help_text=gettext_lazy("Move the records to this team (id)."),
    )
    tags_add = _tag_names(gettext_lazy("Tag names to add; unknown names create new tags."))
    tags_remove = _tag_names(gettext_lazy("Tag names to remove."))
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("Count what would change, and change nothing."),
    )

    def validate_ids(self, value: list[int]) -> list[int]:
        if len(value) > bulk_max():
            raise serializers.ValidationError(
                _("Give at most %(limit)s ids.") % {"limit": bulk_max()}
            )
        return list(dict.fromkeys(value))

    def validate_filter(self, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            items = item if isinstance(item, list) else [item]
            if any(isinstance(part, dict | list) or part is None for part in items):
                raise serializers.ValidationError(
                    _("The filter %(name)s takes a value or a list of values.") % {"name": key}
                )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Give either ids or filter.")]}
            )
        return attrs


class ContactBulkUpdateSerializer(_BulkUpdateSerializer):
    lifecycle_stage = serializers.ChoiceField(
        choices=LifecycleStage.choices,
        required=False,
        help_text=gettext_lazy("Set the contacts' lifecycle stage."),
    )


class OrganizationBulkUpdateSerializer(_BulkUpdateSerializer):
    pass


class BulkUpdateResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField(
        help_text=gettext_lazy(
            "How many records the ids or the filter name that the caller can see."
        )
    )
    changed = serializers.IntegerField(
        help_text=gettext_lazy(
            "How many of them changed (or, in a dry run, would change): the others already had "
            "the requested values."
        )
    )


def _query_dict(filters: dict[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in filters.items():
        items = value if isinstance(value, list) else [value]
        data.setlist(
            key,
            [
                ("true" if item else "false") if isinstance(item, bool) else str(item)
                for item in items
            ],
        )
    return data


# Change many records of one kind at once.
class _BulkUpdateViewSet(ApiViewSet):
    action_permissions = {"create": Perm.PARTIES_CHANGE}
    filterset_class: Any = None

    def selector(self, actor: Any) -> Any:
        raise NotImplementedError

    def apply(self, records: Any, **changes: Any) -> int:
        raise NotImplementedError

    def _records(self, validated: dict[str, Any]) -> Any:
        records = self.selector(self.actor)
        if "ids" in validated:
            return records.filter(pk__in=validated["ids"])
        # The order of the records does not change which ones match.
        filters = {key: value for key, value in validated["filter"].items() if key != "sort"}
        filterset = self.filterset_class(
            data=_query_dict(filters), queryset=records, request=self.request
        )
        unknown = sorted(set(filters) - set(filterset.filters))
        if unknown:
            raise serializers.ValidationError(
                {"filter": {name: [_("Unknown filter.")] for name in unknown}}
            )
        if not filterset.is_valid():
            raise serializers.ValidationError({"filter": filterset.errors})
        return filterset.qs

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        validated = dict(serializer.validated_data)
        records = self._records(validated)
        changes = {
            name: validated[name]
            for name in ("owner", "team", "lifecycle_stage", "tags_add", "tags_remove")
            if name in validated
        }
        matched = records.count()
        changed = self.apply(records, dry_run=validated["dry_run"], **changes)
        return Response({"matched": matched, "changed": changed})


_EXAMPLES = [
    OpenApiExample(
        "Give three records to user 7",
        value={"ids": [12, 15, 19], "owner": 7},
        request_only=True,
    ),
    OpenApiExample(
        "Count what tagging a search would change",
        value={"filter": {"q": "acme"}, "tags_add": ["fair-2026"], "dry_run": True},
        request_only=True,
    ),
    OpenApiExample("Result", value={"matched": 3, "changed": 2}, response_only=True),
]


@extend_schema_view(
    create=extend_schema(
        summary=gettext_lazy("Change many contacts at once"),
        description=_DESCRIPTION,
        request=ContactBulkUpdateSerializer,
        responses={200: BulkUpdateResultSerializer},
        examples=_EXAMPLES,
    )
)
class ContactBulkUpdateViewSet(_BulkUpdateViewSet):
    serializer_class = ContactBulkUpdateSerializer
    filterset_class = ContactFilterSet

    def selector(self, actor: Any) -> Any:
        return contacts_visible_to(actor)

    def apply(self, records: Any, **changes: Any) -> int:
        return contacts_bulk_update(actor=self.actor, contacts=records, **changes)


@extend_schema_view(
    create=extend_schema(
        summary=gettext_lazy("Change many organizations at once"),
        description=_DESCRIPTION,
        request=OrganizationBulkUpdateSerializer,
        responses={200: BulkUpdateResultSerializer},
        examples=_EXAMPLES,
    )
)
class OrganizationBulkUpdateViewSet(_BulkUpdateViewSet):
    serializer_class = OrganizationBulkUpdateSerializer
    filterset_class = OrganizationFilterSet

    def selector(self, actor: Any) -> Any:
        return organizations_visible_to(actor)

    def apply(self, records: Any, **changes: Any) -> int:
        return organizations_bulk_update(actor=self.actor, organizations=records, **changes)


def register(router: DefaultRouter) -> None:
    router.register(
        "contacts/bulk-update", ContactBulkUpdateViewSet, basename="contact-bulk-update"
    )
    router.register(
        "organizations/bulk-update",
        OrganizationBulkUpdateViewSet,
        basename="organization-bulk-update",
    )
