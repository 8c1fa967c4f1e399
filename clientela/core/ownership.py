"""Who may own a record: the owner/team rules every owned record's services share."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from clientela.core.permissions import Perm, has_perm


def ownership_resolve(
    *,
    actor: Any,
    owner: Any = None,
    team: Any = None,
    current_owner: Any = None,
    current_team: Any = None,
) -> tuple[Any, Any]:
    """The (owner, team) a record gets, checked against what ``actor`` may assign.

    Defaults: a new record belongs to its creator and to the creator's first team. Giving a record to
    someone else, or to a team one is not in, needs the assign permission and must stay within the
    actor's scope; otherwise PermissionDenied (403), and nothing is written.
    """
    from clientela.identity.selectors import assignable_owners_for, assignable_teams_for

    owner = owner or current_owner or actor
    if team is None and current_team is None and current_owner is None:
        team = owner.teams.order_by("name").first()
    elif team is None:
        team = current_team
    owner_changes = current_owner is None or owner.pk != current_owner.pk
    if (
        owner_changes
        and owner.pk != actor.pk
        and (
            not has_perm(actor, Perm.PARTIES_ASSIGN)
            or not assignable_owners_for(actor).filter(pk=owner.pk).exists()
        )
    ):
        raise PermissionDenied(
            _("Your role does not allow giving records to %(name)s.") % {"name": owner}
        )
    if not owner.is_active:
        raise PermissionDenied(
            _("%(name)s is deactivated and cannot own records.") % {"name": owner}
        )
    team_changes = team is not None and (current_team is None or team.pk != current_team.pk)
    if team_changes and not assignable_teams_for(actor).filter(pk=team.pk).exists():
        raise PermissionDenied(
            _("Your role does not allow giving records to the team %(team)s.") % {"team": team}
        )
    return owner, team
