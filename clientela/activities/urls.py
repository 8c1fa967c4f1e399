from django.urls import include, path

from clientela.activities.views import activities, calendar, tasks

app_name = "activities"

urlpatterns = [
    path("", include(activities.urlpatterns)),
    path("", include(tasks.urlpatterns)),
    path("", include(calendar.urlpatterns)),
]
