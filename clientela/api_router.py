"""The one router of /api/v1/: each domain's ``api.py`` registers its endpoints here."""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from clientela.activities import api as activities_api
from clientela.core import api_views as core_api
from clientela.core.api import api_not_found
from clientela.identity import api as identity_api
from clientela.parties import api as parties_api
from clientela.sales import api as sales_api


class ApiRouter(DefaultRouter):
    """DRF's router, ending with a catch-all so that unknown addresses answer problem+json 404."""

    include_format_suffixes = False

    def get_urls(self) -> list[Any]:
        return [*super().get_urls(), re_path(r"^.*$", api_not_found, name="api-not-found")]


router = ApiRouter()
for module in (core_api, identity_api, parties_api, sales_api, activities_api):
    module.register(router)
