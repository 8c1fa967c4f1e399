"""What each role may do, declared in one place.

A role grants a set of permissions and a visibility scope. Permissions answer "may this person do this
kind of thing at all" (403 when not); the scope answers "which records exist for this person" (anything
outside it answers 404, exactly like an id that does not exist). Selectors apply the scope, services check
both, and pages, the API, exports and counts all go through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from clientela.identity.models import User


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    MANAGER = "manager", _("Manager")
    REPRESENTATIVE = "representative", _("Representative")
    SERVICE_AGENT = "service_agent", _("Service agent")
    MARKETER = "marketer", _("Marketer")
    ANALYST = "analyst", _("Analyst")


class Scope(StrEnum):
    """Which owned records a role sees."""

    ALL = "all"
    # Records of every team the person belongs to, and their own.
    TEAMS = "teams"
    # Their own records, and their teams' records that are marked as shared with the team.
    OWN_AND_SHARED = "own_and_shared"


class Perm(StrEnum):
    PARTIES_VIEW = "parties.view"
    PARTIES_ADD = "parties.add"
    PARTIES_CHANGE = "parties.change"
    PARTIES_DELETE = "parties.delete"
    # Give a record to another owner or team (within one's scope).
    PARTIES_ASSIGN = "parties.assign"
    # Load many records from a file (and change existing ones that a row matches).
    PARTIES_IMPORT = "parties.import"
    # Take records out of Clientela as CSV, XLSX or vCard (only those one may see).
    PARTIES_EXPORT = "parties.export"
    # Merge duplicates into one record (and undo a merge).
    PARTIES_MERGE = "parties.merge"
    # Leads and deals (issue 4): see, create, change, delete, give to others, and close deals.
    SALES_VIEW = "sales.view"
    SALES_ADD = "sales.add"
    SALES_CHANGE = "sales.change"
    SALES_DELETE = "sales.delete"
    SALES_ASSIGN = "sales.assign"
    # Pipelines, stages, close reasons, assignment rules and web forms.
    SALES_CONFIGURE = "sales.configure"
    # Sales reports: stage durations, conversion, win rate, forecast.
    SALES_REPORTS = "sales.reports"
    # Calls, meetings, emails, notes and tasks on the records one may see.
    ACTIVITIES_VIEW = "activities.view"
    ACTIVITIES_ADD = "activities.add"
    TAGS_MANAGE = "tags.manage"
    CUSTOM_FIELDS_MANAGE = "custom_fields.manage"
    USERS_VIEW = "users.view"
    USERS_MANAGE = "users.manage"
    TEAMS_MANAGE = "teams.manage"
    AUDIT_VIEW = "audit.view"


@dataclass(frozen=True)
class RolePolicy:
    scope: Scope
    permissions: frozenset[Perm]


_READ = {Perm.PARTIES_VIEW, Perm.USERS_VIEW, Perm.SALES_VIEW, Perm.ACTIVITIES_VIEW}
_WRITE = _READ | {
    Perm.PARTIES_ADD,
    Perm.PARTIES_CHANGE,
    Perm.SALES_ADD,
    Perm.SALES_CHANGE,
    Perm.ACTIVITIES_ADD,
}

ROLE_POLICIES: dict[str, RolePolicy] = {
    Role.ADMINISTRATOR: RolePolicy(Scope.ALL, frozenset(Perm)),
    Role.MANAGER: RolePolicy(
        Scope.TEAMS,
        frozenset(
            _WRITE
            | {
                Perm.PARTIES_DELETE,
                Perm.PARTIES_ASSIGN,
                Perm.PARTIES_IMPORT,
                Perm.PARTIES_EXPORT,
                Perm.PARTIES_MERGE,
                Perm.TAGS_MANAGE,
                Perm.SALES_DELETE,
                Perm.SALES_ASSIGN,
                Perm.SALES_REPORTS,
            }
        ),
    ),
    Role.REPRESENTATIVE: RolePolicy(Scope.OWN_AND_SHARED, frozenset(_WRITE)),
    Role.SERVICE_AGENT: RolePolicy(Scope.OWN_AND_SHARED, frozenset(_WRITE)),
    Role.MARKETER: RolePolicy(
        Scope.OWN_AND_SHARED,
        frozenset(_WRITE | {Perm.TAGS_MANAGE, Perm.PARTIES_IMPORT, Perm.PARTIES_EXPORT}),
    ),
    Role.ANALYST: RolePolicy(
        Scope.ALL,
        frozenset(_READ | {Perm.AUDIT_VIEW, Perm.PARTIES_EXPORT, Perm.SALES_REPORTS}),
    ),
}


def policy_of(user: User | Any) -> RolePolicy | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return ROLE_POLICIES.get(user.role)


def has_perm(user: User | Any, perm: Perm) -> bool:
    policy = policy_of(user)
    return policy is not None and perm in policy.permissions


def require_perm(user: User | Any, perm: Perm) -> None:
    """Raise PermissionDenied (403) unless the user's role grants ``perm``."""
    if not has_perm(user, perm):
        raise PermissionDenied(_("Your role does not allow this."))


def scope_of(user: User | Any) -> Scope | None:
    policy = policy_of(user)
    return policy.scope if policy else None
