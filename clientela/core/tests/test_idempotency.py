"""Idempotency-Key on API POSTs: replays, refusals, release on failure, expiry, multipart bodies."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.test.client import encode_multipart
from django.utils import timezone
from rest_framework import exceptions

from clientela.core.idempotency import (
    _BoundaryNeutralHash,
    is_storable,
    request_fingerprint,
)
from clientela.core.models import Event, IdempotencyKey
from clientela.identity.models import ApiToken
from clientela.parties import services
from clientela.parties.models import Contact

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CONTACTS = "/api/v1/contacts/"


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


def _post(client, body, key, path=CONTACTS):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


# -- replays -------------------------------------------------------------------------------------


def test_a_retry_answers_the_first_response_and_creates_nothing(as_rep, rep):
    first = _post(as_rep, {"first_name": "Ana", "last_name": "Ruiz"}, "key-1")
    events = Event.objects.count()

    again = _post(as_rep, {"first_name": "Ana", "last_name": "Ruiz"}, "key-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    for header in ("Location", "ETag", "Content-Type"):
        assert again[header] == first[header]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Contact.objects.count() == 1
    assert Event.objects.count() == events
    stored = IdempotencyKey.objects.get()
    assert (stored.user, stored.key, stored.method, stored.path, stored.response_status) == (
        rep,
        "key-1",
        "POST",
        CONTACTS,
        201,
    )
    assert stored.response_headers == {
        "Content-Type": "application/json",
        "ETag": '"1"',
        "Location": first["Location"],
    }


def test_a_retry_after_the_record_changed_still_answers_the_first_response(as_rep):
    first = _post(as_rep, {"first_name": "Ana"}, "key-1")
    contact = Contact.objects.get()
    as_rep.patch(f"{CONTACTS}{contact.pk}/", {"job_title": "CEO"}, format="json")

    again = _post(as_rep, {"first_name": "Ana"}, "key-1")

    assert again.json() == first.json()
    assert again["ETag"] == '"1"'
    assert Contact.objects.count() == 1


def test_a_quoted_key_is_the_same_key(as_rep):
    # The draft sends the key as a structured-field string: "abc".
    _post(as_rep, {"first_name": "Ana"}, "abc")

    again = _post(as_rep, {"first_name": "Ana"}, '"abc"')

    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


def test_a_validation_error_is_replayed_as_the_same_400(as_rep):
    first = _post(as_rep, {"emails": [{"email": "not an email"}]}, "key-1")

    again = _post(as_rep, {"emails": [{"email": "not an email"}]}, "key-1")

    _problem(first, 400)
    assert again.status_code == 400
    assert again.content == first.content
    assert again["Content-Type"] == PROBLEM
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 0
    assert IdempotencyKey.objects.get().response_status == 400


def test_a_new_token_is_replayed_without_its_secret(api_client, rep):
    # The secret exists only in the first answer: it is stored nowhere, not even for a replay.
    api_client.force_authenticate(rep)
    first = _post(api_client, {"name": "Sync"}, "key-1", path="/api/v1/tokens/")

    again = _post(api_client, {"name": "Sync"}, "key-1", path="/api/v1/tokens/")

    assert first.status_code == again.status_code == 201
    assert first.json()["key"].startswith("clt_")
    assert again.json() == {**first.json(), "key": None}
    assert again["Location"] == first["Location"]
    assert ApiToken.objects.count() == 1
    assert first.json()["key"].encode() not in bytes(IdempotencyKey.objects.get().response_body)


# -- refusals ------------------------------------------------------------------------------------


def test_the_same_key_with_another_body_answers_422_and_creates_nothing(as_rep):
    _post(as_rep, {"first_name": "Ana"}, "key-1")

    response = _post(as_rep, {"first_name": "Eva"}, "key-1")

    body = _problem(response, 422)
    assert body["detail"] == (
        "This Idempotency-Key was already used for a different request (method, address or body)."
    )
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ana"]
    assert IdempotencyKey.objects.get().response_status == 201


def test_the_same_key_at_another_address_answers_422(as_rep):
    _post(as_rep, {"name": "Acme"}, "key-1", path="/api/v1/organizations/")

    response = _post(as_rep, {"name": "Acme"}, "key-1", path="/api/v1/tags/")

    _problem(response, 422)
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("k" * 256, "An Idempotency-Key has at most 255 characters."),
        ("", "The Idempotency-Key header is empty."),
        ('""', "The Idempotency-Key header is empty."),
    ],
)
def test_a_bad_key_answers_400_and_does_nothing(as_rep, key, message):
    response = _post(as_rep, {"first_name": "Ana"}, key)

    body = _problem(response, 400)
    assert body["errors"] == {"Idempotency-Key": [message]}
    assert Contact.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


def test_a_key_of_255_characters_is_accepted(as_rep):
    response = _post(as_rep, {"first_name": "Ana"}, "k" * 255)

    assert response.status_code == 201
    assert IdempotencyKey.objects.get().key == "k" * 255


def test_while_the_first_request_runs_a_retry_answers_409_with_retry_after(
    api_client, rep, monkeypatch
):
    api_client.force_authenticate(rep)
    from rest_framework.test import APIClient

    retry_client = APIClient()
    retry_client.force_authenticate(rep)
    answers_meanwhile = []
    create = services.contact_create

    def create_and_retry_meanwhile(**fields):
        answers_meanwhile.append(_post(retry_client, {"first_name": "Ana"}, "key-1"))
        return create(**fields)

    monkeypatch.setattr(services, "contact_create", create_and_retry_meanwhile)

    first = _post(api_client, {"first_name": "Ana"}, "key-1")

    [meanwhile] = answers_meanwhile
    body = _problem(meanwhile, 409)
    assert meanwhile["Retry-After"] == "1"
    assert body["detail"] == (
        "A request with this Idempotency-Key is still being processed. Try again in a moment."
    )
    assert first.status_code == 201
    assert Contact.objects.count() == 1
    monkeypatch.setattr(services, "contact_create", create)
    assert _post(retry_client, {"first_name": "Ana"}, "key-1").content == first.content


# -- whose keys, which requests --------------------------------------------------------------------


def test_keys_belong_to_their_user(api_client, rep, rep_a2):
    api_client.force_authenticate(rep)
    first = _post(api_client, {"first_name": "Ana"}, "key-1")
    api_client.force_authenticate(rep_a2)

    second = _post(api_client, {"first_name": "Ana"}, "key-1")

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["id"] != second.json()["id"]
    assert Contact.objects.count() == 2
    assert sorted(IdempotencyKey.objects.values_list("user__email", flat=True)) == [
        "rep2@example.com",
        "rep@example.com",
    ]


def test_a_post_without_a_key_is_not_remembered(as_rep):
    as_rep.post(CONTACTS, {"first_name": "Ana"}, format="json")
    as_rep.post(CONTACTS, {"first_name": "Ana"}, format="json")

    assert Contact.objects.count() == 2
    assert IdempotencyKey.objects.count() == 0


def test_a_key_on_a_patch_is_ignored(as_rep, rep):
    contact = services.contact_create(actor=rep, first_name="Ana")

    as_rep.patch(
        f"{CONTACTS}{contact.pk}/", {"job_title": "CEO"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert IdempotencyKey.objects.count() == 0


def test_an_unauthenticated_post_claims_no_key(api_client):
    response = _post(api_client, {"first_name": "Ana"}, "key-1")

    _problem(response, 401)
    assert IdempotencyKey.objects.count() == 0


def test_a_post_the_role_refuses_claims_no_key(api_client, analyst):
    # An analyst may not create contacts: the 403 comes before the key is claimed.
    api_client.force_authenticate(analyst)

    response = _post(api_client, {"first_name": "Ana"}, "key-1")

    _problem(response, 403)
    assert IdempotencyKey.objects.count() == 0


# -- failures release the key -----------------------------------------------------------------------


def test_an_exception_releases_the_key_so_that_a_retry_runs(api_client, rep, monkeypatch):
    api_client.force_authenticate(rep)
    api_client.raise_request_exception = False
    create = services.contact_create

    def broken(**fields):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "contact_create", broken)
    failed = _post(api_client, {"first_name": "Ana"}, "key-1")
    monkeypatch.setattr(services, "contact_create", create)

    retried = _post(api_client, {"first_name": "Ana"}, "key-1")

    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Contact.objects.count() == 1
    assert IdempotencyKey.objects.get().response_status == 201


def test_a_5xx_answer_releases_the_key(as_rep, monkeypatch):
    def unavailable(**fields):
        raise exceptions.APIException("Try later.")  # 500, answered by the handler

    monkeypatch.setattr(services, "contact_create", unavailable)

    response = _post(as_rep, {"first_name": "Ana"}, "key-1")

    assert response.status_code == 500
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize(
    ("status", "stored"),
    [
        (200, True),
        (201, True),
        (202, True),
        (204, True),
        (302, False),
        (400, True),
        (403, True),
        (404, True),
        (409, False),
        (412, False),
        (413, True),
        (422, True),
        (429, False),
        (500, False),
        (503, False),
    ],
)
def test_which_answers_are_kept(status, stored):
    assert is_storable(status) is stored


# -- expiry ---------------------------------------------------------------------------------------


def test_an_expired_key_counts_as_unused(as_rep, settings):
    settings.CLIENTELA_IDEMPOTENCY_HOURS = 24
    _post(as_rep, {"first_name": "Ana"}, "key-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = _post(as_rep, {"first_name": "Eva"}, "key-1")

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ana", "Eva"]
    assert IdempotencyKey.objects.get().created_at > timezone.now() - timedelta(minutes=1)


def test_the_purge_command_deletes_expired_keys(rep, rep_a2, settings, capsys):
    settings.CLIENTELA_IDEMPOTENCY_HOURS = 2
    now = timezone.now()
    for user, key, age in [(rep, "old", 3), (rep_a2, "older", 30), (rep, "fresh", 1)]:
        IdempotencyKey.objects.create(
            user=user, key=key, method="POST", path=CONTACTS, request_hash="0" * 64
        )
        IdempotencyKey.objects.filter(key=key).update(created_at=now - timedelta(hours=age))

    call_command("idempotency_purge")

    assert capsys.readouterr().out == "Deleted 2 idempotency keys older than 2 hours.\n"
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


# -- the request's fingerprint ---------------------------------------------------------------------


def _multipart(boundary, content=b"name,email\nAna,ana@example.com\n"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"record_type": "contacts", "file": SimpleUploadedFile("people.csv", content)}
    return RequestFactory().post(
        "/api/v1/imports/",
        encode_multipart(boundary, data),
        content_type=f"multipart/form-data; boundary={boundary}",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )


def test_a_multipart_body_hashes_the_same_whatever_its_boundary():
    first = request_fingerprint(_multipart("boundary-one-1234"))
    same = request_fingerprint(_multipart("another-boundary-9876543210"))
    other = request_fingerprint(_multipart("boundary-one-1234", b"name\nEva\n"))

    assert first.request_hash == same.request_hash
    assert first.request_hash != other.request_hash


def test_the_body_stays_readable_after_the_fingerprint():
    request = _multipart("boundary-one-1234")

    request_fingerprint(request)

    assert request.POST["record_type"] == "contacts"
    assert request.FILES["file"].read() == b"name,email\nAna,ana@example.com\n"


def test_a_large_body_is_hashed_through_a_file(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    content = b"name\n" + b"Ana\n" * 100_000
    request = _multipart("boundary-one-1234", content)

    fingerprint = request_fingerprint(request)

    assert request._stream._rolled  # spilled to a temporary file, not held in memory
    assert request.FILES["file"].read() == content
    assert fingerprint.request_hash == request_fingerprint(_multipart("xyz", content)).request_hash


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 16, 1000])
def test_the_boundary_is_neutralized_across_chunks(chunk_size):
    body = b"--abcdef\r\nx\r\n--abcdef\r\ny--abcde--abcdef--\r\n"
    whole = _BoundaryNeutralHash(b"abcdef")
    whole.update(body)
    chunked = _BoundaryNeutralHash(b"abcdef")
    for start in range(0, len(body), chunk_size):
        chunked.update(body[start : start + chunk_size])
    renamed = _BoundaryNeutralHash(b"zz")
    renamed.update(body.replace(b"abcdef", b"zz"))

    assert chunked.hexdigest() == whole.hexdigest() == renamed.hexdigest()


def test_an_upload_to_the_imports_endpoint_is_replayed(api_client, manager):
    pytest.importorskip("clientela.parties.imports")
    api_client.force_authenticate(manager)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clientela.parties.models import ImportJob

    def upload():
        return api_client.post(
            "/api/v1/imports/",
            {
                "record_type": "contacts",
                "dry_run": "true",
                "file": SimpleUploadedFile(
                    "people.csv", b"First name,Email\nAna,ana@example.com\n", "text/csv"
                ),
            },
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = upload()
    again = upload()

    assert 200 <= first.status_code < 300, first.content
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert ImportJob.objects.count() == 1


# -- the OpenAPI schema ----------------------------------------------------------------------------


def test_the_schema_documents_the_header_on_every_post(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    posts = {
        path: operations["post"]
        for path, operations in schema["paths"].items()
        if "post" in operations
    }

    assert "/api/v1/contacts/" in posts
    for path, operation in posts.items():
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert (key["in"], key["schema"]) == ("header", {"type": "string", "maxLength": 255}), path
        assert {"409", "422"} <= set(operation["responses"]), path
    contacts = posts["/api/v1/contacts/"]["responses"]
    assert set(contacts["201"]["headers"]) == {"ETag", "Idempotent-Replayed"}
    assert set(contacts["409"]["headers"]) == {"Retry-After"}
