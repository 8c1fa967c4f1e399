"""Top-level URLs: pages per domain, the API under /api/v1/, its schema and docs."""

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from clientela.api_router import router
from clientela.core.views import swagger_ui

urlpatterns = [
    path("", include("clientela.core.urls")),
    path("", include("clientela.identity.urls")),
    path("", include("clientela.parties.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", swagger_ui(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]
