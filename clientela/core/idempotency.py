"""Idempotency keys for API POSTs (IETF draft-ietf-httpapi-idempotency-key-header).

A client that sends ``Idempotency-Key: <key>`` with a POST may send the same request again (after a
timeout, a dropped connection) and get the first answer back instead of a second record:

- the first request *claims* the key by inserting an ``IdempotencyKey`` row in a transaction of its own,
  committed before the view runs; the unique constraint on (user, key) decides who runs, on SQLite and
  PostgreSQL alike;
- its answer is then stored on the row (2xx, and 4xx other than 409/412/429); on a 5xx or an exception
  the row is deleted, so the client can try again;
- a retry with the same key and the same request (method, path with query, raw body) gets the stored
  answer again, marked ``Idempotent-Replayed: true``; with another request it gets 422; while the first
  request still runs, 409 with ``Retry-After: 1``.

Keys belong to the authenticated user and expire after ``CLIENTELA_IDEMPOTENCY_HOURS``: an expired key
counts as unused, and expired rows are deleted by ``clientela idempotency_purge`` and, at most every
ten minutes per process, by the next claim. ``ApiViewSet`` (``core.api_views``) wires this into every
endpoint; docs/adr/0016-idempotency-keys.md says why it lives there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions

from clientela.core.models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

# Answers that say something final about the request are kept; 409, 412 and 429 say "not now" (a
# retry may well succeed) and 5xx says nothing, so those release the key instead.
_TRANSIENT_CLIENT_ERRORS = frozenset({409, 412, 429})
# Headers that belong to one exchange and are never replayed.
_UNSTORED_HEADERS = frozenset({"content-length", "set-cookie", "date", "vary", "allow"})
_CHUNK_SIZE = 64 * 1024
_PURGE_EVERY_SECONDS = 600
# Bytes a multipart boundary can never contain (RFC 2046), so the token cannot meet a boundary.
_BOUNDARY_TOKEN = b"\x00boundary\x00"


class IdempotencyKeyInUse(exceptions.APIException):
    """The first request with this key is still running (409, retry in a second)."""

    status_code = 409
    default_detail = _(
        "A request with this Idempotency-Key is still being processed. Try again in a moment."
    )
    default_code = "idempotency_key_in_use"
    # DRF's exception handler turns ``wait`` into Retry-After.
    wait = 1


class IdempotencyKeyReused(exceptions.APIException):
    """The key was used for another request (422)."""

    status_code = 422
    default_detail = _(
        "This Idempotency-Key was already used for a different request (method, address or body)."
    )
    default_code = "idempotency_key_reused"


@dataclass(frozen=True)
class RequestFingerprint:
    """A POST sent with an Idempotency-Key: the header as sent and what identifies the request."""

    raw_key: str
    method: str
    path: str
    request_hash: str


class KeyClaim(NamedTuple):
    """The row for a key, and whether this request claimed it (and so must run the view)."""

    record: IdempotencyKey
    is_new: bool


# -- the request ---------------------------------------------------------------------------------


class _BoundaryNeutralHash:
    """SHA-256 of a body in which a multipart boundary reads as a fixed token.

    Clients pick a random boundary each time they encode a form, so a retry of the same upload would
    otherwise never hash the same. Fed in chunks: the last ``len(boundary) - 1`` bytes wait for the
    next chunk, in case a boundary starts there.
    """

    def __init__(self, boundary: bytes) -> None:
        self._hash = hashlib.sha256()
        self._boundary = boundary
        self._carry = b""

    def update(self, chunk: bytes) -> None:
        if not self._boundary:
            self._hash.update(chunk)
            return
        data = (self._carry + chunk).replace(self._boundary, _BOUNDARY_TOKEN)
        keep = len(self._boundary) - 1
        cut = max(len(data) - keep, 0)
        self._hash.update(data[:cut])
        self._carry = data[cut:]

    def hexdigest(self) -> str:
        self._hash.update(self._carry)
        self._carry = b""
        return self._hash.hexdigest()


def _multipart_boundary(request: HttpRequest) -> bytes:
    content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if content_type != "multipart/form-data":
        return b""
    return str(params.get("boundary", "")).encode("latin-1", "replace")


def _body_hash_update(request: HttpRequest, digest: _BoundaryNeutralHash) -> None:
    """Feed the raw body to ``digest``, leaving it readable for the parsers that come after."""
    if hasattr(request, "_body") or getattr(request, "_read_started", False):
        # Already read into memory (or consumed, and then ``body`` says so).
        digest.update(request.body)
        return
    # Copied while hashing, to memory and past FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file, so
    # that an upload of any size can be hashed without holding it in memory; the request then reads
    # from the copy (HttpRequest reads ``_stream``; ``body`` and the multipart parser both do).
    # Not closed here (noqa): the request reads it after this function returns.
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    while chunk := request.read(_CHUNK_SIZE):
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    request._stream = spool  # type: ignore[assignment]
    # The copy goes (and its file with it) when the request does.
    request._read_started = False  # type: ignore[attr-defined]


def request_fingerprint(request: HttpRequest) -> RequestFingerprint | None:
    """For a POST that carries an Idempotency-Key: the key as sent and a hash of the request.

    The hash covers the method, the path with its query string and the raw body (with a multipart
    boundary neutralized). It must be taken before anything parses the body; the body stays readable.
    None for any other request.
    """
    raw_key = request.headers.get(HEADER)
    if request.method != "POST" or raw_key is None:
        return None
    path = request.get_full_path()
    digest = _BoundaryNeutralHash(_multipart_boundary(request))
    digest.update(f"{request.method}\n{path}\n".encode())
    _body_hash_update(request, digest)
    return RequestFingerprint(
        raw_key=raw_key, method=request.method, path=path, request_hash=digest.hexdigest()
    )


def idempotency_key_clean(raw_key: str) -> str:
    """The key itself: the header's value, unquoted when sent as a structured-field string.

    Raises DRF's ValidationError (400) for an empty key or one longer than 255 characters.
    """
    key = raw_key.strip()
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    if not key:
        raise exceptions.ValidationError({HEADER: [_("The Idempotency-Key header is empty.")]})
    if len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError(
            {
                HEADER: [
                    _("An Idempotency-Key has at most %(max)d characters.")
                    % {"max": MAX_KEY_LENGTH}
                ]
            }
        )
    return key


# -- claiming, storing, releasing ----------------------------------------------------------------


def _retention() -> timedelta:
    return timedelta(hours=settings.CLIENTELA_IDEMPOTENCY_HOURS)


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the keys older than CLIENTELA_IDEMPOTENCY_HOURS; returns how many were deleted."""
    cutoff = (now or timezone.now()) - _retention()
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


