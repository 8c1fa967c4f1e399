"""Writes on users, teams and API tokens. Each checks the actor's role and records an event."""

from __future__ import annotations

import functools
import hashlib
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientela.core.events import changes, event_record, snapshot
from clientela.core.permissions import Perm, Role, require_perm
from clientela.identity.events import ApiTokenEvent, TeamEvent, UserEvent
from clientela.identity.models import ApiToken, Team, User

TOKEN_PREFIX = "clt_"


def _validated_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    return email


def _validated_profile(*, full_name: str, role: str, language: str, time_zone: str) -> None:
    errors: dict[str, str] = {}
    if not full_name.strip():
        errors["full_name"] = _("Enter the person's name.")
    elif len(full_name) > 150:
        errors["full_name"] = _("A name has at most 150 characters.")
    if role not in Role.values:
        errors["role"] = _("Choose one of the roles.")
    if language and language not in dict(settings.LANGUAGES):
        errors["language"] = _("Choose one of the languages.")
    if time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = _("Choose a time zone such as Europe/Copenhagen.")
    if errors:
        raise ValidationError(errors)


def _user_snapshot(user: User) -> dict[str, Any]:
    data = snapshot(user, ("full_name", "email", "role", "language", "time_zone", "is_active"))
    data["teams"] = sorted(team.name for team in user.teams.all())
    return data


@transaction.atomic
def user_invite(
    *,
    actor: User,
    email: str,
    full_name: str,
    role: str = Role.REPRESENTATIVE,
    teams: Iterable[Team] = (),
    language: str = "",
    time_zone: str = "UTC",
) -> User:
    """Create a user without a password and email them a link to choose one."""
    require_perm(actor, Perm.USERS_MANAGE)
    email = _validated_email(email)
    _validated_profile(full_name=full_name, role=role, language=language, time_zone=time_zone)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("A user with this email already exists.")})
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role,
        language=language,
        time_zone=time_zone,
        invited_by=actor,
    )
    user.set_unusable_password()
    user.save()
    user.teams.set(teams)
    event_record(actor=actor, record=user, kind=UserEvent.INVITED, data={"role": role})

    from clientela.identity.tasks import invitation_send

    transaction.on_commit(lambda: invitation_send.enqueue(user_id=user.pk))
    return user


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    full_name: str | None = None,
    role: str | None = None,
    teams: Iterable[Team] | None = None,
    language: str | None = None,
    time_zone: str | None = None,
) -> User:
    """Change a user's profile. Role and teams only by a user manager; one's own name and language by anyone."""
    changing_access = role is not None or teams is not None
    if changing_access or actor.pk != user.pk:
        require_perm(actor, Perm.USERS_MANAGE)
    if role is not None and actor.pk == user.pk and role != user.role:
        raise ValidationError({"role": _("You cannot change your own role.")})
    before = _user_snapshot(user)
    new_full_name = (full_name if full_name is not None else user.full_name).strip()
    new_role = role if role is not None else user.role
    new_language = language if language is not None else user.language
    new_time_zone = time_zone if time_zone is not None else user.time_zone
    # Validate before touching ``user``: callers (pages) keep showing the object after a refusal.
    _validated_profile(
        full_name=new_full_name, role=new_role, language=new_language, time_zone=new_time_zone
    )
    user.full_name, user.role = new_full_name, new_role
    user.language, user.time_zone = new_language, new_time_zone
    user.save()
    if teams is not None:
        user.teams.set(teams)
    diff = changes(before, _user_snapshot(user))
    if diff:
        event_record(actor=actor, record=user, kind=UserEvent.CHANGED, data={"changes": diff})
    return user


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Stop a user from logging in: their sessions and API tokens stop working at once."""
    require_perm(actor, Perm.USERS_MANAGE)
    if actor.pk == user.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _sessions_end(user)
    event_record(actor=actor, record=user, kind=UserEvent.DEACTIVATED)
    return user


@transaction.atomic
def user_reactivate(*, actor: User, user: User) -> User:
    require_perm(actor, Perm.USERS_MANAGE)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    event_record(actor=actor, record=user, kind=UserEvent.REACTIVATED)
    return user


@transaction.atomic
def user_password_change(*, actor: User, user: User, password: str) -> User:
    """Set a new password (already validated by the form). Every other session of the user ends."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("Only the user can change their own password."))
    user.set_password(password)
    user.save(update_fields=["password"])
    event_record(actor=actor, record=user, kind=UserEvent.PASSWORD_CHANGED)
    return user


