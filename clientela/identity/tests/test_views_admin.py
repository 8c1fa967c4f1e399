"""Administration pages: users (list, invite, edit, deactivate, reactivate) and teams."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clientela.core.models import Event
from clientela.core.selectors import events_of
from clientela.identity.models import Team, User
from clientela.identity.services import api_token_create
from clientela.identity.tests.factories import TeamFactory, UserFactory
from clientela.parties.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    ("get", "/settings/users/"),
    ("get", "/settings/users/invite/"),
    ("get", "/settings/users/{rep}/"),
    ("get", "/settings/users/{rep}/deactivate/"),
    ("get", "/settings/teams/"),
    ("get", "/settings/teams/new/"),
    ("get", "/settings/teams/{team}/"),
    ("get", "/settings/teams/{team}/delete/"),
]


@pytest.mark.parametrize(
    "role_fixture", ["manager", "rep_a2", "analyst", "service_agent", "marketer"]
)
@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_administration_pages_are_for_administrators_only(
    request, client, rep, team_a, role_fixture, method, url
):
    client.force_login(request.getfixturevalue(role_fixture))

    response = getattr(client, method)(url.format(rep=rep.pk, team=team_a.pk))

    assert response.status_code == 403


def test_non_administrators_posting_change_nothing(client, manager, rep, team_a, mailoutbox):
    client.force_login(manager)

    responses = [
        client.post(
            "/settings/users/invite/",
            {"email": "x@example.com", "full_name": "X", "role": "representative"},
        ),
        client.post(f"/settings/users/{rep.pk}/", {"full_name": "Hacked", "role": "administrator"}),
        client.post(f"/settings/users/{rep.pk}/deactivate/"),
        client.post("/settings/teams/new/", {"name": "Mine"}),
        client.post(f"/settings/teams/{team_a.pk}/", {"name": "Renamed"}),
        client.post(f"/settings/teams/{team_a.pk}/delete/"),
    ]

    assert [response.status_code for response in responses] == [403] * 6
    rep.refresh_from_db()
    team_a.refresh_from_db()
    assert (rep.full_name, rep.role, rep.is_active) == ("Rep", "representative", True)
    assert list(Team.objects.values_list("name", flat=True)) == ["Team A"]
    assert User.objects.filter(email="x@example.com").exists() is False
    assert Event.objects.count() == 0
    assert mailoutbox == []


def test_administration_needs_a_login(client):
    response = client.get("/settings/users/")

    assert response.status_code == 302
    assert response.url == "/login/?next=/settings/users/"


# User list


def names(response):
    return [user.full_name for user in response.context["page"]]


@pytest.fixture
def directory(admin_user, team_a, team_b):
    """Four more users: different roles, teams, last logins; one deactivated."""
    UserFactory(full_name="Carla", email="carla@example.com", role="manager", teams=[team_a])
    UserFactory(
        full_name="bruno",
        email="zed@example.com",
        role="analyst",
        last_login=datetime(2026, 3, 1, tzinfo=UTC),
    )
    UserFactory(
        full_name="Dana",
        email="dana@example.com",
        role="representative",
        teams=[team_b],
        last_login=datetime(2026, 4, 1, tzinfo=UTC),
    )
    UserFactory(full_name="Eve", email="eve@example.com", is_active=False, teams=[team_a])


def test_user_list_sorts_by_name_by_default(client, admin_user, directory):
    client.force_login(admin_user)

    response = client.get("/settings/users/")

    assert response.status_code == 200
    assert names(response) == ["Admin", "bruno", "Carla", "Dana", "Eve"]
    assert "5 users" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("role=manager", ["Carla"]),
        ("role=representative", ["Dana", "Eve"]),
        ("team={team_a}", ["Carla", "Eve"]),
        ("status=active", ["Admin", "bruno", "Carla", "Dana"]),
        ("status=deactivated", ["Eve"]),
        ("team={team_a}&status=active", ["Carla"]),
        ("q=DANA", ["Dana"]),
        ("q=zed@", ["bruno"]),
        ("sort=email", ["Admin", "Carla", "Dana", "Eve", "bruno"]),
        ("sort=-name", ["Eve", "Dana", "Carla", "bruno", "Admin"]),
        ("sort=role", ["Admin", "bruno", "Carla", "Dana", "Eve"]),
        ("sort=-last_login", ["Admin", "Dana", "bruno", "Eve", "Carla"]),
        ("sort=last_login", ["bruno", "Dana", "Admin", "Carla", "Eve"]),
        ("sort=password", ["Admin", "bruno", "Carla", "Dana", "Eve"]),
    ],
)
def test_user_list_filters_and_sorts(client, admin_user, team_a, directory, query, expected):
    client.force_login(admin_user)

    response = client.get(f"/settings/users/?{query.format(team_a=team_a.pk)}")

    assert response.status_code == 200
    assert names(response) == expected


def test_user_list_links_keep_the_filters_and_toggle_the_sort(client, admin_user, directory):
    client.force_login(admin_user)

    html = client.get("/settings/users/?role=manager&sort=email").content.decode()

    assert 'href="?role=manager&amp;sort=-email"' in html
    assert 'href="?role=manager&amp;sort=name"' in html
    assert 'aria-sort="ascending"' in html


def test_user_list_paginates(client, admin_user, settings):
    settings.CLIENTELA_LIST_PAGE_SIZE = 50
    UserFactory.create_batch(59)
    client.force_login(admin_user)

    first = client.get("/settings/users/")
    second = client.get("/settings/users/?page=2")

    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 10
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()


def user_list_queries(client, count):
    teams = [TeamFactory(name=f"Team {n}") for n in range(3)]
    UserFactory.create_batch(count, teams=teams)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/settings/users/")
    assert response.status_code == 200
    return len(queries)


def test_user_list_query_count_does_not_grow_with_the_users(client, admin_user):
    client.force_login(admin_user)

    with_ten = user_list_queries(client, 9)
    User.objects.exclude(pk=admin_user.pk).delete()
    with_hundred = user_list_queries(client, 99)

    assert with_ten == with_hundred, (with_ten, with_hundred)
    assert with_ten == 9


# Invitations


def test_invite_creates_the_user_and_the_emailed_link_lets_them_choose_a_password_and_log_in(
    client, admin_user, team_a, team_b, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/users/invite/",
            {
                "email": "Ana@Example.com",
                "full_name": "Ana Ruiz",
                "role": "manager",
                "teams": [team_a.pk, team_b.pk],
                "language": "es",
            },
            follow=True,
        )

    assert response.redirect_chain == [("/settings/users/", 302)]
    assert (
        "Ana Ruiz was invited: an email with a link to choose a password is on its way to ana@example.com."
        in response.content.decode()
    )
    ana = User.objects.get(email="ana@example.com")
    assert (ana.full_name, ana.role, ana.language, ana.invited_by) == (
        "Ana Ruiz",
        "manager",
        "es",
        admin_user,
    )
    assert list(ana.teams.all()) == [team_a, team_b]
    assert ana.has_usable_password() is False
    assert [event.kind for event in events_of(ana)] == ["user.invited"]
    assert len(mailoutbox) == 1
    invitation = mailoutbox[0]
    assert invitation.to == ["ana@example.com"]
    assert invitation.extra_headers["Content-Language"] == "es"
    link = re.search(r"http://127\.0\.0\.1:8000(/password/reset/\S+/)", invitation.body).group(1)

    guest = Client()
    form_page = guest.get(link)
    assert form_page.status_code == 302
    assert guest.get(form_page.url).context["validlink"] is True
    done = guest.post(
        form_page.url, {"new_password1": "ana-chooses-this", "new_password2": "ana-chooses-this"}
    )
    assert done.url == "/password/reset/done/"
    logged_in = guest.post(
        "/login/", {"username": "ana@example.com", "password": "ana-chooses-this"}
    )
    assert logged_in.status_code == 302
    assert logged_in.url == "/"


def test_invitation_email_names_the_inviter(
    client, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/settings/users/invite/",
            {"email": "bo@example.com", "full_name": "Bo", "role": "analyst", "language": ""},
        )

    assert mailoutbox[0].subject == "Admin invited you to Clientela"
    assert mailoutbox[0].body.startswith("Hello Bo,\n\nAdmin invited you to Clientela")
    assert "Afterwards you log in with your email address, bo@example.com" in mailoutbox[0].body


def test_invite_with_an_email_in_use_shows_the_error_under_the_email(client, admin_user, rep):
    client.force_login(admin_user)

    response = client.post(
        "/settings/users/invite/",
        {"email": "rep@example.com", "full_name": "Second Rep", "role": "representative"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["A user with this email already exists."]}
    assert User.objects.filter(full_name="Second Rep").exists() is False


# Editing, deactivating, reactivating


def test_edit_changes_name_role_and_teams(client, admin_user, rep, team_a, team_b):
    client.force_login(admin_user)

    form = client.get(f"/settings/users/{rep.pk}/")
    response = client.post(
        f"/settings/users/{rep.pk}/",
        {"full_name": "Rep Senior", "role": "manager", "teams": [team_b.pk]},
    )

    assert form.context["form"].initial["teams"] == [team_a]
    assert response.status_code == 302
    assert response.url == "/settings/users/"
    rep.refresh_from_db()
    assert (rep.full_name, rep.role) == ("Rep Senior", "manager")
    assert list(rep.teams.all()) == [team_b]
    changed = events_of(rep).get(kind="user.changed")
    assert changed.data["changes"]["role"] == {"old": "representative", "new": "manager"}


def test_administrator_cannot_change_own_role_and_the_error_shows_under_role(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        f"/settings/users/{admin_user.pk}/", {"full_name": "Admin", "role": "analyst"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"role": ["You cannot change your own role."]}
    admin_user.refresh_from_db()
    assert admin_user.role == "administrator"
    assert Event.objects.count() == 0


def test_edit_of_a_missing_user_answers_404(client, admin_user):
    client.force_login(admin_user)

    assert client.get("/settings/users/999999/").status_code == 404


def test_deactivate_asks_first_then_ends_sessions_and_tokens(client, admin_user, rep, api_client):
    issued = api_token_create(actor=rep, name="Script")
    reps_browser = Client()
    reps_browser.force_login(rep)
    assert reps_browser.get("/me/").status_code == 200
    assert api_client.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {issued.key}").status_code == 200
    client.force_login(admin_user)

    confirm = client.get(f"/settings/users/{rep.pk}/deactivate/")
    rep.refresh_from_db()
    assert confirm.status_code == 200
    assert rep.is_active is True

    response = client.post(f"/settings/users/{rep.pk}/deactivate/")

    assert response.status_code == 302
    assert response.url == "/settings/users/"
    rep.refresh_from_db()
    assert rep.is_active is False
    after = reps_browser.get("/me/")
    assert after.status_code == 302
    assert after.url == "/login/?next=/me/"
    assert api_client.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {issued.key}").status_code == 401
    assert [event.kind for event in events_of(rep)][:1] == ["user.deactivated"]


def test_administrator_cannot_deactivate_themselves(client, admin_user):
    client.force_login(admin_user)

    response = client.post(f"/settings/users/{admin_user.pk}/deactivate/")

    assert response.status_code == 400
    assert "You cannot deactivate yourself." in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active is True


def test_reactivate_lets_the_user_log_in_again(client, admin_user):
    gone = UserFactory(email="gone@example.com", full_name="Gone", is_active=False)
    client.force_login(admin_user)

    confirm = client.get(f"/settings/users/{gone.pk}/reactivate/")
    response = client.post(f"/settings/users/{gone.pk}/reactivate/", follow=True)

    assert confirm.status_code == 200
    assert response.redirect_chain == [("/settings/users/", 302)]
    assert "Gone can log in again." in response.content.decode()
    gone.refresh_from_db()
    assert gone.is_active is True
    assert (
        Client()
        .post("/login/", {"username": "gone@example.com", "password": "correct-horse-battery"})
        .status_code
        == 302
    )


# Teams


def test_team_list_shows_teams_and_members(client, admin_user, rep, rep_b):
    client.force_login(admin_user)

    response = client.get("/settings/teams/")

    assert response.status_code == 200
    assert [team.name for team in response.context["teams"]] == ["Team A", "Team B"]
    html = response.content.decode()
    assert '<span class="tag">Rep</span>' in html
    assert '<span class="tag">Repb</span>' in html


def test_team_create_with_members(client, admin_user, rep, rep_b):
    client.force_login(admin_user)

    response = client.post(
        "/settings/teams/new/",
        {"name": "Key accounts", "description": "The ten largest", "members": [rep.pk, rep_b.pk]},
    )

    assert response.status_code == 302
    assert response.url == "/settings/teams/"
    team = Team.objects.get(name="Key accounts")
    assert team.description == "The ten largest"
    assert set(team.members.all()) == {rep, rep_b}
    assert [event.kind for event in events_of(team)] == ["team.created"]


def test_team_create_with_a_name_in_use_shows_the_error_under_the_name(client, admin_user, team_a):
    client.force_login(admin_user)

    response = client.post("/settings/teams/new/", {"name": "TEAM A"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["A team with this name already exists."]}
    assert Team.objects.count() == 1


def test_team_edit_changes_name_description_and_members(client, admin_user, rep, rep_b, team_a):
    client.force_login(admin_user)

    response = client.post(
        f"/settings/teams/{team_a.pk}/",
        {"name": "Team Alpha", "description": "", "members": [rep_b.pk]},
    )

    assert response.status_code == 302
    team_a.refresh_from_db()
    assert team_a.name == "Team Alpha"
    assert list(team_a.members.all()) == [rep_b]


def test_team_edit_offers_deactivated_members_so_saving_keeps_them(client, admin_user, team_a):
    gone = UserFactory(full_name="Gone", is_active=False, teams=[team_a])
    UserFactory(full_name="Elsewhere gone", is_active=False)
    client.force_login(admin_user)

    form = client.get(f"/settings/teams/{team_a.pk}/").context["form"]

    offered = {user.full_name for user in form.fields["members"].queryset}
    assert "Gone" in offered
    assert "Elsewhere gone" not in offered
    assert form.initial["members"] == [gone]


def test_team_delete_asks_first_then_deletes(client, admin_user, team_b):
    client.force_login(admin_user)

    confirm = client.get(f"/settings/teams/{team_b.pk}/delete/")
    assert confirm.status_code == 200
    assert Team.objects.filter(pk=team_b.pk).exists() is True

    response = client.post(f"/settings/teams/{team_b.pk}/delete/", follow=True)

    assert response.redirect_chain == [("/settings/teams/", 302)]
    assert "The team Team B was deleted." in response.content.decode()
    assert Team.objects.filter(pk=team_b.pk).exists() is False


def test_team_delete_is_refused_with_a_clear_message_while_records_belong_to_it(
    client, admin_user, rep, team_a
):
    OrganizationFactory(owner=rep, team=team_a)
    client.force_login(admin_user)

    response = client.post(f"/settings/teams/{team_a.pk}/delete/")

    assert response.status_code == 409
    assert (
        "Records still belong to this team: give them to another team first."
        in response.content.decode()
    )
    assert Team.objects.filter(pk=team_a.pk).exists() is True
    assert Event.objects.filter(kind="team.deleted").count() == 0
