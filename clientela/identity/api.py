"""REST API endpoints of this domain."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    pass
