from django import forms
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from lightboard import clock
from lightboard.forms import NumberField, date_input, score_field, version_field

from .evidence import EVIDENCE_MAX_BYTES, EVIDENCE_MAX_FILES, check_evidence_file
from .models import STAGES_PER_YEAR, ChangeRequest, Department, User
from .queries import org_tree
from .services import submission_errors


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class SelfAssessmentForm(forms.Form):
    completion = score_field(
        _("Completion (%)"),
        required=False,
        error_messages={
            "min_value": _("Completion cannot be below 0."),
            "max_value": _("Completion cannot be above 100."),
        },
    )
    account = forms.CharField(
        label=_("What was done"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    evidence = MultipleFileField(
        label=_("Evidence files"),
        required=False,
        help_text=_("PDF, Word, Excel, PowerPoint, PNG or JPEG; up to %(count)s files of %(size)s MB each.")
        % {"count": EVIDENCE_MAX_FILES, "size": EVIDENCE_MAX_BYTES // (1024 * 1024)},
    )

    version = version_field()

    def __init__(self, *args, submit=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.submit = submit

    def clean(self):
        """Submitting needs a completion and an account: say so together with any other error."""
        data = super().clean()
        if self.submit:
            lacking = submission_errors(completion=data.get("completion"), account=data.get("account"))
            for field, message in lacking.items():
                if field not in self.errors:
                    self.add_error(field, message)
        return data

    def clean_evidence(self):
        files = self.cleaned_data["evidence"]
        if len(files) > EVIDENCE_MAX_FILES:
            raise forms.ValidationError(
                _("At most %(count)s evidence files per assessment.") % {"count": EVIDENCE_MAX_FILES}
            )
        problems = [message for message in map(check_evidence_file, files) if message]
        if problems:
            raise forms.ValidationError(problems)
        return files


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    standard = forms.CharField(label=_("Completion standard"), widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    deadline = forms.DateField(label=_("Deadline"), widget=date_input())
    weight = NumberField(
        label=_("Weight"),
        max_digits=5,
        decimal_places=2,
        min_value=0.01,
        initial=1,
        error_messages={"min_value": _("The weight must be a positive number.")},
    )
    cooperating = forms.ModelMultipleChoiceField(
        label=_("Cooperating departments"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required once the list is approved; shown in the task's history."),
    )

    def __init__(self, *args, task_list, task=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.task_list = task_list
        self.fields["owner"].queryset = task_list.department.members.order_by("username")
        # Units no longer in the organisation are not offered for new work; a task keeps those it has.
        kept = Q(pk__in=task.cooperating_departments.values("pk")) if task is not None else Q(pk__in=[])
        self.fields["cooperating"].queryset = Department.objects.filter(Q(is_active=True) | kept).exclude(
            pk=task_list.department_id
        )
        for number in range(1, STAGES_PER_YEAR + 1):
            self.fields[f"target_{number}"] = forms.CharField(
                label=_("Stage %(number)s target") % {"number": number},
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def target_fields(self):
        return [self[f"target_{number}"] for number in range(1, STAGES_PER_YEAR + 1)]

    def targets(self):
        return {n: self.cleaned_data[f"target_{n}"] for n in range(1, STAGES_PER_YEAR + 1)}


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("What needs to change"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say what needs to change.")},
    )


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Your comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Write @ and a name (@陈志远) to tell that person."),
        error_messages={"required": _("Write the comment.")},
    )
    instruction = forms.BooleanField(label=_("Give it as an instruction (批示)"), required=False)

    def __init__(self, *args, may_instruct=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_instruct:
            del self.fields["instruction"]


class CommentEditForm(forms.Form):
    text = forms.CharField(
        label=_("Text of the comment"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The earlier text stays in the comment's history."),
        error_messages={"required": _("Write the comment.")},
    )


class ChangeRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What to change"),
        choices=ChangeRequest.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what to change.")},
    )
    new_deadline = forms.DateField(label=_("New deadline"), required=False, widget=date_input())
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=None, required=False, empty_label=_("Choose the stage"))
    new_text = forms.CharField(
        label=_("New text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The new stage target or completion standard."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for the change.")},
    )

    def __init__(self, *args, task, **kwargs):
        super().__init__(*args, **kwargs)
        # A stage's target changes only before the stage ends (after, it was assessed against it).
        self.fields["stage"].queryset = task.year.stages.filter(end__gte=clock.today()).order_by("number")
        self.fields["new_deadline"].help_text = _("Later than %(date)s, within %(year)s.") % {
            "date": formats.date_format(task.deadline, "DATE_FORMAT"),
            "year": task.year.year,
        }


class ChangeDecisionForm(forms.Form):
    """The leadership's decision on one change request: the button pressed says which."""

    request = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when rejecting."),
    )


class DeputyForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=())
    deputy = forms.ModelChoiceField(
        label=_("Deputy"),
        queryset=User.objects.none(),
        empty_label=_("Choose the deputy"),
        error_messages={
            "required": _("Choose someone else of the same role."),
            "invalid_choice": _("Choose someone else of the same role."),
        },
    )
    starts = forms.DateField(label=_("From"), widget=date_input())
    ends = forms.DateField(label=_("Until"), widget=date_input())

    def __init__(self, *args, user, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]
        if len(roles) == 1:
            self.fields["role"].initial = roles[0].value
            self.fields["role"].widget = forms.HiddenInput()
        # Only someone whose role reaches all the principal's does (the group's, or held at the
        # principal's unit or above it) can stand in for them.
        above = [unit.pk for unit in org_tree().path(user.unit_id)] if user.unit_id else []
        self.fields["deputy"].queryset = (
            User.objects.filter(is_active=True, groups__name__in=[role.value for role in roles])
            .filter(Q(unit__isnull=True) | Q(unit_id__in=above))
            .exclude(pk=user.pk)
            .distinct()
            .order_by("username")
        )