@transaction.atomic
def user_login_record(*, user: User) -> None:
    """Note in the audit trail that ``user`` logged in (called by the login page after success)."""
    event_record(actor=user, record=user, kind=UserEvent.LOGGED_IN)


@transaction.atomic
def user_password_reset_request(*, email: str, language: str = "") -> None:
    """Email the active user with ``email``, if there is one, a link to choose a new password.

    Says nothing about whether the account exists: callers show the same answer either way, and the
    email goes out from the task queue, so the answer does not wait for the mail server either.
    Invited users who have not chosen a password yet can ask for a new link this way too.
    ``language`` is the one the email is written in when the user has not chosen one.
    """
    from clientela.identity.tasks import password_reset_send

    email = (email or "").strip()
    user_ids = User.objects.filter(email__iexact=email, is_active=True).values_list("pk", flat=True)
    for user_id in user_ids:
        transaction.on_commit(
            functools.partial(password_reset_send.enqueue, user_id=user_id, language=language)
        )


def _sessions_end(user: User) -> None:
    """Delete every stored session of ``user`` (the session auth hash already refuses them)."""
    from django.contrib.sessions.models import Session

    user_id = str(user.pk)
    stale = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == user_id
    ]
    Session.objects.filter(session_key__in=stale).delete()


def _validated_team(name: str, team: Team | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("A team needs a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("A team name has at most 100 characters.")})
    clash = Team.objects.filter(name__iexact=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise ValidationError({"name": _("A team with this name already exists.")})
    return name


@transaction.atomic
def team_create(
    *, actor: User, name: str, description: str = "", members: Iterable[User] = ()
) -> Team:
    require_perm(actor, Perm.TEAMS_MANAGE)
    team = Team.objects.create(name=_validated_team(name), description=description.strip())
    team.members.set(members)
    event_record(actor=actor, record=team, kind=TeamEvent.CREATED)
    return team


@transaction.atomic
def team_update(
    *,
    actor: User,
    team: Team,
    name: str | None = None,
    description: str | None = None,
    members: Iterable[User] | None = None,
) -> Team:
    require_perm(actor, Perm.TEAMS_MANAGE)

    def state() -> dict[str, Any]:
        data = snapshot(team, ("name", "description"))
        data["members"] = sorted(member.email for member in team.members.all())
        return data

    before = state()
    if name is not None:
        team.name = _validated_team(name, team)
    if description is not None:
        team.description = description.strip()
    team.save()
    if members is not None:
        team.members.set(members)
    diff = changes(before, state())
    if diff:
        event_record(actor=actor, record=team, kind=TeamEvent.CHANGED, data={"changes": diff})
    return team


@transaction.atomic
def team_delete(*, actor: User, team: Team) -> None:
    """Delete a team that no record belongs to any more."""
    require_perm(actor, Perm.TEAMS_MANAGE)
    from django.apps import apps

    from clientela.core.models import OwnedModel

    for model in apps.get_models():
        if issubclass(model, OwnedModel) and model._default_manager.filter(team=team).exists():
            raise ValidationError(
                _("Records still belong to this team: give them to another team first.")
            )
    event_record(actor=actor, record=team, kind=TeamEvent.DELETED)
    team.delete()


def _token_hash(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is safe and lookups stay cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown to the user once, never stored


@transaction.atomic
def api_token_create(*, actor: User, name: str, expires_at: datetime | None = None) -> IssuedToken:
    """A new personal token for ``actor``; the returned key is the only time it is visible."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(
            {"name": _("Give the token a name, such as the program that uses it.")}
        )
    if len(name) > 100:
        raise ValidationError({"name": _("A token name has at most 100 characters.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"{TOKEN_PREFIX}{prefix}_{secret}"
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=prefix, key_hash=_token_hash(key), expires_at=expires_at
    )
    event_record(actor=actor, record=token, kind=ApiTokenEvent.CREATED)
    return IssuedToken(token=token, key=key)


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        require_perm(actor, Perm.USERS_MANAGE)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        event_record(actor=actor, record=token, kind=ApiTokenEvent.REVOKED)
    return token


def api_token_authenticate(key: str) -> User | None:
    """The active user a presented key belongs to, or None. Records when the token was last used."""
    if not key.startswith(TOKEN_PREFIX) or key.count("_") < 2:
        return None
    prefix = key[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not secrets.compare_digest(token.key_hash, _token_hash(key)):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    # Write at most once a minute per token, not on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
