"""What every API endpoint shares: problem+json errors, pagination, strict serializers, ETags.

Errors follow RFC 9457 (``application/problem+json``): ``type``, ``title``, ``status``, ``detail`` and,
for invalid input, ``errors`` mapping each field to its messages.

Versioned records (``core.models.VersionedModel``) answer with ``ETag: "<version>"``; a write that sends
``If-Match`` passes the version it names to the service as ``expected_version``, and the service answers
``ConflictError`` (412) when the record changed meanwhile. Records without a version (tags, custom
fields, teams, tokens) answer with a hash of their representation (``representation_etag``), which a
write compares under a row lock (``ApiViewSet.locked_for_write``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import utils as filter_utils
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from clientela.core.custom_fields import record_type_of
from clientela.core.exceptions import ConflictError
from clientela.core.filters import SortFilter
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, has_perm
from clientela.core.selectors import custom_field_definitions_for

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
}


def _problem_body(
    status_code: int, detail: str, errors: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(
    status_code: int,
    detail: str,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    # Content-Type is the renderer's to set; a copied text/html default must not come along.
    headers = {
        name: value for name, value in (headers or {}).items() if name.lower() != "content-type"
    }
    response = Response(
        _problem_body(status_code, detail, errors, **extra), status=status_code, headers=headers
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _django_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {"non_field_errors": list(error.messages)}


def _problem(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError | ConflictError):
        # As DRF does for its own errors: undo a request-wide transaction, if one is in use.
        set_rollback()
    if isinstance(exc, DjangoValidationError):
        return problem_response(
            400, _("The request has invalid fields."), errors=_django_errors(exc)
        )
    if isinstance(exc, ConflictError):
        if exc.current_version is not None:
            return problem_response(
                412,
                str(exc),
                current_version=exc.current_version,
                headers={"ETag": etag_of(exc.current_version)},
            )
        current_etag = getattr(exc, "current_etag", None)
        return problem_response(
            412, str(exc), headers={"ETag": current_etag} if current_etag else None
        )
    if isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        return problem_response(
            response.status_code,
            _("The request has invalid fields."),
            errors=errors,
            headers=dict(response.headers),
        )
    detail = data.get("detail", "") if isinstance(data, dict) else str(data)
    return problem_response(response.status_code, str(detail), headers=dict(response.headers))


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, speaking problem+json, and knowing the errors services raise."""
    response = _problem(exc, context)
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if response is not None and getattr(renderer, "format", "json") == "api":
        # The browsable API renders an HTML page around the problem: it must say text/html.
        response.content_type = None
    return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """The answer for any URL under the API that names no endpoint: 404, as problem+json."""
    detail = _("There is no API endpoint at this address.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            detail = _("API addresses end with a slash: %(path)s/") % {"path": request.path}
    return JsonResponse(
        _problem_body(404, detail, None), status=404, content_type=PROBLEM_CONTENT_TYPE
    )


class ProblemSerializer(serializers.Serializer):
    """An error, as RFC 9457 problem details."""

    type = serializers.CharField(
        help_text=gettext_lazy("Always “about:blank”: the status says it all.")
    )
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # Declared fields leave the class attributes, so this does not hide Serializer.errors at runtime.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(),
        required=False,
        help_text=gettext_lazy("For invalid input: each offending field with its messages."),
    )
    current_version = serializers.IntegerField(
        required=False, help_text=gettext_lazy("For 412: the version the record has now.")
    )