_purge_lock = threading.Lock()
_next_purge_at = 0.0


def _purge_now_and_then() -> None:
    """Purge expired keys at most every ten minutes per process, so that no scheduler is needed."""
    global _next_purge_at
    with _purge_lock:
        if time.monotonic() < _next_purge_at:
            return
        _next_purge_at = time.monotonic() + _PURGE_EVERY_SECONDS
    idempotency_keys_purge()


def idempotency_key_claim(*, user: Any, key: str, fingerprint: RequestFingerprint) -> KeyClaim:
    """Claim ``key`` of ``user`` for the request ``fingerprint`` describes.

    Returns a new row, committed at once and still without an answer, when this request is the first
    to use the key (it must run, then store or release its answer); the stored row when the same
    request was answered before (replay it). Raises IdempotencyKeyReused (422) when the key was used
    for another request, and IdempotencyKeyInUse (409) while the first request with it still runs.
    """
    _purge_now_and_then()
    # A few rounds, because the row found taken can be released or expire before we read it.
    for _round in range(3):
        try:
            # Its own transaction, committed before the view runs: the unique constraint lets exactly
            # one of two concurrent requests in, and the other sees the row from then on.
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=fingerprint.method,
                    path=fingerprint.path[:2000],
                    request_hash=fingerprint.request_hash,
                )
            return KeyClaim(record, True)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            continue
        if existing.created_at < timezone.now() - _retention():
            # Expired but not purged yet: it counts as unused.
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != fingerprint.request_hash:
            raise IdempotencyKeyReused()
        if existing.response_status is None:
            raise IdempotencyKeyInUse()
        return KeyClaim(existing, False)
    raise IdempotencyKeyInUse()


def is_storable(status_code: int) -> bool:
    """Whether an answer with this status is kept for replays (2xx, 4xx but 409/412/429)."""
    return 200 <= status_code < 300 or (
        400 <= status_code < 500 and status_code not in _TRANSIENT_CLIENT_ERRORS
    )


def _redacted(body: bytes, content_type: str, fields: Collection[str]) -> bytes:
    if not fields or not body or "json" not in content_type:
        return body
    data = json.loads(body)
    if not isinstance(data, dict) or not fields & data.keys():
        return body
    data.update(dict.fromkeys(fields & data.keys()))
    # As DRF's JSONRenderer writes it.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def idempotency_response_store(
    *, record: IdempotencyKey, response: HttpResponseBase, redact: Collection[str] = ()
) -> None:
    """Keep the (rendered) answer of the request that claimed ``record``, or release the key.

    Answers that are not storable (``is_storable``) and streaming ones release the key instead. The
    top-level JSON fields named in ``redact`` (secrets, such as a new token's key) are kept as null.
    """
    if not is_storable(response.status_code) or response.streaming:
        idempotency_key_release(record=record)
        return
    headers = {
        name: value for name, value in response.items() if name.lower() not in _UNSTORED_HEADERS
    }
    body = _redacted(
        bytes(response.content),  # type: ignore[attr-defined]
        headers.get("Content-Type", ""),
        frozenset(redact),
    )
    IdempotencyKey.objects.filter(pk=record.pk).update(
        response_status=response.status_code, response_headers=headers, response_body=body
    )


def idempotency_key_release(*, record: IdempotencyKey) -> None:
    """Forget a claim whose request failed, so that the client can send it again."""
    try:
        IdempotencyKey.objects.filter(pk=record.pk, response_status__isnull=True).delete()
    except DatabaseError:
        # The request's own failure may have broken the connection; the key then expires.
        logger.exception("Could not release idempotency key %s", record.pk)


def idempotency_response_replay(record: IdempotencyKey) -> HttpResponse:
    """The stored answer again, marked ``Idempotent-Replayed: true``."""
    response = HttpResponse(bytes(record.response_body), status=record.response_status or 200)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response
