"""Reads of users, teams and tokens, scoped to the person asking."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from clientela.core.permissions import Perm, Scope, has_perm, scope_of
from clientela.identity.models import ApiToken, Team, User


def users_visible_to(actor: Any) -> QuerySet[User]:
    """Everyone, for roles that may see the user directory; only oneself otherwise."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return User.objects.none()
    users = User.objects.prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
    if has_perm(actor, Perm.USERS_VIEW):
        return users
    return users.filter(pk=actor.pk)


def assignable_owners_for(actor: Any) -> QuerySet[User]:
    """Users to whom ``actor`` may give a record: anyone (all-scope), team mates (teams), or oneself."""
    users = User.objects.filter(is_active=True)
    if not has_perm(actor, Perm.PARTIES_ASSIGN):
        return users.filter(pk=actor.pk)
    if scope_of(actor) == Scope.ALL:
        return users
    # A subquery, not a join: no duplicates, and no mixing of distinct and plain queries in `|`.
    team_mates = User.objects.filter(teams__in=actor.teams.values("id")).values("pk")
    return users.filter(Q(pk__in=team_mates) | Q(pk=actor.pk))


def assignable_teams_for(actor: Any) -> QuerySet[Team]:
    if scope_of(actor) == Scope.ALL and has_perm(actor, Perm.PARTIES_ASSIGN):
        return Team.objects.all()
    return Team.objects.filter(members=actor)


def teams_visible_to(actor: Any) -> QuerySet[Team]:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Team.objects.none()
    return Team.objects.prefetch_related("members")


def api_tokens_of(actor: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor)


def team_member_candidates(actor: Any, team: Team | None = None) -> QuerySet[User]:
    """Who can be put in a team: active users, and whoever is in ``team`` already (even if deactivated)."""
    users = users_visible_to(actor).prefetch_related(None)
    if team is None:
        return users.filter(is_active=True)
    return users.filter(Q(is_active=True) | Q(pk__in=team.members.values("pk")))


def team_choices_for(actor: Any) -> QuerySet[Team]:
    """Teams to pick from in forms and filters (without their members)."""
    return teams_visible_to(actor).prefetch_related(None)