class Pagination(PageNumberPagination):
    """Numbered pages; ``count`` stops at CLIENTELA_LIST_COUNT_LIMIT and ``count_is_capped`` says so."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.CLIENTELA_API_MAX_PAGE_SIZE
    django_paginator_class = CappedPaginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        body = response.data
        response.data = {
            "count": body["count"],
            "count_is_capped": self.page.paginator.is_capped,
            **{key: value for key, value in body.items() if key != "count"},
        }
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        properties = result["properties"]
        properties["count_is_capped"] = {
            "type": "boolean",
            "description": "True when there are more matches than `count`: lists count at most "
            "CLIENTELA_LIST_COUNT_LIMIT (10,000 by default); narrow the filters to reach the rest.",
        }
        result["required"] = [*result.get("required", []), "count_is_capped"]
        result["properties"] = {"count": properties.pop("count"), **properties}
        return result


# Refuses fields it does not know, and read-only ones, instead of silently ignoring them. Nested
# serializers built on it are strict too: each item of a list is checked the same way. (Comments, not
# docstrings, on these bases: the schema shows a serializer's docstring as its description.)
class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown or read-only field.")] for name in unknown}
                )
        return super().to_internal_value(data)


# A strict serializer whose fields come from a model. It validates; services write (never ``save``).
class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    def create(self, validated_data: Any) -> Any:
        raise NotImplementedError("API writes go through a service function.")

    def update(self, instance: Any, validated_data: Any) -> Any:
        raise NotImplementedError("API writes go through a service function.")


# -- fields ------------------------------------------------------------------------------------


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related record by id, chosen among what ``selector(request.user)`` returns.

    ``queryset`` only names the model (for the schema); the choices always come from the selector, so an
    id the user may not see is refused exactly like one that does not exist.
    """

    def __init__(self, *, selector: Callable[[Any], QuerySet[Any]], **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        if request is None:
            # Without a request (schema, OPTIONS metadata) nothing is offered.
            return cast("QuerySet[Any]", super().get_queryset()).none()
        return self.selector(request.user)


@extend_schema_field({"type": "array", "items": {"type": "string", "maxLength": 60}})
class TagNamesField(serializers.ListField):
    """A record's tags as their names; writing names creates the tags that do not exist yet."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(max_length=60))
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "Tag names. Writing replaces the record's tags; unknown names create new tags."
            ),
        )
        super().__init__(**kwargs)

    def to_representation(self, data: Any) -> list[str]:
        # ``data`` is the related manager; .all() uses the selector's prefetch.
        return [tag.name for tag in data.all()]


@extend_schema_field({"type": "object", "additionalProperties": True})
class CustomFieldsField(serializers.DictField):
    """Custom field values keyed by field key.

    On output only the keys that are still defined appear. On input the given keys are merged over the
    stored ones; ``null`` or ``""`` clears a value. The service validates each value.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "Values keyed by custom field key. Writing merges the given keys over the stored ones; "
                "null clears a value."
            ),
        )
        super().__init__(**kwargs)

    def _defined_keys(self) -> frozenset[str]:
        record_type = record_type_of(self.parent.Meta.model)  # type: ignore[attr-defined]
        # Loaded once per request: the root serializer's context is shared by every row of a list.
        context = self.context
        cache = context.setdefault("_custom_field_keys", {}) if isinstance(context, dict) else {}
        if record_type not in cache:
            cache[record_type] = frozenset(
                definition.key for definition in custom_field_definitions_for(record_type)
            )
        return cache[record_type]

    def to_representation(self, value: Any) -> dict[str, Any]:
        keys = self._defined_keys()
        return {key: item for key, item in (value or {}).items() if key in keys}


# -- ETags and If-Match ------------------------------------------------------------------------


def etag_of(version: int) -> str:
    """The ETag of a record at ``version``: a strong tag, so If-Match can compare it."""
    return f'"{version}"'


