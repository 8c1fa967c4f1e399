"""What every API endpoint shares: problem+json errors, pagination, strict serializers.

Errors follow RFC 9457 (``application/problem+json``): ``type``, ``title``, ``status``, ``detail`` and,
for invalid input, ``errors`` mapping each field to its messages.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler

from clientela.core.exceptions import ConflictError

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


def problem_response(
    status_code: int,
    detail: str,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(body, status=status_code, headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _django_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {"non_field_errors": list(error.messages)}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, speaking problem+json, and knowing the errors services raise."""
    if isinstance(exc, DjangoValidationError):
        return problem_response(
            400, _("The request has invalid fields."), errors=_django_errors(exc)
        )
    if isinstance(exc, ConflictError):
        return problem_response(412, str(exc), current_version=exc.current_version)
    if isinstance(exc, Model.DoesNotExist):
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


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.CLIENTELA_API_MAX_PAGE_SIZE


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, and read-only ones, instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown or read-only field.")] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass
