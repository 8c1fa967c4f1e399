def test_pages_carry_a_strict_content_security_policy(client, db):
    response = client.get("/login/")

    policy = response.headers["Content-Security-Policy"]
    directives = dict(item.strip().split(" ", 1) for item in policy.split(";") if item.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_shell_has_no_inline_script_or_style(client, db):
    import re

    html = client.get("/login/").content.decode()

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert " style=" not in html
    assert "<style" not in html


def test_secure_cookies_whenever_debug_is_off():
    from django.conf import settings

    # The test settings module is imported with CLIENTELA_DEBUG unset.
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_a_missing_page_is_a_page_of_the_app(client, rep):
    client.force_login(rep)

    response = client.get("/contacts/999999/")

    assert response.status_code == 404
    assert "There is nothing here, or it is not visible to you." in response.content.decode()


def test_unknown_api_versions_answer_problem_json(client, rep):
    client.force_login(rep)

    response = client.get("/api/v2/contacts/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
