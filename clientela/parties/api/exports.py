"""API: exports (filled in by issue 3)."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    return None
