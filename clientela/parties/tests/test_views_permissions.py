"""Who may do what on the organization and contact pages.

Visibility: administrators and analysts see everything (analysts read only); a manager sees records they
own or whose team is one of theirs; representatives, service agents and marketers see their own records
and their teams' records shared with the team. Only administrators and managers delete. A record outside
one's scope answers 404 for every page; a visible record one may not change answers 403.
"""

import pytest
from django.urls import reverse

from clientela.core.models import Event
from clientela.parties.models import Contact, Organization
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SHOWN, HIDDEN = True, False

# role fixture, record, (in the list, detail, edit GET, edit POST, delete GET, delete POST)
MATRIX = [
    ("admin_user", "own", (SHOWN, 200, 200, 302, 200, 302)),
    ("admin_user", "team", (SHOWN, 200, 200, 302, 200, 302)),
    ("admin_user", "other_team", (SHOWN, 200, 200, 302, 200, 302)),
    ("manager", "own", (SHOWN, 200, 200, 302, 200, 302)),
    ("manager", "team", (SHOWN, 200, 200, 302, 200, 302)),
    ("manager", "other_team", (HIDDEN, 404, 404, 404, 404, 404)),
    ("rep", "own", (SHOWN, 200, 200, 302, 403, 403)),
    ("rep", "team", (SHOWN, 200, 200, 302, 403, 403)),
    ("rep", "other_team", (HIDDEN, 404, 404, 404, 404, 404)),
    ("service_agent", "own", (SHOWN, 200, 200, 302, 403, 403)),
    ("service_agent", "team", (SHOWN, 200, 200, 302, 403, 403)),
    ("service_agent", "other_team", (HIDDEN, 404, 404, 404, 404, 404)),
    ("marketer", "own", (SHOWN, 200, 200, 302, 403, 403)),
    ("marketer", "team", (SHOWN, 200, 200, 302, 403, 403)),
    ("marketer", "other_team", (HIDDEN, 404, 404, 404, 404, 404)),
    ("analyst", "own", (SHOWN, 200, 403, 403, 403, 403)),
    ("analyst", "team", (SHOWN, 200, 403, 403, 403, 403)),
    ("analyst", "other_team", (SHOWN, 200, 403, 403, 403, 403)),
]
ACTIONS = ("list", "detail", "edit_get", "edit_post", "delete_get", "delete_post")
CASES = [
    pytest.param(kind, role, record, action, expected[index], id=f"{kind}-{role}-{record}-{action}")
    for kind in ("contact", "organization")
    for role, record, expected in MATRIX
    for index, action in enumerate(ACTIONS)
]
MODELS = {"contact": Contact, "organization": Organization}


def _record(kind, which, user, rep_a2, rep_b):
    """The user's own record, a record shared in team A (owned by rep_a2), or team B's record."""
    owner = {"own": user, "team": rep_a2, "other_team": rep_b}[which]
    if kind == "contact":
        return ContactFactory(
            first_name="Target", last_name="Record", owner=owner, is_shared_with_team=True
        )
    return OrganizationFactory(name="Target Record", owner=owner, is_shared_with_team=True)


def _edit_data(kind, record):
    common = {"version": str(record.version), "is_shared_with_team": "on"}
    if kind == "organization":
        return {**common, "name": "Changed Record", "currency": "USD"}
    management = {
        f"{prefix}-{name}": "0"
        for prefix in ("emails", "phones", "organizations")
        for name in ("TOTAL_FORMS", "INITIAL_FORMS")
    }
    return {
        **common,
        **management,
        "first_name": "Changed",
        "last_name": "Record",
        "lifecycle_stage": "lead",
    }


def _state(kind, record):
    """What a refused request must leave as it was."""
    row = MODELS[kind].objects.filter(pk=record.pk).values("version", "updated_at").first()
    return row, Event.objects.count()


@pytest.mark.parametrize(("kind", "role", "which", "action", "expected"), CASES)
def test_page_permissions(client, request, rep_a2, rep_b, kind, role, which, action, expected):
    user = request.getfixturevalue(role)
    record = _record(kind, which, user, rep_a2, rep_b)
    client.force_login(user)
    before = _state(kind, record)

    if action == "list":
        response = client.get(reverse(f"parties:{kind}_list"))
        assert response.status_code == 200
        assert ("Target Record" in response.content.decode()) is expected
        return
    if action == "detail":
        response = client.get(reverse(f"parties:{kind}_detail", args=[record.pk]))
    elif action == "edit_get":
        response = client.get(reverse(f"parties:{kind}_edit", args=[record.pk]))
    elif action == "edit_post":
        response = client.post(
            reverse(f"parties:{kind}_edit", args=[record.pk]), _edit_data(kind, record)
        )
    elif action == "delete_get":
        response = client.get(reverse(f"parties:{kind}_delete", args=[record.pk]))
    else:
        response = client.post(reverse(f"parties:{kind}_delete", args=[record.pk]))

    assert response.status_code == expected
    after = _state(kind, record)
    if expected == 302 and action == "edit_post":
        assert after[0]["version"] == before[0]["version"] + 1
    elif expected == 302 and action == "delete_post":
        assert after[0] is None
    else:
        assert after == before


@pytest.mark.parametrize("role", ["manager", "rep", "service_agent", "marketer", "analyst"])
def test_only_administrators_manage_custom_fields_and_only_adders_see_the_create_pages(
    client, request, role
):
    user = request.getfixturevalue(role)
    client.force_login(user)

    custom_fields = client.get(reverse("core:custom_field_list"))
    new_contact = client.get(reverse("parties:contact_create"))
    new_organization = client.get(reverse("parties:organization_create"))

    expected_create = 403 if role == "analyst" else 200
    assert (custom_fields.status_code, new_contact.status_code, new_organization.status_code) == (
        403,
        expected_create,
        expected_create,
    )


def test_analyst_cannot_create_through_the_page(client, analyst):
    client.force_login(analyst)

    response = client.post(
        reverse("parties:contact_create"), _edit_data("contact", Contact(version=1))
    )

    assert response.status_code == 403
    assert Contact.objects.count() == 0


def test_list_pages_hide_the_new_button_from_read_only_roles(client, analyst, rep):
    client.force_login(analyst)
    analyst_page = client.get(reverse("parties:contact_list")).content.decode()
    client.force_login(rep)
    rep_page = client.get(reverse("parties:contact_list")).content.decode()

    assert 'data-testid="new-contact"' not in analyst_page
    assert 'data-testid="new-contact"' in rep_page


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("parties:contact_list"))

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/contacts/"


def test_filter_choices_offer_only_visible_organizations(client, rep, rep_b):
    hidden = OrganizationFactory(name="Hidden Org", owner=rep_b)
    ContactFactory(first_name="Ana", last_name="Visible", owner=rep)
    client.force_login(rep)

    response = client.get(reverse("parties:contact_list"), {"organization": hidden.pk})

    assert "Hidden Org" not in response.content.decode()
    assert list(response.context["filterset"].errors) == ["organization"]
