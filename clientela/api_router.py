"""The one router of /api/v1/: each domain's ``api.py`` registers its endpoints here."""

from rest_framework.routers import DefaultRouter

from clientela.core import api_views as core_api
from clientela.identity import api as identity_api
from clientela.parties import api as parties_api

router = DefaultRouter()
router.include_format_suffixes = False
for module in (core_api, identity_api, parties_api):
    module.register(router)
