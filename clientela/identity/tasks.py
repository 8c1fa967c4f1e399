"""Background jobs of the identity domain. Each takes ids, loads fresh rows and is safe to run twice."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


@task
def invitation_send(*, user_id: int) -> bool:
    """Email an invited user the link that lets them choose a password. False when not needed any more."""
    from clientela.identity.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.has_usable_password():
        return False
    link = reverse(
        "identity:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    base_url = getattr(settings, "CLIENTELA_BASE_URL", "http://127.0.0.1:8000")
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {"user": user, "link": f"{base_url}{link}"}
        subject = render_to_string("identity/email/invitation_subject.txt", context).strip()
        body = render_to_string("identity/email/invitation_body.txt", context)
    send_mail(subject, body, None, [user.email])
    return True
