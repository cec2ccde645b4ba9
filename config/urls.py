from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("calendly/", include("calendly_integration.urls")),
    path("reclaim/", include("reclamation.urls")),
    path("", include("sam_saas.urls")),
]

# A refused page says which permission it needed and which group grants it (sam_saas.forbidden).
handler403 = "sam_saas.forbidden.permission_denied"