def representation_etag(data: Mapping[str, Any], *, exclude: Iterable[str] = ("url",)) -> str:
    """A strong ETag for a record without a version: a hash of its JSON representation.

    ``exclude`` leaves out what does not describe the record's state: its URL (it names the host the
    request came to) and values that change by themselves (a token's last use).
    """
    left_out = set(exclude)
    state = {name: value for name, value in data.items() if name not in left_out}
    text = json.dumps(state, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def _etag_values(header: str) -> list[str]:
    # Lenient on W/: a proxy that compresses a response may weaken the tag it passes on.
    return [raw.strip().removeprefix("W/").strip('"') for raw in header.split(",")]


def _etag_versions(header: str) -> list[int | None]:
    return [int(tag) if tag.isdigit() else None for tag in _etag_values(header)]


class PreconditionFailedError(ConflictError):
    """If-Match names a representation that is no longer current (412, with the current ETag)."""

    def __init__(self, *, current_etag: str) -> None:
        super().__init__()
        self.current_etag = current_etag


def if_match_check(request: Request, current_etag: str) -> None:
    """Raise PreconditionFailedError (412) unless If-Match is absent, ``*`` or names ``current_etag``.

    For records without a version; call it with the record locked (``ApiViewSet.locked_for_write``),
    so that nobody changes the record between the check and the write.
    """
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        return
    if current_etag.strip('"') not in _etag_values(header):
        raise PreconditionFailedError(current_etag=current_etag)


def etag_is_current(request: Request, current_etag: str) -> bool:
    """Whether If-None-Match names ``current_etag`` (or is ``*``): the client's copy is current."""
    header = (request.headers.get("If-None-Match") or "").strip()
    if not header:
        return False
    return header == "*" or current_etag.strip('"') in _etag_values(header)


def if_match_version(request: Request, record: Any) -> int | None:
    """The ``expected_version`` for a service, from the request's If-Match (None: no precondition).

    Raises ConflictError (412) at once when If-Match names no current version; the service checks
    again under its row lock, so a change that slips in between still answers 412.
    """
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        return None
    versions = _etag_versions(header)
    if record.version in versions:
        return int(record.version)
    raise ConflictError(current_version=record.version)


def is_not_modified(request: Request, record: Any) -> bool:
    header = (request.headers.get("If-None-Match") or "").strip()
    if not header:
        return False
    return header == "*" or record.version in _etag_versions(header)


# -- permissions, filters, views ---------------------------------------------------------------


class ActionPermission(permissions.BasePermission):
    """The role permission an action needs, from the view's ``action_permissions``.

    Collection actions (create) are checked before the body is read; actions on one record after the
    record was found, so that a record outside one's scope answers 404 and only a visible one 403.
    The services check the same permissions again.
    """

    message = gettext_lazy("Your role does not allow this.")

    def _allowed(self, request: Request, view: Any) -> bool:
        # From the method, not view.action: OPTIONS asks about each method with a cloned request.
        action_map = getattr(view, "action_map", None) or {}
        name = action_map.get((request.method or "").lower(), view.action)
        needed: Perm | tuple[Perm, ...] | None = getattr(view, "action_permissions", {}).get(name)
        if needed is None:
            return True
        alternatives = needed if isinstance(needed, tuple) else (needed,)
        return any(has_perm(request.user, perm) for perm in alternatives)

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "detail", False):
            return True
        return self._allowed(request, view)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return self._allowed(request, view)


class FilterBackend(DjangoFilterBackend):
    """The list pages' FilterSets, with an unknown ``sort`` key refused as invalid input (400)."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_utils.translate_validation(filterset.errors)
        for name, filter_ in filterset.filters.items():
            if not isinstance(filter_, SortFilter):
                continue
            value = (filterset.form.cleaned_data.get(name) or "").strip()
            if value and value.lstrip("-") not in filter_.options:
                raise serializers.ValidationError(
                    {name: [_("Sort by one of: %(keys)s.") % {"keys": ", ".join(filter_.keys())}]}
                )
        try:
            return filterset.qs
        except DjangoValidationError as error:
            raise serializers.ValidationError({"non_field_errors": error.messages}) from error


def owner_and_team_changes(data: dict[str, Any], record: Any = None) -> dict[str, Any]:
    """``data`` for a service, with ``owner`` and ``team`` kept only when they ask for a change.

    Sending back the current owner or team is not an assignment (and needs no permission). A team can
    be changed but not removed through the API: the services always give a record a team when they can.
    """
    data = dict(data)
    if "owner" in data and record is not None and data["owner"].pk == record.owner_id:
        del data["owner"]
    if "team" in data:
        team = data["team"]
        current = record.team_id if record is not None else None
        if team is None and record is not None and current is None:
            del data["team"]
        elif team is None:
            raise serializers.ValidationError(
                {"team": [_("Choose a team; leave the field out to keep the current one.")]}
            )
        elif team.pk == current:
            del data["team"]
    return data


def versioned_response(
    record: Any, data: Any, *, status: int = 200, location: str | None = None
) -> Response:
    headers = {"ETag": etag_of(record.version)}
    if location:
        headers["Location"] = location
    return Response(data, status=status, headers=headers)
