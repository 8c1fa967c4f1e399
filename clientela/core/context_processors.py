"""Values the page shell needs on every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

import clientela
from clientela.core.permissions import Perm, has_perm


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "clientela_version": clientela.__version__,
        "interface_languages": settings.LANGUAGES,
        "can": {perm.name.lower(): has_perm(user, perm) for perm in Perm} if user else {},
    }
