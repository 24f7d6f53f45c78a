from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("confirmations/", views.confirmations, name="confirmations"),
    path("meetings/", views.meetings, name="meetings"),
    path("followups/", views.followups, name="followups"),
]
