"""Public pages of the reclamation app (no login): the answers to the user notification."""

from django.urls import path

from . import views

app_name = "reclamation"

urlpatterns = [
    path("answer/<str:token>/", views.answer, name="answer"),
]
