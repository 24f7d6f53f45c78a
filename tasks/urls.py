from django.urls import path

from . import views

app_name = "tasks"

urlpatterns = [
    path("mine/", views.my_tasks, name="mine"),
]
