"""Pages: exports (filled in by issue 3)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
