from django.urls import path

from . import views

app_name = "calendly"

urlpatterns = [
    path("connect/alias/<int:alias_id>/", views.connect_alias, name="connect-alias"),
    path("connect/profile/<int:profile_id>/", views.connect_profile, name="connect-profile"),
    path("oauth/callback/", views.oauth_callback, name="oauth-callback"),
]
