from django.urls import path

from clientela.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit, name="audit"),
    path("settings/custom-fields/", views.custom_field_list, name="custom_field_list"),
]
