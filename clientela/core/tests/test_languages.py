"""The interface speaks the reader's language: the browser's before login, their own choice after."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("accept_language", "lang", "log_in"),
    [
        ("es-ES,es;q=0.9", "es", "Iniciar sesión"),
        ("da", "da", "Log ind"),
        ("hi-IN,hi;q=0.8,en;q=0.5", "hi", "लॉग इन करें"),
        ("fr-FR", "en", "Log in"),
    ],
)
def test_before_login_the_browsers_language_is_used(client, accept_language, lang, log_in):
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()

    assert f'<html lang="{lang}"' in html
    assert log_in in html


def test_after_login_the_users_own_language_wins_over_the_browser(client, rep):
    rep.language = "hi"
    rep.save()
    client.force_login(rep)

    html = client.get("/contacts/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert '<html lang="hi"' in html
    assert "संपर्क" in html


def test_money_on_a_page_is_formatted_for_the_readers_locale(client, rep):
    from decimal import Decimal

    from clientela.parties.tests.factories import OrganizationFactory

    organization = OrganizationFactory(
        owner=rep, annual_revenue=Decimal("1234567.50"), currency="INR"
    )
    rep.language = "hi"
    rep.save()
    client.force_login(rep)

    html = client.get(f"/organizations/{organization.pk}/").content.decode()

    assert "₹12,34,567.50" in html
