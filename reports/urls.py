from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("overview.xlsx", views.overview_xlsx, name="overview_xlsx"),
    path("departments/<slug:code>/", views.scorecard, name="scorecard"),
    path("departments/<slug:code>/scorecard.xlsx", views.scorecard_xlsx, name="scorecard_xlsx"),
    path("warning/", views.warning, name="warning"),
    path("years/", views.years, name="years"),
    path("ranking/", views.ranking, name="ranking"),
    path("honour/new/<int:meeting_id>/", views.honour_roll_new, name="honour_roll_new"),
    path("honour/<int:roll_id>/", views.honour_roll, name="honour_roll"),
    path("tasks/<int:task_id>/", views.task_chart, name="task_chart"),
]
