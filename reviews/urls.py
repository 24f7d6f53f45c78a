from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("confirmations/", views.confirmations, name="confirmations"),
    path("confirmations/<int:assessment_id>/", views.confirmation_detail, name="confirmation"),
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/<int:meeting_id>/", views.board, name="board"),
    path("meetings/<int:meeting_id>/open/", views.meeting_open, name="open"),
    path("meetings/<int:meeting_id>/present/", views.present, name="present"),
    path("meetings/<int:meeting_id>/close/", views.meeting_close, name="close"),
    path("meetings/<int:meeting_id>/minutes/", views.minutes, name="minutes"),
    path("meetings/<int:meeting_id>/minutes.xlsx", views.minutes_xlsx, name="minutes_xlsx"),
    path("ratings/<int:rating_id>/amend/", views.amend, name="amend"),
    path("followups/", views.followups, name="followups"),
    path("followups/<int:case_id>/", views.case_detail, name="case"),
    path("accountability/", views.accountability_register, name="accountability"),
    path("rectification-files/<int:file_id>/", views.rectification_file, name="rectification_file"),
    path("letters/<int:letter_id>/", views.letter_detail, name="letter"),
    path("letters/<int:letter_id>.docx", views.letter_docx, name="letter_docx"),
    path("letters/<int:letter_id>.pdf", views.letter_pdf, name="letter_pdf"),
    path("letters/<int:letter_id>/acknowledge/", views.acknowledge_letter, name="letter_acknowledge"),
]
