"""One's own profile, language, time zone and API tokens."""

import re
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clientela.core.models import Event
from clientela.core.selectors import events_of
from clientela.identity.models import ApiToken
from clientela.identity.services import api_token_authenticate, api_token_create, api_token_revoke
from clientela.identity.tests.factories import UserFactory


def html_lang(response):
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


# Profile


def test_profile_shows_the_current_values(client, rep):
    client.force_login(rep)

    response = client.get("/me/")

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"full_name": "Rep", "language": "", "time_zone": "UTC"}
    html = response.content.decode()
    assert "rep@example.com" in html
    assert '<option value="" selected>Browser&#x27;s language</option>' in html
    assert '<option value="es">español</option>' in html


def test_profile_saves_name_language_and_time_zone_and_switches_the_language(client, rep):
    client.force_login(rep)

    response = client.post(
        "/me/",
        {"full_name": "Rep Rodríguez", "language": "es", "time_zone": "Europe/Madrid"},
    )

    assert response.status_code == 302
    assert response.url == "/me/"
    rep.refresh_from_db()
    assert (rep.full_name, rep.language, rep.time_zone) == (
        "Rep Rodríguez",
        "es",
        "Europe/Madrid",
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    changed = events_of(rep).get(kind="user.changed")
    assert set(changed.data["changes"]) == {"full_name", "language", "time_zone"}
    page = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(page) == "es"
    assert page.wsgi_request.LANGUAGE_CODE == "es"


def test_profile_back_to_the_browsers_language(client, db):
    user = UserFactory(language="da")
    client.force_login(user)

    response = client.post(
        "/me/", {"full_name": user.full_name, "language": "", "time_zone": "UTC"}
    )

    user.refresh_from_db()
    assert user.language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert html_lang(client.get("/me/", HTTP_ACCEPT_LANGUAGE="es")) == "es"


def test_profile_refuses_bad_input_under_each_field_and_changes_nothing(client, rep):
    client.force_login(rep)

    response = client.post("/me/", {"full_name": "  ", "language": "fr", "time_zone": "Mars/Base"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"full_name", "language", "time_zone"}
    assert 'aria-invalid="true"' in response.content.decode()
    rep.refresh_from_db()
    assert (rep.full_name, rep.language, rep.time_zone) == ("Rep", "", "UTC")
    assert Event.objects.count() == 0


def test_profile_needs_a_login(client):
    response = client.get("/me/")

    assert response.status_code == 302
    assert response.url == "/login/?next=/me/"


# API tokens


def test_token_list_shows_only_ones_own_tokens_with_dates_in_ones_time_zone(client, rep, rep_a2):
    rep.time_zone = "Asia/Kolkata"
    rep.save()
    mine = api_token_create(actor=rep, name="Accounting export").token
    ApiToken.objects.filter(pk=mine.pk).update(created_at=datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    api_token_create(actor=rep_a2, name="Someone else's")
    client.force_login(rep)

    response = client.get("/me/tokens/")

    assert response.status_code == 200
    assert [token.name for token in response.context["tokens"]] == ["Accounting export"]
    html = response.content.decode()
    assert "Someone else" not in html
    assert f"clt_{mine.prefix}…" in html
    assert "01/06/2026 4:30 a.m." in html


def test_token_list_tells_active_expired_and_revoked_apart(client, rep):
    active = api_token_create(actor=rep, name="Active one").token
    expired = api_token_create(
        actor=rep, name="Expired one", expires_at=timezone.now() + timedelta(days=1)
    ).token
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked = api_token_create(actor=rep, name="Revoked one").token
    api_token_revoke(actor=rep, token=revoked)
    client.force_login(rep)

    html = client.get("/me/tokens/").content.decode()

    rows = re.findall(r'<tr data-testid="token-row">(.*?)</tr>', html, re.S)
    statuses = {
        re.search(r"<td>([^<]+)</td>", row).group(1): re.search(
            r'class="status[^"]*">([^<]+)<', row
        ).group(1)
        for row in rows
    }
    assert statuses == {"Active one": "Active", "Expired one": "Expired", "Revoked one": "Revoked"}
    assert f"/me/tokens/{active.pk}/revoke/" in html
    assert f"/me/tokens/{revoked.pk}/revoke/" not in html


def test_token_create_shows_the_key_once_in_the_answer_and_stores_only_its_hash(client, rep):
    client.force_login(rep)

    response = client.post("/me/tokens/new/", {"name": "Accounting export", "expires_on": ""})

    assert response.status_code == 200
    key = response.context["issued"].key
    html = response.content.decode()
    assert f'value="{key}"' in html
    assert "Copy the token now: it will not be shown again." in html
    assert "no-store" in response["Cache-Control"]
    assert all(key not in cookie.value for cookie in response.cookies.values())
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.expires_at) == (rep, "Accounting export", None)
    assert token.key_hash != key
    assert api_token_authenticate(key) == rep
    later = client.get("/me/tokens/").content.decode()
    assert key not in later
    assert "Accounting export" in later


def test_token_create_with_an_expiry_date_ends_with_that_day_in_ones_time_zone(client, db):
    user = UserFactory(time_zone="America/New_York")
    client.force_login(user)
    day = timezone.localdate() + timedelta(days=30)

    client.post("/me/tokens/new/", {"name": "Month", "expires_on": day.isoformat()})

    token = ApiToken.objects.get()
    local = token.expires_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute, local.second) == (day, 23, 59, 59)


def test_token_create_refuses_a_past_date_under_its_field(client, rep):
    client.force_login(rep)
    yesterday = timezone.localdate() - timedelta(days=1)

    response = client.post("/me/tokens/new/", {"name": "Old", "expires_on": yesterday.isoformat()})

    assert response.status_code == 200
    assert response.context["form"].errors == {"expires_on": ["The expiry must be in the future."]}
    assert ApiToken.objects.count() == 0


def test_token_create_needs_a_name(client, rep):
    client.force_login(rep)

    response = client.post("/me/tokens/new/", {"name": "", "expires_on": ""})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name"}
    assert ApiToken.objects.count() == 0


def test_token_revoke_asks_first_then_revokes(client, rep):
    issued = api_token_create(actor=rep, name="Export")
    client.force_login(rep)
    url = f"/me/tokens/{issued.token.pk}/revoke/"

    confirm = client.get(url)
    issued.token.refresh_from_db()
    assert confirm.status_code == 200
    assert issued.token.revoked_at is None

    response = client.post(url, follow=True)

    assert response.redirect_chain == [("/me/tokens/", 302)]
    assert "The token “Export” was revoked." in response.content.decode()
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert api_token_authenticate(issued.key) is None


def test_someone_elses_token_answers_404_and_stays_usable(client, rep, rep_a2):
    issued = api_token_create(actor=rep_a2, name="Theirs")
    client.force_login(rep)
    url = f"/me/tokens/{issued.token.pk}/revoke/"

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert client.get("/me/tokens/999999/revoke/").status_code == 404

    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None
    assert api_token_authenticate(issued.key) == rep_a2
