from django.urls import path

from . import views

app_name = "sam_reports"

urlpatterns = [
    path("", views.report_index_view, name="index"),
    path("<slug:name>.csv", views.report_csv_view, name="csv"),
]
