"""Logging in and out, login throttling, forgotten passwords, password changes, language and sessions."""

import importlib.util
import re
import sys
import zoneinfo
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

import clientela.settings as settings_module
from clientela.core.selectors import events_of
from clientela.identity.tests.factories import PASSWORD, UserFactory

LOGIN = "/login/"


def login_post(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def html_lang(response):
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


def link_in(body):
    return re.search(r"http://127\.0\.0\.1:8000(/password/reset/\S+/)", body).group(1)


# Logging in and out


def test_login_page_asks_for_email_and_password(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Email</label>' in html
    assert 'name="username"' in html
    assert 'type="email"' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button type="submit">Log in</button>' in html
    assert reverse("identity:password_reset") in html


def test_login_with_email_in_any_case_goes_home_and_records_the_event(client, rep):
    response = login_post(client, "  REP@Example.com ")

    assert response.status_code == 302
    assert response.url == "/"
    assert client.session[SESSION_KEY] == str(rep.pk)
    assert [event.kind for event in events_of(rep)] == ["user.logged_in"]
    rep.refresh_from_db()
    assert rep.last_login is not None


def test_login_follows_next(client, rep):
    response = client.post(
        f"{LOGIN}?next=/me/", {"username": rep.email, "password": PASSWORD, "next": "/me/"}
    )

    assert response.status_code == 302
    assert response.url == "/me/"


def test_login_with_a_wrong_password_shows_an_error_and_stays_anonymous(client, rep):
    response = login_post(client, rep.email, "wrong-password")

    assert response.status_code == 200
    assert "This email and password do not match an active account." in response.content.decode()
    assert SESSION_KEY not in client.session
    assert [event.kind for event in events_of(rep)] == []


def test_deactivated_user_cannot_log_in(client, db):
    gone = UserFactory(email="gone@example.com", is_active=False)

    response = login_post(client, gone.email)

    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_logged_in_user_visiting_login_goes_home(client, rep):
    client.force_login(rep)

    response = client.get(LOGIN)

    assert response.status_code == 302
    assert response.url == "/"


def test_logout_is_a_post_and_ends_the_session(client, rep):
    client.force_login(rep)

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/", follow=True)

    assert response.redirect_chain == [("/login/", 302)]
    assert "You have logged out." in response.content.decode()
    assert SESSION_KEY not in client.session
    assert client.get("/").status_code == 302


# Login throttling (django-axes)


def test_five_failures_lock_the_account_from_that_address_even_for_the_right_password(client, rep):
    statuses = [login_post(client, rep.email, f"wrong-{n}").status_code for n in range(5)]

    response = login_post(client, rep.email, PASSWORD)

    assert statuses == [200, 200, 200, 200, 429]
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    html = response.content.decode()
    assert (
        "The account rep@example.com is locked for 15 minutes from this address after too many failed login attempts."
        in html
    )
    assert SESSION_KEY not in client.session
    # The refused sixth attempt counts too (and restarts the cool-off).
    assert AccessAttempt.objects.get().failures_since_start == 6


def test_lockout_counts_the_email_whatever_its_case(client, rep):
    for email in ("rep@example.com", "REP@example.com", "Rep@Example.com", "rep@EXAMPLE.com"):
        login_post(client, email, "wrong")

    response = login_post(client, "REP@EXAMPLE.COM", "wrong")

    assert response.status_code == 429


def test_lockout_spares_other_accounts_from_the_same_address(client, rep, rep_a2):
    for n in range(5):
        login_post(client, rep.email, f"wrong-{n}")

    response = login_post(client, rep_a2.email)

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(rep_a2.pk)


def test_lockout_spares_the_same_account_from_another_address(client, rep):
    for n in range(5):
        login_post(client, rep.email, f"wrong-{n}")

    response = login_post(client, rep.email, REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(rep.pk)


def test_a_successful_login_resets_the_failure_count(client, rep):
    for n in range(4):
        login_post(client, rep.email, f"wrong-{n}")
    login_post(client, rep.email)
    client.post("/logout/")

    response = login_post(client, rep.email, "wrong-again")

    assert response.status_code == 200
    assert AccessAttempt.objects.count() == 1
    assert AccessAttempt.objects.get().failures_since_start == 1


# Forgotten password


def test_password_reset_emails_a_link_that_sets_a_new_password(
    client, rep, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password/reset/", {"email": "Rep@Example.com"})

    assert response.status_code == 302
    assert response.url == "/password/reset/sent/"
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["rep@example.com"]
    assert email.subject == "Choose a new Clientela password"
    assert email.extra_headers["Content-Language"] == "en"

    form_page = client.get(link_in(email.body))
    assert form_page.status_code == 302
    assert form_page.url.endswith("/set-password/")
    response = client.post(
        form_page.url,
        {"new_password1": "a-brand-new-secret", "new_password2": "a-brand-new-secret"},
    )

    assert response.status_code == 302
    assert response.url == "/password/reset/done/"
    rep.refresh_from_db()
    assert rep.check_password("a-brand-new-secret") is True
    assert [event.kind for event in events_of(rep)] == ["user.password_changed"]
    assert client.get(link_in(email.body)).context["validlink"] is False
    assert login_post(Client(), rep.email, "a-brand-new-secret").status_code == 302


def test_password_reset_answers_the_same_for_an_unknown_email_and_sends_nothing(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password/reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response.url == "/password/reset/sent/"
    assert mailoutbox == []


def test_password_reset_email_is_in_the_users_language_and_time_zone(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(email="ana@example.com", language="es", time_zone="America/Mexico_City")
    zone = zoneinfo.ZoneInfo("America/Mexico_City")

    def spanish_day(moment):
        with translation.override("es"):
            return formats.date_format(timezone.localtime(moment, zone), "DATE_FORMAT")

    timeout = timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    before = timezone.now() + timeout
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", {"email": "ana@example.com"}, HTTP_ACCEPT_LANGUAGE="en")
    after = timezone.now() + timeout

    email = mailoutbox[0]
    assert email.extra_headers["Content-Language"] == "es"
    assert any(day in email.body for day in {spanish_day(before), spanish_day(after)})
    assert " de " in spanish_day(before)
    assert "(America/Mexico_City)" in email.body


def test_password_reset_email_follows_the_browser_when_the_user_chose_no_language(
    client, rep, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", {"email": rep.email}, HTTP_ACCEPT_LANGUAGE="da")

    assert mailoutbox[0].extra_headers["Content-Language"] == "da"


def test_password_reset_link_of_a_deactivated_user_does_not_work(
    client, admin_user, rep, mailoutbox, django_capture_on_commit_callbacks
):
    from clientela.identity.services import user_deactivate

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", {"email": rep.email})
    user_deactivate(actor=admin_user, user=rep)

    response = client.get(link_in(mailoutbox[0].body))

    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert "This link does not work any more" in response.content.decode()


def test_password_reset_link_with_a_forged_token_does_not_work(client, rep):
    response = client.get(
        reverse("identity:password_reset_confirm", kwargs={"uidb64": "MQ", "token": "abc-def"})
    )

    assert response.status_code == 200
    assert response.context["validlink"] is False


# Changing one's own password


def test_password_change_keeps_this_session_and_ends_the_others(client, rep):
    client.force_login(rep)
    elsewhere = Client()
    elsewhere.force_login(rep)

    response = client.post(
        "/me/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-secret",
            "new_password2": "a-brand-new-secret",
        },
    )

    assert response.status_code == 302
    assert response.url == "/me/"
    rep.refresh_from_db()
    assert rep.check_password("a-brand-new-secret") is True
    assert [event.kind for event in events_of(rep)] == ["user.password_changed"]
    assert client.get("/me/").status_code == 200
    other = elsewhere.get("/me/")
    assert other.status_code == 302
    assert other.url == "/login/?next=/me/"


def test_password_change_with_a_wrong_current_password_changes_nothing(client, rep):
    client.force_login(rep)

    response = client.post(
        "/me/password/",
        {
            "old_password": "not-it",
            "new_password1": "a-brand-new-secret",
            "new_password2": "a-brand-new-secret",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["old_password"] == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD) is True
    assert [event.kind for event in events_of(rep)] == []


def test_password_change_applies_the_password_validators(client, rep):
    client.force_login(rep)

    response = client.post(
        "/me/password/",
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )

    assert response.status_code == 200
    assert (
        "This password is too short. It must contain at least 10 characters."
        in (response.context["form"].errors["new_password2"])
    )
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD) is True


def test_password_change_needs_a_login(client):
    response = client.get("/me/password/")

    assert response.status_code == 302
    assert response.url == "/login/?next=/me/password/"


# Language


def test_login_page_follows_accept_language(client):
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="es")

    assert response.wsgi_request.LANGUAGE_CODE == "es"
    assert html_lang(response) == "es"
    assert html_lang(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="da,en;q=0.5")) == "da"
    assert html_lang(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="fr")) == "en"


def test_language_chosen_before_login_sticks_through_the_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "hi", "next": LOGIN})

    assert response.status_code == 302
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="es")
    assert html_lang(page) == "hi"


