"""API authentication with personal tokens: ``Authorization: Bearer clt_…`` (or ``Token clt_…``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from clientela.identity.services import api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be “Bearer <token>”.")
            )
        user = api_token_authenticate(header[1].decode(errors="replace"))
        if user is None:
            raise exceptions.AuthenticationFailed(
                _("This API token is not valid, has expired or was revoked.")
            )
        return user, None

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
