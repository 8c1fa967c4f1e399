import hashlib
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from clientela.core.models import Event
from clientela.core.permissions import Role
from clientela.core.selectors import events_of
from clientela.identity.models import ApiToken, Team, User
from clientela.identity.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    team_create,
    team_delete,
    team_update,
    user_deactivate,
    user_invite,
    user_password_change,
    user_password_reset_request,
    user_reactivate,
    user_update,
)
from clientela.identity.tests.factories import UserFactory
from clientela.parties.tests.factories import OrganizationFactory


def test_user_invite_creates_a_user_without_password_records_the_event_and_emails_a_link(
    admin_user, team_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = user_invite(
            actor=admin_user,
            email=" Ana.Ruiz@Example.COM ",
            full_name=" Ana Ruiz ",
            role=Role.MANAGER,
            teams=[team_a],
            language="es",
        )

    user.refresh_from_db()
    assert (user.email, user.full_name, user.role, user.language) == (
        "ana.ruiz@example.com",
        "Ana Ruiz",
        "manager",
        "es",
    )
    assert user.has_usable_password() is False
    assert user.invited_by == admin_user
    assert list(user.teams.all()) == [team_a]
    assert [(event.kind, event.actor, event.data["role"]) for event in events_of(user)] == [
        ("user.invited", admin_user, "manager")
    ]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ana.ruiz@example.com"]
    assert mailoutbox[0].extra_headers["Content-Language"] == "es"
    assert "http://127.0.0.1:8000/password/reset/" in mailoutbox[0].body


def test_user_invite_refuses_an_email_already_in_use_and_writes_nothing(admin_user, rep):
    with pytest.raises(ValidationError) as error:
        user_invite(actor=admin_user, email="REP@example.com", full_name="Another Rep")

    assert error.value.message_dict == {"email": ["A user with this email already exists."]}
    assert User.objects.count() == 2
    assert Event.objects.count() == 0


def test_representative_cannot_invite_and_nothing_is_created(rep, mailoutbox):
    with pytest.raises(PermissionDenied):
        user_invite(actor=rep, email="new@example.com", full_name="New Person")

    assert User.objects.filter(email="new@example.com").exists() is False
    assert Event.objects.count() == 0
    assert mailoutbox == []


def test_user_update_refuses_a_change_of_ones_own_role(admin_user):
    with pytest.raises(ValidationError) as error:
        user_update(actor=admin_user, user=admin_user, role=Role.ANALYST, full_name="Renamed")

    assert error.value.message_dict == {"role": ["You cannot change your own role."]}
    admin_user.refresh_from_db()
    assert (admin_user.role, admin_user.full_name) == ("administrator", "Admin")
    assert Event.objects.count() == 0


def test_user_update_leaves_the_object_untouched_when_the_input_is_refused(rep):
    with pytest.raises(ValidationError) as error:
        user_update(actor=rep, user=rep, full_name="Renamed", time_zone="Mars/Olympus")

    assert set(error.value.message_dict) == {"time_zone"}
    assert (rep.full_name, rep.time_zone) == ("Rep", "UTC")


def test_user_update_records_old_and_new_values(admin_user, rep, team_a, team_b):
    user_update(actor=admin_user, user=rep, full_name="Rep Two", teams=[team_a, team_b])

    changed = events_of(rep).get(kind="user.changed")
    assert changed.actor == admin_user
    assert changed.data["changes"] == {
        "full_name": {"old": "Rep", "new": "Rep Two"},
        "teams": {"old": ["Team A"], "new": ["Team A", "Team B"]},
    }


def test_user_may_change_own_name_language_and_time_zone_but_not_someone_elses(rep, rep_a2):
    user_update(actor=rep, user=rep, full_name="Me", language="da", time_zone="Europe/Copenhagen")

    with pytest.raises(PermissionDenied):
        user_update(actor=rep, user=rep_a2, full_name="Not me")

    rep.refresh_from_db()
    rep_a2.refresh_from_db()
    assert (rep.full_name, rep.language, rep.time_zone) == ("Me", "da", "Europe/Copenhagen")
    assert rep_a2.full_name == "Rep2"


def test_user_deactivate_revokes_tokens_ends_sessions_and_records_the_event(admin_user, rep):
    issued = api_token_create(actor=rep, name="Script")
    session = Client()
    session.force_login(rep)
    assert Session.objects.count() == 1

    user_deactivate(actor=admin_user, user=rep)

    rep.refresh_from_db()
    assert rep.is_active is False
    assert ApiToken.objects.get().revoked_at is not None
    assert api_token_authenticate(issued.key) is None
    assert Session.objects.count() == 0
    assert [event.kind for event in events_of(rep)][:1] == ["user.deactivated"]


def test_user_deactivate_refuses_oneself(admin_user):
    with pytest.raises(ValidationError) as error:
        user_deactivate(actor=admin_user, user=admin_user)

    assert error.value.messages == ["You cannot deactivate yourself."]
    admin_user.refresh_from_db()
    assert admin_user.is_active is True


def test_user_reactivate_lets_the_user_in_again_but_keeps_tokens_revoked(admin_user, rep):
    issued = api_token_create(actor=rep, name="Script")
    user_deactivate(actor=admin_user, user=rep)

    user_reactivate(actor=admin_user, user=rep)

    rep.refresh_from_db()
    assert rep.is_active is True
    assert api_token_authenticate(issued.key) is None
    assert [event.kind for event in events_of(rep)][:1] == ["user.reactivated"]


def test_manager_cannot_deactivate_and_nothing_changes(manager, rep):
    with pytest.raises(PermissionDenied):
        user_deactivate(actor=manager, user=rep)

    rep.refresh_from_db()
    assert rep.is_active is True
    assert Event.objects.count() == 0


def test_user_password_change_sets_the_password_and_records_the_event(rep):
    user_password_change(actor=rep, user=rep, password="a-brand-new-secret")

    rep.refresh_from_db()
    assert rep.check_password("a-brand-new-secret") is True
    assert [event.kind for event in events_of(rep)] == ["user.password_changed"]


def test_user_password_change_of_someone_else_is_refused(admin_user, rep):
    with pytest.raises(PermissionDenied):
        user_password_change(actor=admin_user, user=rep, password="a-brand-new-secret")

    rep.refresh_from_db()
    assert rep.check_password("a-brand-new-secret") is False


def test_user_password_reset_request_emails_active_and_invited_users_only(
    admin_user, rep, mailoutbox, django_capture_on_commit_callbacks
):
    invited = user_invite(actor=admin_user, email="new@example.com", full_name="New")
    gone = UserFactory(email="gone@example.com", is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        for email in ("REP@example.com", "new@example.com", gone.email, "nobody@example.com"):
            user_password_reset_request(email=email, language="en")

    assert [message.to for message in mailoutbox] == [[rep.email], [invited.email]]


def test_api_token_create_stores_only_a_sha256_hash_of_the_key(rep):
    issued = api_token_create(actor=rep, name=" Export ")

    token = ApiToken.objects.get()
    assert issued.token == token
    assert token.name == "Export"
    assert issued.key.startswith(f"clt_{token.prefix}_")
    assert len(issued.key) == len("clt_") + 12 + 1 + 43
    assert token.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values().get().values()]
    assert all(issued.key not in value for value in stored)
    assert [event.kind for event in Event.objects.all()] == ["api_token.created"]


def test_api_token_authenticate_accepts_a_fresh_key_and_records_its_use(rep):
    issued = api_token_create(actor=rep, name="Export")

    assert api_token_authenticate(issued.key) == rep

    token = ApiToken.objects.get()
    assert token.last_used_at is not None


def test_api_token_authenticate_rejects_a_revoked_key(rep):
    issued = api_token_create(actor=rep, name="Export")
    api_token_revoke(actor=rep, token=issued.token)

    assert api_token_authenticate(issued.key) is None


def test_api_token_authenticate_rejects_an_expired_key(rep):
    issued = api_token_create(
        actor=rep, name="Export", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert api_token_authenticate(issued.key) is None


def test_api_token_authenticate_rejects_wrong_keys(rep):
    issued = api_token_create(actor=rep, name="Export")
    prefix = issued.token.prefix

    assert api_token_authenticate(f"clt_{prefix}_{'x' * 43}") is None
    assert api_token_authenticate(issued.key[:-1]) is None
    assert api_token_authenticate(issued.key.replace("clt_", "abc_")) is None
    assert api_token_authenticate("clt_") is None
    assert api_token_authenticate("") is None


def test_api_token_create_refuses_a_past_expiry_and_a_missing_name(rep):
    with pytest.raises(ValidationError) as error:
        api_token_create(actor=rep, name="Old", expires_at=timezone.now() - timedelta(hours=1))
    assert error.value.message_dict == {"expires_at": ["The expiry must be in the future."]}

    with pytest.raises(ValidationError) as error:
        api_token_create(actor=rep, name="  ")
    assert set(error.value.message_dict) == {"name"}

    assert ApiToken.objects.count() == 0


def test_someone_elses_token_can_only_be_revoked_by_an_administrator(rep, rep_a2, admin_user):
    issued = api_token_create(actor=rep, name="Export")

    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=rep_a2, token=issued.token)
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None

    api_token_revoke(actor=admin_user, token=issued.token)
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None


def test_team_create_and_update_record_events(admin_user, rep):
    team = team_create(actor=admin_user, name="  North   Sales ", description="Nordics")
    team_update(actor=admin_user, team=team, members=[rep])

    assert team.name == "North Sales"
    assert list(team.members.all()) == [rep]
    assert [event.kind for event in events_of(team)] == ["team.changed", "team.created"]


def test_team_create_refuses_a_name_in_use_whatever_its_case(admin_user, team_a):
    with pytest.raises(ValidationError) as error:
        team_create(actor=admin_user, name="team a")

    assert error.value.message_dict == {"name": ["A team with this name already exists."]}
    assert Team.objects.count() == 1


def test_team_delete_is_refused_while_records_belong_to_the_team(admin_user, rep, team_a):
    OrganizationFactory(owner=rep, team=team_a)

    with pytest.raises(ValidationError) as error:
        team_delete(actor=admin_user, team=team_a)

    assert error.value.messages == [
        "Records still belong to this team: give them to another team first."
    ]
    assert Team.objects.filter(pk=team_a.pk).exists() is True
    assert Event.objects.filter(kind="team.deleted").count() == 0


def test_team_delete_of_an_empty_team(admin_user, team_b):
    team_delete(actor=admin_user, team=team_b)

    assert Team.objects.count() == 0
    assert [(event.kind, event.data["label"]) for event in Event.objects.all()] == [
        ("team.deleted", "Team B")
    ]


def test_manager_cannot_manage_teams_and_nothing_changes(manager, team_a):
    with pytest.raises(PermissionDenied):
        team_update(actor=manager, team=team_a, name="Renamed")
    with pytest.raises(PermissionDenied):
        team_delete(actor=manager, team=team_a)

    team_a.refresh_from_db()
    assert team_a.name == "Team A"
    assert Event.objects.count() == 0