def test_users_own_language_wins_over_accept_language(client, db):
    user = UserFactory(language="da")
    client.force_login(user)

    response = client.get("/me/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.wsgi_request.LANGUAGE_CODE == "da"
    assert html_lang(response) == "da"


def test_user_without_a_language_follows_accept_language(client, rep):
    client.force_login(rep)

    response = client.get("/me/", HTTP_ACCEPT_LANGUAGE="es")

    assert html_lang(response) == "es"


# Sessions


def test_session_cookie_lasts_the_idle_time_and_every_request_pushes_it_forward(client, rep):
    client.force_login(rep)

    first = client.get("/me/")
    session_key = first.cookies[settings.SESSION_COOKIE_NAME].value
    first_expiry = Session.objects.get(session_key=session_key).expire_date
    second = client.get("/me/")

    cookie = second.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert Session.objects.get(session_key=cookie.value).expire_date > first_expiry


def test_session_idle_time_defaults_to_eight_hours():
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def load_settings(monkeypatch, tmp_path, **environment):
    """A fresh copy of clientela/settings.py evaluated under ``environment``."""
    monkeypatch.setenv("CLIENTELA_SECRET_KEY", "test-only")
    monkeypatch.setenv("CLIENTELA_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("CLIENTELA_DEBUG", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", settings_module.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop("settings_under_test", None)
    return module


def test_cookies_are_secure_when_debug_is_off(monkeypatch, tmp_path):
    production = load_settings(monkeypatch, tmp_path)

    assert production.DEBUG is False
    assert production.SESSION_COOKIE_SECURE is True
    assert production.CSRF_COOKIE_SECURE is True
    assert production.LANGUAGE_COOKIE_SECURE is True
    assert production.SESSION_COOKIE_HTTPONLY is True
    assert production.CSRF_COOKIE_HTTPONLY is True


def test_cookies_are_not_secure_in_debug_mode(monkeypatch, tmp_path):
    development = load_settings(monkeypatch, tmp_path, CLIENTELA_DEBUG="1")

    assert development.DEBUG is True
    assert development.SESSION_COOKIE_SECURE is False
    assert development.CSRF_COOKIE_SECURE is False


def test_session_idle_time_comes_from_the_environment(monkeypatch, tmp_path):
    configured = load_settings(monkeypatch, tmp_path, CLIENTELA_SESSION_IDLE_MINUTES="30")

    assert configured.SESSION_COOKIE_AGE == 30 * 60
