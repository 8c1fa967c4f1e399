"""The visibility scope of each role, applied once by core.selectors and used everywhere."""

import pytest

from clientela.core.selectors import is_visible_to, visible_to
from clientela.parties.models import Contact
from clientela.parties.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(rep, rep_a2, rep_b, manager):
    """One contact per situation, named after it."""
    return {
        "own": ContactFactory(first_name="own", owner=rep),
        "team_shared": ContactFactory(first_name="team_shared", owner=rep_a2),
        "team_private": ContactFactory(
            first_name="team_private", owner=rep_a2, is_shared_with_team=False
        ),
        "other_team": ContactFactory(first_name="other_team", owner=rep_b),
        "manager_own": ContactFactory(first_name="manager_own", owner=manager),
    }


@pytest.mark.parametrize(
    ("role_fixture", "expected"),
    [
        ("admin_user", {"own", "team_shared", "team_private", "other_team", "manager_own"}),
        ("analyst", {"own", "team_shared", "team_private", "other_team", "manager_own"}),
        ("manager", {"own", "team_shared", "team_private", "manager_own"}),
        ("rep", {"own", "team_shared", "manager_own"}),
        ("rep_b", {"other_team"}),
        ("service_agent", {"own", "team_shared", "manager_own"}),
        ("marketer", {"own", "team_shared", "manager_own"}),
    ],
)
def test_each_role_sees_exactly_its_scope(request, records, role_fixture, expected):
    user = request.getfixturevalue(role_fixture)

    visible = set(visible_to(Contact.objects.all(), user).values_list("first_name", flat=True))

    assert visible == expected
    assert {name for name, record in records.items() if is_visible_to(record, user)} == expected


def test_inactive_and_anonymous_users_see_nothing(records, rep):
    from django.contrib.auth.models import AnonymousUser

    rep.is_active = False
    rep.save()

    assert visible_to(Contact.objects.all(), rep).count() == 0
    assert visible_to(Contact.objects.all(), AnonymousUser()).count() == 0
