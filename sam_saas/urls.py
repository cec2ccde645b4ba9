from django.urls import include, path
from django.views.generic import RedirectView

from .favicon import favicon
from .views import dashboard_view

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("favicon.ico", favicon, name="favicon"),
    path("dashboard/", dashboard_view, name="sam_dashboard"),
    path("reports/", include("sam_saas.reports.urls")),
]
