from django.urls import path

from . import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="index"),
    path("count/", views.inbox_count, name="count"),
    path("read/", views.read_all, name="read_all"),
    path("settings/", views.preferences, name="preferences"),
    path("<int:notification_id>/open/", views.open_notification, name="open"),
]
