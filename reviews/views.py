from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from tasks.roles import REPORT_READERS, Role, role_required


def _placeholder(request, *, title, issue, purpose):
    return render(request, "placeholder.html", {"title": title, "issue": issue, "purpose": purpose})


@role_required(Role.DIVISION_LEADER)
def confirmations(request):
    return _placeholder(
        request,
        title=_("Confirmation queue"),
        issue=4,
        purpose=_("Self-assessments of the departments you lead, waiting for your confirmation."),
    )


@role_required(Role.LEADERSHIP)
def meetings(request):
    return _placeholder(
        request,
        title=_("Review meetings"),
        issue=4,
        purpose=_("The bimonthly review meetings, the review board and meeting mode."),
    )


@role_required(Role.INSPECTOR)
def followups(request):
    return _placeholder(
        request,
        title=_("Follow-up queue"),
        issue=5,
        purpose=_("Yellow and red results to follow up: reminders, supervision letters and interviews."),
    )


@role_required(*REPORT_READERS)
def reports_overview(request):
    return _placeholder(
        request,
        title=_("Reports"),
        issue=6,
        purpose=_("The year overview, department scorecards and early warning."),
    )


@login_required
def inbox(request):
    return _placeholder(request, title=_("Inbox"), issue=5, purpose=_("Your notifications and letters."))
