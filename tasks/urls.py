from django.urls import include, path

from . import views

app_name = "tasks"

list_urls = [
    path("", views.list_detail, name="list"),
    path("new/", views.task_create, name="create"),
    path("submit/", views.list_submit, name="list_submit"),
    path("approve/", views.list_approve, name="list_approve"),
    path("return/", views.list_return, name="list_return"),
    path("template.xlsx", views.list_template, name="list_template"),
    path("export.xlsx", views.list_export, name="list_export"),
    path("import/", views.list_import, name="list_import"),
    path("import/<int:job_id>/", views.list_import_job, name="list_import_job"),
    path("copy/", views.list_copy, name="list_copy"),
]

task_urls = [
    path("", views.task_detail, name="detail"),
    path("edit/", views.task_edit, name="edit"),
    path("change/", views.change_request, name="change_request"),
    path("stages/<int:number>/assess/", views.assess, name="assess"),
    path("light/", views.light_preview, name="light_preview"),
]

urlpatterns = [
    path("mine/", views.my_tasks, name="mine"),
    path("lists/", views.list_index, name="lists"),
    path("changes/", views.changes, name="changes"),
    path("deputies/", views.deputies, name="deputies"),
    path("deputies/<int:deputy_id>/withdraw/", views.deputy_withdraw, name="deputy_withdraw"),
    path("lists/<int:year>/<slug:code>/", include(list_urls)),
    path("<int:task_id>/", include(task_urls)),
    path("evidence/<int:evidence_id>/", views.evidence_download, name="evidence"),
    path("comments/<int:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/instruct/", views.comment_instruct, name="comment_instruct"),
    path("evidence/<int:evidence_id>/remove/", views.evidence_remove, name="evidence_remove"),
]
