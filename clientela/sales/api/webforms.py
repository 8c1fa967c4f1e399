"""API: webforms (issue 4)."""

from __future__ import annotations

from typing import Any


def register(router: Any) -> None:
    """Register this module's endpoints on the API router."""
