from django import forms
from django.utils.translation import gettext_lazy as _

from tasks.models import User
from tasks.roles import Role

SCORE_ERRORS = {
    "invalid": _("Enter a number from 0 to 100, such as 75 or 82.5."),
    "min_value": _("A score cannot be below 0."),
    "max_value": _("A score cannot be above 100."),
    "max_decimal_places": _("Use at most one decimal place, such as 82.5."),
    "max_digits": _("Enter a number from 0 to 100, such as 75 or 82.5."),
    "max_whole_digits": _("Enter a number from 0 to 100, such as 75 or 82.5."),
}


def score_field(label, required=True):
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        error_messages=SCORE_ERRORS,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class AdjustForm(forms.Form):
    score = score_field(_("Confirmed score"))
    reason = forms.CharField(
        label=_("Reason for the adjustment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the confirmed score differs from the self score."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ReturnForm(forms.Form):
    comment = forms.CharField(label=_("What needs to change"), widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


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
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class AmendForm(forms.Form):
    final_score = score_field(_("Amended final score"))
    reason = forms.CharField(label=_("Reason for the amendment"), widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class CaseVersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


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
