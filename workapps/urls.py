from django.urls import path

from . import views

app_name = "workapps"

urlpatterns = [
    path("<str:channel>/start/", views.start, name="start"),
    path("<str:channel>/callback/", views.callback, name="callback"),
]
