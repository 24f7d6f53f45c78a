from django import forms
from django.utils.translation import gettext_lazy as _

from lightboard.forms import score_field, version_field
from lightboard.roles import Role
from tasks.models import User


class AdjustForm(forms.Form):
    score = score_field(_("Confirmed score"))
    reason = forms.CharField(
        label=_("Reason for the adjustment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the confirmed score differs from the self score."),
    )
    version = version_field()


class ReturnForm(forms.Form):
    comment = forms.CharField(label=_("What needs to change"), widget=forms.Textarea(attrs={"rows": 3}))
    version = version_field()


class ScheduleForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=None)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    attendees = forms.ModelMultipleChoiceField(
        label=_("Attendees"), queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, year, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = year.stages.filter(meeting__isnull=True).order_by("number")
        self.fields["attendees"].queryset = User.objects.filter(groups__name=Role.LEADERSHIP.value).order_by("username")


class RatingForm(forms.Form):
    final_score = score_field(_("Final score"))
    score_reason = forms.CharField(
        label=_("Reason for the final score"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the final score differs from the confirmed score."),
    )
    decision = forms.CharField(label=_("Handling decision"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_stage_target = forms.CharField(
        label=_("Next stage's key work"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = version_field()


class AmendForm(forms.Form):
    final_score = score_field(_("Amended final score"))
    reason = forms.CharField(label=_("Reason for the amendment"), widget=forms.Textarea(attrs={"rows": 3}))
    version = version_field()


class CaseVersionForm(forms.Form):
    version = version_field()


class InterviewForm(CaseVersionForm):
    at = forms.DateTimeField(label=_("Interview time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    place = forms.CharField(label=_("Interview place"), max_length=100)
    participants = forms.CharField(label=_("Interview participants"), max_length=300, required=False)


class InterviewRecordForm(CaseVersionForm):
    record = forms.CharField(label=_("Interview record"), widget=forms.Textarea(attrs={"rows": 4}))


class RectificationForm(CaseVersionForm):
    plan = forms.CharField(label=_("Rectification plan"), widget=forms.Textarea(attrs={"rows": 4}))
    progress = forms.CharField(
        label=_("Rectification progress"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class CloseCaseForm(CaseVersionForm):
    conclusion = forms.CharField(label=_("Conclusion"), widget=forms.Textarea(attrs={"rows": 3}))


class EscalateForm(CaseVersionForm):
    reason = forms.CharField(label=_("Reason for accountability"), widget=forms.Textarea(attrs={"rows": 3}))


# The form of each step of a follow-up case (reviews.cases.STEPS); its fields are the step's.
CASE_STEP_FORMS = {
    "reminder": CaseVersionForm,
    "supervision": CaseVersionForm,
    "interview": InterviewForm,
    "record": InterviewRecordForm,
    "rectification": RectificationForm,
    "close": CloseCaseForm,
    "escalate": EscalateForm,
}
