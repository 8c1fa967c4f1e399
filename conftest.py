"""Fixtures every test can use: users in each role, teams, an API client."""

from __future__ import annotations

import os
import tempfile

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run beside one
# unless told it is safe (it is: the test thread is the only user of its connection).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests never touch the developer's var/: a test that reaches the database without the django_db mark
# would otherwise open var/clientela.sqlite3 itself.
os.environ["CLIENTELA_VAR_DIR"] = tempfile.mkdtemp(prefix="clientela-test-var-")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    # pytest-django loads settings before this file sets CLIENTELA_VAR_DIR: uploads and import scratch
    # files go to the test's own folder, never the developer's var/.
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def team_a(db):
    from clientela.identity.tests.factories import TeamFactory

    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    from clientela.identity.tests.factories import TeamFactory

    return TeamFactory(name="Team B")


def _user(role, email, teams=()):
    from clientela.identity.tests.factories import UserFactory

    return UserFactory(
        role=role, email=email, full_name=email.split("@")[0].title(), teams=list(teams)
    )


@pytest.fixture
def admin_user(db):
    return _user("administrator", "admin@example.com")


@pytest.fixture
def manager(team_a):
    return _user("manager", "manager@example.com", [team_a])


@pytest.fixture
def rep(team_a):
    """A representative in team A."""
    return _user("representative", "rep@example.com", [team_a])


@pytest.fixture
def rep_a2(team_a):
    """A second representative in team A."""
    return _user("representative", "rep2@example.com", [team_a])


@pytest.fixture
def rep_b(team_b):
    """A representative in team B."""
    return _user("representative", "repb@example.com", [team_b])


@pytest.fixture
def analyst(db):
    return _user("analyst", "analyst@example.com")


@pytest.fixture
def service_agent(team_a):
    return _user("service_agent", "agent@example.com", [team_a])


@pytest.fixture
def marketer(team_a):
    return _user("marketer", "marketer@example.com", [team_a])


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
