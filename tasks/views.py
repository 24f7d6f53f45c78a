from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .roles import Role, role_required


@role_required(Role.STAFF)
def my_tasks(request):
    return render(
        request,
        "placeholder.html",
        {
            "title": _("My tasks"),
            "issue": 3,
            "purpose": _(
                "Your department's tasks for the current stage and their self-assessments."
            ),
        },
    )
