from django.urls import include, path

from clientela.parties.views import bulk, duplicates, exports, imports, search
from clientela.parties.views import records as views

app_name = "parties"

urlpatterns = [
    # Feature pages first: "contacts/import/" must not be read as a contact.
    path("", include(search.urlpatterns)),
    path("", include(imports.urlpatterns)),
    path("", include(exports.urlpatterns)),
    path("", include(duplicates.urlpatterns)),
    path("", include(bulk.urlpatterns)),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create_view, name="contact_create"),
    path("contacts/columns/", views.contact_columns, name="contact_columns"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete_view, name="contact_delete"),
    path("organizations/", views.organization_list, name="organization_list"),
    path("organizations/new/", views.organization_create_view, name="organization_create"),
    path("organizations/columns/", views.organization_columns, name="organization_columns"),
    path("organizations/<int:pk>/", views.organization_detail, name="organization_detail"),
    path("organizations/<int:pk>/edit/", views.organization_edit, name="organization_edit"),
    path(
        "organizations/<int:pk>/delete/", views.organization_delete_view, name="organization_delete"
    ),
]
