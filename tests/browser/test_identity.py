"""Logging in and out, the interface language, API tokens and invitations, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from clientela.identity.models import ApiToken, User
from clientela.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def person(db):
    return UserFactory(email="ana@example.com", full_name="Ana Ruiz", role="representative")


def test_log_in_through_the_form_and_see_the_home_page(page, person):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    page.get_by_label("Email").fill("ANA@example.com")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Welcome, Ana")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("user-menu")).to_have_text("Ana")


def test_a_wrong_password_keeps_you_on_the_login_page(page, person):
    page.goto("/login/")

    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(
        page.get_by_text("This email and password do not match an active account.")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_switch_to_spanish_on_the_profile_page(page, login, person):
    login(person)
    page.goto("/me/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Language").select_option("es")
    page.get_by_label("Time zone").select_option("Europe/Madrid")
    page.locator("form[action='/me/'] button[type=submit]").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_label("Idioma")).to_have_value("es")
    expect(page.get_by_role("link", name="Contactos", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Organizaciones", exact=True)).to_be_visible()
    page.goto("/contacts/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Contactos")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_text("Ana")
    person.refresh_from_db()
    assert (person.language, person.time_zone) == ("es", "Europe/Madrid")


def test_log_out_from_the_user_menu(page, login, person):
    login(person)

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_text("You have logged out.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_create_an_api_token_see_it_once_then_revoke_it(page, login, person):
    login(person)
    page.goto("/me/tokens/")

    page.get_by_role("button", name="New token").click()
    page.get_by_label("Name").fill("Accounting export")
    page.get_by_role("button", name="Create the token").click()

    expect(page.get_by_text("Copy the token now: it will not be shown again.")).to_be_visible()
    key = page.get_by_test_id("token-key").input_value()
    assert key.startswith("clt_")
    page.get_by_role("button", name="I have copied it").click()
    row = page.get_by_test_id("token-row")
    expect(row).to_contain_text("Accounting export")
    expect(row).to_contain_text("Active")
    expect(page.locator("body")).not_to_contain_text(key)

    row.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke").click()

    expect(page.get_by_text("The token “Accounting export” was revoked.")).to_be_visible()
    expect(page.get_by_test_id("token-row")).to_contain_text("Revoked")
    assert ApiToken.objects.get().revoked_at is not None


def test_administrator_invites_a_user(page, login, team_a):
    admin = UserFactory(email="boss@example.com", full_name="Boss", role="administrator")
    login(admin)
    page.goto("/settings/users/")

    page.get_by_role("button", name="Invite a user").click()
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Full name").fill("New Person")
    page.get_by_label("Role").select_option("manager")
    page.get_by_label("Team A").check()
    page.get_by_role("button", name="Send the invitation").click()

    expect(page.get_by_text("New Person was invited")).to_be_visible()
    expect(page.get_by_role("link", name="New Person")).to_be_visible()
    invited = User.objects.get(email="new@example.com")
    assert (invited.role, invited.has_usable_password()) == ("manager", False)
    assert [team.name for team in invited.teams.all()] == ["Team A"]


def test_the_login_page_follows_the_browsers_language(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="da-DK")
    page = context.new_page()

    page.goto("/login/")

    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.get_by_label("E-mail")).to_be_visible()
    expect(page.get_by_role("button", name="Log ind")).to_be_visible()
    context.close()
