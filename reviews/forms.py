from django import forms
from django.forms.renderers import Jinja2
from django.utils.translation import gettext_lazy as _

from lightboard.forms import date_input, score_field, version_field
from lightboard.roles import Role
from tasks import forms as tasks_forms
from tasks.evidence import EVIDENCE_MAX_BYTES, EVIDENCE_MAX_FILES, check_evidence_file
from tasks.models import User

from .models import ReviewMeeting

# The widgets of this app's forms, rendered by Jinja2 from Django's own widget templates (the
# same HTML): a follow-up case shows several forms at once, and Django's engine spent more on
# their widgets than on the rest of the page. One renderer for all (it holds the environment).
FAST_WIDGETS = Jinja2()


def _needed(message):
    """The message a required field gives when it is left empty: what to write, not "required"."""
    return {"required": message}


class AdjustForm(forms.Form):
    default_renderer = FAST_WIDGETS
    score = score_field(_("Confirmed score"))
    reason = forms.CharField(
        label=_("Reason for the adjustment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the confirmed score differs from the self score."),
    )
    version = version_field()

    def __init__(self, *args, preview_url, **kwargs):
        super().__init__(*args, **kwargs)
        # As the leader types, the light of the score (tasks:light_preview) shows beside it.
        self.fields["score"].widget.attrs.update(
            {
                "hx-get": preview_url,
                "hx-trigger": "input changed delay:250ms, keyup changed delay:250ms",
                "hx-target": "#light-preview",
                "hx-swap": "outerHTML",
            }
        )


class ReturnForm(tasks_forms.ReturnForm):
    default_renderer = FAST_WIDGETS
    version = version_field()


class ScheduleForm(forms.Form):
    default_renderer = FAST_WIDGETS
    stage = forms.ModelChoiceField(
        label=_("Stage"),
        queryset=None,
        empty_label=_("Choose the stage"),
        error_messages=_needed(_("Choose the stage to schedule.")),
    )
    date = forms.DateField(label=_("Date"), widget=date_input())
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    attendees = forms.ModelMultipleChoiceField(
        label=_("Attendees"), queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, year, unit=None, leadership=None, **kwargs):
        super().__init__(*args, **kwargs)
        scheduled = ReviewMeeting.objects.filter(unit=unit).values("stage")
        self.fields["stage"].queryset = year.stages.exclude(pk__in=scheduled).order_by("number")
        if leadership is None:
            leadership = User.objects.filter(groups__name=Role.LEADERSHIP.value)
        self.fields["attendees"].queryset = leadership.order_by("username")


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
    # The form names the rating it was opened on: a save never lands on another task.
    rating = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    version = version_field()


class AmendForm(forms.Form):
    final_score = score_field(_("Amended final score"))
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_needed(_("Give the reason for the amendment.")),
    )
    version = version_field()


class CaseVersionForm(forms.Form):
    default_renderer = FAST_WIDGETS
    version = version_field()


class LetterForm(CaseVersionForm):
    """A step that issues a letter: its text is shown before it goes, and may be edited."""

    text = forms.CharField(
        label=_("Text of the letter"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Read it before it goes; the number, the addressees and the due date are added."),
    )


TIME_AND_PLACE = _("Give the interview's time and place.")


class InterviewForm(CaseVersionForm):
    at = forms.DateTimeField(
        label=_("Interview time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages=_needed(TIME_AND_PLACE),
    )
    place = forms.CharField(label=_("Interview place"), max_length=100, error_messages=_needed(TIME_AND_PLACE))
    participants = forms.CharField(label=_("Interview participants"), max_length=300, required=False)


class InterviewRecordForm(CaseVersionForm):
    record = forms.CharField(
        label=_("Interview record"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=_needed(_("Write down the interview record.")),
    )


class PlanForm(CaseVersionForm):
    text = forms.CharField(
        label=_("Rectification measures"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=_needed(_("Write the rectification measures.")),
    )
    responsible = forms.CharField(
        label=_("Person responsible"), max_length=100, error_messages=_needed(_("Name the person responsible."))
    )
    target_date = forms.DateField(
        label=_("Target date"),
        widget=date_input(),
        error_messages=_needed(_("Give the target date, today or later.")),
    )


class ReportForm(CaseVersionForm):
    text = forms.CharField(
        label=_("What has been done"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=_needed(_("Write what has been done.")),
    )
    files = tasks_forms.MultipleFileField(
        label=_("Evidence files"),
        required=False,
        help_text=_("PDF, Word, Excel, PowerPoint, PNG or JPEG; at most %(count)s files of %(size)s MB each.")
        % {"count": EVIDENCE_MAX_FILES, "size": EVIDENCE_MAX_BYTES // (1024 * 1024)},
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        if len(files) > EVIDENCE_MAX_FILES:
            raise forms.ValidationError(_("At most %(count)s files at a time.") % {"count": EVIDENCE_MAX_FILES})
        problems = [message for message in map(check_evidence_file, files) if message]
        if problems:
            raise forms.ValidationError(problems)
        return files


class AnswerForm(CaseVersionForm):
    text = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_needed(_("Write the explanation.")),
    )
    catch_up = forms.CharField(
        label=_("Catch-up measure"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_needed(_("Write the catch-up measure.")),
    )


class ReviewForm(CaseVersionForm):
    """The inspector's decision on one rectification: the button pressed says which."""

    rectification = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("return", _("Return"))], widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when returning: say what is missing."),
    )


class CloseCaseForm(CaseVersionForm):
    conclusion = forms.CharField(
        label=_("Conclusion"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_needed(_("Write the conclusion.")),
    )
    reason = forms.CharField(
        label=_("Reason for closing without accepted rectification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only when no rectification of the case is accepted."),
    )

    def __init__(self, *args, rectified=False, **kwargs):
        super().__init__(*args, **kwargs)
        if rectified:
            del self.fields["reason"]


class EscalateForm(CaseVersionForm):
    reason = forms.CharField(
        label=_("Reason for accountability"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_needed(_("Give the reason for accountability.")),
    )


class AccountabilityDecisionForm(CaseVersionForm):
    decision = forms.CharField(
        label=_("Accountability decided"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. 通报批评, 诫勉谈话: as decided under the group's rules."),
        error_messages=_needed(_("Write the decision.")),
    )


class ExemptionForm(CaseVersionForm):
    objective_cause = forms.CharField(
        label=_("Objective cause"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_needed(_("Describe the objective cause.")),
    )
    reason = forms.CharField(
        label=_("Reason for the exemption"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Under the fault-tolerance rules (容错纠错): why the cause excuses the result."),
        error_messages=_needed(_("Give the reason for the exemption.")),
    )


class ExemptionApprovalForm(CaseVersionForm):
    comment = forms.CharField(
        label=_("Comment of the leadership group"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExemptionRefusalForm(CaseVersionForm):
    comment = forms.CharField(
        label=_("Why the exemption is refused"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_needed(_("Say why the exemption is refused.")),
    )


# The form of each step of a follow-up case (reviews.cases.STEPS); its fields are the step's.
CASE_STEP_FORMS = {
    "reminder": LetterForm,
    "supervision": LetterForm,
    "interview": InterviewForm,
    "record": InterviewRecordForm,
    "plan": PlanForm,
    "report": ReportForm,
    "answer": AnswerForm,
    "review": ReviewForm,
    "decide": AccountabilityDecisionForm,
    "exempt": ExemptionForm,
    "approve_exemption": ExemptionApprovalForm,
    "refuse_exemption": ExemptionRefusalForm,
    "close": CloseCaseForm,
    "escalate": EscalateForm,
}
