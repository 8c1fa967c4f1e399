from django.urls import path

from clientela.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit, name="audit"),
    path("settings/custom-fields/", views.custom_field_list, name="custom_field_list"),
    path("settings/custom-fields/new/", views.custom_field_create, name="custom_field_create"),
    path("settings/custom-fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path(
        "settings/custom-fields/<int:pk>/delete/",
        views.custom_field_delete,
        name="custom_field_delete",
    ),
]
