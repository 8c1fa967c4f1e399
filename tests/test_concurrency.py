"""Concurrent API writes, from threads that each have their own database connection.

Two requests with one Idempotency-Key create one record; conditional PATCHes (If-Match, retried on
412) and plain PATCHes of different fields lose no write, on contacts (versioned) and on teams (an
ETag from the representation).
"""

import sqlite3
import threading
import time

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from clientela.core.models import IdempotencyKey
from clientela.identity.models import Team, User
from clientela.parties import services
from clientela.parties.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


@pytest.fixture(autouse=True)
def _a_database_that_takes_concurrent_writers(transactional_db, tmp_path):
    """On SQLite, the tests run on a copy of the test database in a file.

    The test database is in memory with a shared cache, whose table locks fail at once instead of
    waiting (busy_timeout does not apply to them), so concurrent writers would error out instead of
    queueing. A file database, as Clientela runs on (WAL, BEGIN IMMEDIATE), queues them.
    """
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    settings_dict = connection.settings_dict  # shared by the connections every thread opens
    in_memory = settings_dict["NAME"]
    path = tmp_path / "concurrency.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    # Keeps the in-memory database alive while no Django connection is open to it.
    keeper = sqlite3.connect(in_memory, uri=True)
    settings_dict["NAME"] = str(path)
    connection.close()  # really closed now that it is no longer "in memory"; reopens on the file
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = in_memory
        connection.ensure_connection()
        keeper.close()


def _in_threads(count, work):
    """Run ``work(index)`` in ``count`` threads released together; their results, in order."""
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return results


def _client(user_pk):
    client = APIClient()
    # Each thread reads its own copy of the user, as each request would.
    client.force_authenticate(User.objects.get(pk=user_pk))
    return client


# -- Idempotency-Key ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "delay"), [(2, 0.0), (2, 0.3), (THREADS, 0.0)])
def test_one_key_sent_at_once_creates_one_record(rep, monkeypatch, count, delay):
    # With a delay the first request is surely still running when the others claim the key.
    create = services.contact_create

    def slow_create(**fields):
        time.sleep(delay)
        return create(**fields)

    monkeypatch.setattr(services, "contact_create", slow_create)

    def post(index):
        response = _client(rep.pk).post(
            "/api/v1/contacts/",
            {"first_name": "Ana", "last_name": "Ruiz"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="same-key",
        )
        return response.status_code, response.content, response.get("Retry-After")

    answers = _in_threads(count, post)

    assert Contact.objects.count() == 1
    created = [content for status, content, _retry in answers if status == 201]
    conflicts = [retry for status, _content, retry in answers if status == 409]
    assert len(created) + len(conflicts) == count
    assert len(created) >= 1
    assert len(set(created)) == 1  # a replay answers exactly the first answer
    assert conflicts == ["1"] * len(conflicts)
    if delay:
        assert len(conflicts) == count - 1
    stored = IdempotencyKey.objects.get()
    assert (stored.response_status, bytes(stored.response_body)) == (201, created[0])


# -- If-Match, retried on 412 ------------------------------------------------------------------------


def _patch_until_it_applies(client, url, change):
    """GET the ETag, PATCH with If-Match; on 412 read again and retry. Returns how many 412s."""
    for refused in range(100):
        etag = client.get(url)["ETag"]
        response = client.patch(url, change, format="json", HTTP_IF_MATCH=etag)
        if response.status_code == 200:
            return refused
        assert response.status_code == 412, response.content
    raise AssertionError(f"{change} never applied")


def test_conditional_patches_of_a_contact_lose_no_write(rep):
    contact = services.contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    url = f"/api/v1/contacts/{contact.pk}/"
    changes = [
        {"first_name": "Anna"},
        {"last_name": "Ruiz García"},
        {"job_title": "CTO"},
        {"city": "Aarhus"},
    ]

    refusals = _in_threads(
        len(changes), lambda index: _patch_until_it_applies(_client(rep.pk), url, changes[index])
    )

    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.job_title, contact.city) == (
        "Anna",
        "Ruiz García",
        "CTO",
        "Aarhus",
    )
    assert contact.version == 1 + len(changes)
    assert sum(refusals) >= 0  # how many writes had to read again depends on timing


def test_conditional_patches_of_a_team_lose_no_write(admin_user, rep, rep_a2):
    team = Team.objects.create(name="Sales")
    url = f"/api/v1/teams/{team.pk}/"
    changes = [{"name": "Sales EMEA"}, {"description": "Europe"}, {"members": [rep.pk, rep_a2.pk]}]

    refusals = _in_threads(
        len(changes),
        lambda index: _patch_until_it_applies(_client(admin_user.pk), url, changes[index]),
    )

    team.refresh_from_db()
    assert (team.name, team.description) == ("Sales EMEA", "Europe")
    assert sorted(team.members.values_list("email", flat=True)) == [
        "rep2@example.com",
        "rep@example.com",
    ]
    assert sum(refusals) >= 0


# -- without If-Match --------------------------------------------------------------------------------


def test_plain_patches_of_different_fields_lose_no_write(rep):
    # The service re-reads the contact under a row lock, so each PATCH applies to the latest state.
    contact = services.contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    url = f"/api/v1/contacts/{contact.pk}/"
    changes = [
        {"first_name": "Anna"},
        {"last_name": "Ruiz García"},
        {"job_title": "CTO"},
        {"city": "Aarhus"},
    ]

    statuses = _in_threads(
        len(changes),
        lambda index: _client(rep.pk).patch(url, changes[index], format="json").status_code,
    )

    assert statuses == [200] * len(changes)
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.job_title, contact.city) == (
        "Anna",
        "Ruiz García",
        "CTO",
        "Aarhus",
    )
    assert contact.version == 1 + len(changes)
