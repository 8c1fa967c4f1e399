from django.urls import include, path

from clientela.sales.views import board, deals, leads, pipelines, public, reports, webforms

app_name = "sales"

urlpatterns = [
    path("", include(public.urlpatterns)),
    path("", include(pipelines.urlpatterns)),
    path("", include(board.urlpatterns)),
    path("", include(deals.urlpatterns)),
    path("", include(leads.urlpatterns)),
    path("", include(webforms.urlpatterns)),
    path("", include(reports.urlpatterns)),
]
