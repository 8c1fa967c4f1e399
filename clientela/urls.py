"""Top-level URLs: pages per domain, the API under /api/v1/, its schema and docs."""

from django.urls import include, path, re_path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from clientela.api_router import router
from clientela.core.api import api_not_found
from clientela.core.views import swagger_ui

urlpatterns = [
    path("", include("clientela.core.urls")),
    path("", include("clientela.identity.urls")),
    path("", include("clientela.parties.urls")),
    path("", include("clientela.sales.urls")),
    path("", include("clientela.activities.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        swagger_ui(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    re_path(r"^api/", api_not_found),  # unknown API versions answer problem+json too
]
