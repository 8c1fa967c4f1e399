"""Background jobs of the identity domain. Each takes ids, loads fresh rows and is safe to run twice."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

if TYPE_CHECKING:
    from clientela.identity.models import User


def _password_link(user: User) -> str:
    """An absolute link to the page where ``user`` chooses a password (valid PASSWORD_RESET_TIMEOUT)."""
    path = reverse(
        "identity:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    base_url = getattr(settings, "CLIENTELA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base_url}{path}"


def _user_zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _email_user(
    *, user: User, language: str, subject_template: str, body_template: str, context: dict[str, Any]
) -> None:
    """Render and send one email to ``user`` in their language (else ``language``) and time zone."""
    language = user.language or language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(_user_zone(user)):
        context = {
            "user": user,
            "link_expires_at": timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
            **context,
        }
        subject = " ".join(render_to_string(subject_template, context).split())
        body = render_to_string(body_template, context)
    message = EmailMessage(subject, body, to=[user.email], headers={"Content-Language": language})
    message.send()


@task
def invitation_send(*, user_id: int) -> bool:
    """Email an invited user the link that lets them choose a password. False when not needed any more."""
    from clientela.identity.models import User

    user = User.objects.filter(pk=user_id, is_active=True).select_related("invited_by").first()
    if user is None or user.has_usable_password():
        return False
    _email_user(
        user=user,
        language="",
        subject_template="identity/email/invitation_subject.txt",
        body_template="identity/email/invitation_body.txt",
        context={"link": _password_link(user), "inviter": user.invited_by},
    )
    return True


@task
def password_reset_send(*, user_id: int, language: str = "") -> bool:
    """Email an active user a link to choose a new password. False when the user cannot log in."""
    from clientela.identity.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    _email_user(
        user=user,
        language=language,
        subject_template="identity/email/password_reset_subject.txt",
        body_template="identity/email/password_reset_body.txt",
        context={"link": _password_link(user)},
    )
    return True
