"""Write use cases of the tasks app. Views, admin, commands and Celery tasks call these."""

import calendar
import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lightboard.colour import classify

from . import access
from .evidence import EVIDENCE_MAX_FILES, check_evidence_file
from .models import (
    STAGES_PER_YEAR,
    AssessmentYear,
    AuditEntry,
    Evidence,
    KeyTask,
    SelfAssessment,
    Stage,
    StageTarget,
    TaskList,
)

# A stage's self-assessment is due this many days after it ends; the leadership group
# meets this many days after that. Both dates stay editable per stage.
SELF_ASSESSMENT_DAYS_AFTER_END = 5
MEETING_DAYS_AFTER_DUE = 5


def default_stage_dates(year, number):
    """The default dates of stage `number` (1–6) of `year`: two calendar months each."""
    if not 1 <= number <= STAGES_PER_YEAR:
        raise ValueError(f"stage number must be from 1 to {STAGES_PER_YEAR}, got {number!r}")
    first_month = 2 * number - 1
    last_month = first_month + 1
    start = datetime.date(year, first_month, 1)
    end = datetime.date(year, last_month, calendar.monthrange(year, last_month)[1])
    due = end + datetime.timedelta(days=SELF_ASSESSMENT_DAYS_AFTER_END)
    meeting = due + datetime.timedelta(days=MEETING_DAYS_AFTER_DUE)
    return {"start": start, "end": end, "self_assessment_due": due, "meeting_date": meeting}


@transaction.atomic
def ensure_stages(assessment_year):
    """Create whichever of the year's six stages are missing, with default dates.
    Existing stages (perhaps edited) are left as they are."""
    existing = set(assessment_year.stages.values_list("number", flat=True))
    Stage.objects.bulk_create(
        Stage(year=assessment_year, number=number, **default_stage_dates(assessment_year.year, number))
        for number in range(1, STAGES_PER_YEAR + 1)
        if number not in existing
    )


@transaction.atomic
def create_assessment_year(*, year, green_above=None, red_below=None):
    """Create an assessment year with its six two-month stages."""
    fields = {"year": year}
    if green_above is not None:
        fields["green_above"] = green_above
    if red_below is not None:
        fields["red_below"] = red_below
    assessment_year = AssessmentYear(**fields)
    assessment_year.full_clean()
    assessment_year.save()
    ensure_stages(assessment_year)
    return assessment_year


# --- audit -----------------------------------------------------------------------------


def _plain(value):
    """A JSON-friendly form of a field value for the audit trail."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(_plain(item) for item in value)
    return str(value)


def as_score(value):
    """A valid score as the Decimal with one decimal place it is stored as (75 -> 75.0)."""
    return Decimal(value).quantize(Decimal("0.1"))


def record_audit(*, actor, action, subject, task=None, task_id=None, before=None, after=None, reason=""):
    """Write one audit entry: who did `action` to `subject`, the changed values and why.
    Call it inside the transaction that makes the change."""
    before = {key: _plain(value) for key, value in (before or {}).items()}
    after = {key: _plain(value) for key, value in (after or {}).items()}
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        subject_type=subject._meta.model_name,
        subject_id=subject.pk,
        task_id=task.pk if task is not None else task_id,
        before=before,
        after=after,
        reason=reason,
    )


def _changes(before, after):
    changed = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in changed}, {key: after[key] for key in changed}


# --- task lists ----------------------------------------------------------------------


def ensure_task_list(*, year, department):
    """The department's list for the year, created empty (draft) on first use."""
    task_list, _ = TaskList.objects.get_or_create(year=year, department=department)
    return task_list


def _change_list_state(task_list, *, by, to, allowed_from, action, comment=""):
    locked = TaskList.objects.select_for_update().get(pk=task_list.pk)
    if locked.state not in allowed_from:
        raise ValidationError(
            _("This list is %(state)s and cannot be changed that way; reload the page.")
            % {"state": locked.get_state_display()}
        )
    before = locked.state
    locked.state = to
    locked.return_comment = comment
    locked.save(update_fields=["state", "return_comment", "updated_at"])
    record_audit(actor=by, action=action, subject=locked, before={"state": before}, after={"state": to}, reason=comment)
    task_list.state, task_list.return_comment = locked.state, locked.return_comment
    return task_list


@transaction.atomic
def submit_task_list(*, task_list, by):
    """Staff send the draft list to their division leader for approval."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    if not task_list.department.tasks.filter(year=task_list.year).exists():
        raise ValidationError(_("Add at least one task before submitting the list."))
    return _change_list_state(
        task_list, by=by, to=TaskList.State.SUBMITTED, allowed_from={TaskList.State.DRAFT}, action="submit list"
    )


@transaction.atomic
def approve_task_list(*, task_list, by):
    """The department's division leader approves the submitted list; it is then frozen."""
    if not access.can_approve(by, task_list.department):
        raise PermissionDenied
    return _change_list_state(
        task_list, by=by, to=TaskList.State.APPROVED, allowed_from={TaskList.State.SUBMITTED}, action="approve list"
    )


@transaction.atomic
def return_task_list(*, task_list, by, comment):
    """The division leader sends the submitted list back to draft with a comment."""
    if not access.can_approve(by, task_list.department):
        raise PermissionDenied
    if not (comment or "").strip():
        raise ValidationError({"comment": _("Say what needs to change.")})
    return _change_list_state(
        task_list,
        by=by,
        to=TaskList.State.DRAFT,
        allowed_from={TaskList.State.SUBMITTED},
        action="return list",
        comment=comment.strip(),
    )


# --- key tasks -----------------------------------------------------------------------


def _task_snapshot(task, targets):
    return {
        "title": task.title,
        "standard": task.standard,
        "owner": task.owner if task.owner_id else None,
        "deadline": task.deadline,
        "weight": task.weight,
        "cooperating_departments": [d.code for d in task.cooperating_departments.all()] if task.pk else [],
        **{f"target_{number}": targets.get(number, "") for number in range(1, STAGES_PER_YEAR + 1)},
    }


def validate_task_fields(*, task_list, title, standard, owner, deadline, weight, targets, task=None):
    """Field errors for a task of `task_list`, as a dict field -> message; empty when valid.
    Shared by the task form and the Excel import so both apply the same rules."""
    errors = {}
    year = task_list.year
    title_limit = KeyTask._meta.get_field("title").max_length
    if not (title or "").strip():
        errors["title"] = _("Give the task a title.")
    elif len(title.strip()) > title_limit:
        errors["title"] = _("Keep the title within %(limit)s characters.") % {"limit": title_limit}
    elif (
        KeyTask.objects.filter(year=year, department=task_list.department, title=title.strip())
        .exclude(pk=getattr(task, "pk", None))
        .exists()
    ):
        errors["title"] = _("The list already has a task with this title.")
    if not (standard or "").strip():
        errors["standard"] = _("Say what counts as done (the completion standard).")
    if owner is None:
        errors["owner"] = _("Choose the owner.")
    elif not owner.departments.filter(pk=task_list.department_id).exists():
        errors["owner"] = _("The owner must work in %(department)s.") % {"department": task_list.department}
    if deadline is None:
        errors["deadline"] = _("Give the deadline.")
    elif deadline.year != year.year:
        errors["deadline"] = _("The deadline must fall within %(year)s.") % {"year": year.year}
    if weight is None or not Decimal(weight).is_finite() or weight <= 0:
        errors["weight"] = _("The weight must be a positive number.")
    elif weight >= 1000 or Decimal(weight).as_tuple().exponent < -2:
        errors["weight"] = _("The weight must be below 1000, with at most two decimals.")
    for number in range(1, STAGES_PER_YEAR + 1):
        if not (targets.get(number) or "").strip():
            errors[f"target_{number}"] = _("Give the target of stage %(number)s.") % {"number": number}
    return errors


def _clean_text(value):
    """Trimmed text with one kind of line ending, whether it came from a browser or Excel."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _write_targets(task, stages, descriptions, existing):
    """Create the missing targets and update the changed ones in two queries at most."""
    existing = existing or {}
    StageTarget.objects.bulk_create(
        StageTarget(task=task, stage=stages[number], description=description)
        for number, description in descriptions.items()
        if number not in existing
    )
    changed = []
    for number, target in existing.items():
        if number in descriptions and target.description != descriptions[number]:
            target.description = descriptions[number]
            changed.append(target)
    if changed:
        StageTarget.objects.bulk_update(changed, ["description"])


@transaction.atomic
def save_task(
    *, task_list, by, title, standard, owner, deadline, weight, targets, cooperating=(), task=None, reason=""
):
    """Create or change a task of a list with its six stage targets, recording the change.

    A draft list changes freely; a submitted list waits for its leader; an approved list
    changes only with a written reason, which the task page shows."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    locked = TaskList.objects.select_for_update().get(pk=task_list.pk)
    if locked.state == TaskList.State.SUBMITTED:
        raise ValidationError(_("The list is with the division leader for approval; it cannot change now."))
    if locked.state == TaskList.State.APPROVED and not (reason or "").strip():
        raise ValidationError({"reason": _("The list is approved: give the reason for this change.")})
    errors = validate_task_fields(
        task_list=task_list, title=title, standard=standard, owner=owner, deadline=deadline,
        weight=weight, targets=targets, task=task,
    )  # fmt: skip
    if errors:
        raise ValidationError(errors)

    stages = {stage.number: stage for stage in task_list.year.stages.all()}
    if task is None:
        task = KeyTask(year=task_list.year, department=task_list.department)
        existing_targets = {}
    else:
        existing_targets = {t.stage.number: t for t in task.targets.select_related("stage")}
    before = _task_snapshot(task, {n: t.description for n, t in existing_targets.items()}) if task.pk else {}
    created = task.pk is None

    task.title, task.standard, task.owner = _clean_text(title), _clean_text(standard), owner
    task.deadline, task.weight = deadline, weight
    task.save()
    task.cooperating_departments.set([d for d in cooperating if d.pk != task_list.department_id])
    new_targets = {number: _clean_text(description) for number, description in targets.items()}
    _write_targets(task, stages, new_targets, existing=None if created else existing_targets)
    after = _task_snapshot(task, new_targets)
    if created:
        record_audit(actor=by, action="create task", subject=task, task=task, after=after, reason=reason)
    else:
        changed_before, changed_after = _changes(before, after)
        if changed_after:
            record_audit(
                actor=by, action="change task", subject=task, task=task,
                before=changed_before, after=changed_after, reason=reason.strip(),
            )  # fmt: skip
    return task


# --- self-assessments ----------------------------------------------------------------


@transaction.atomic
def save_self_assessment(*, task, stage, by, completion, account, evidence_files=(), submit=False):
    """Save the department's self-assessment of `task` for `stage` as a draft or submit it.

    Only staff of the task's department may; a submitted assessment stays read-only
    until a leader returns it. Submitting late is allowed and shows as late.
    Returns the assessment; raises ValidationError (nothing saved) on bad input."""
    if not access.can_work_on(by, task.department):
        raise PermissionDenied
    if stage.year_id != task.year_id:
        raise ValidationError(_("That stage belongs to another year."))
    assessment, _created = SelfAssessment.objects.select_for_update().get_or_create(task=task, stage=stage)
    if not assessment.is_editable:
        raise ValidationError(
            _("This self-assessment was %(state)s and is read-only until a leader returns it.")
            % {"state": assessment.get_state_display()}
        )
    if stage.start > timezone.localdate():
        raise ValidationError(_("Stage %(number)s has not started yet.") % {"number": stage.number})
    if completion is not None:
        try:
            classify(completion)
        except ValueError:
            raise ValidationError({"completion": _("Enter a completion from 0 to 100.")}) from None
        if Decimal(completion).as_tuple().exponent < -1:
            raise ValidationError({"completion": _("Use at most one decimal place, such as 82.5.")})
        completion = as_score(completion)
    problems = [message for message in map(check_evidence_file, evidence_files) if message]
    if problems:
        raise ValidationError({"evidence": problems})
    account = (account or "").strip()
    if submit:
        errors = {}
        if completion is None:
            errors["completion"] = _("Enter the completion before submitting.")
        if not account:
            errors["account"] = _("Describe what was done before submitting.")
        if errors:
            raise ValidationError(errors)
    existing = assessment.evidence.count()
    if existing + len(evidence_files) > EVIDENCE_MAX_FILES:
        raise ValidationError(
            {"evidence": _("At most %(count)s evidence files per assessment.") % {"count": EVIDENCE_MAX_FILES}}
        )

    before = {"completion": assessment.completion, "state": assessment.state, "account": assessment.account}
    assessment.completion = completion
    assessment.account = account
    assessment.version += 1
    assessment.updated_by = by
    if submit:
        assessment.state = SelfAssessment.State.SUBMITTED
        assessment.submitted_at = timezone.now()
        assessment.submitted_by = by
    assessment.save()
    for upload in evidence_files:
        Evidence.objects.create(
            assessment=assessment, file=upload, original_name=upload.name[:200], size=upload.size, uploaded_by=by
        )
    after = {"completion": assessment.completion, "state": assessment.state, "account": assessment.account}
    changed_before, changed_after = _changes(
        {k: _plain(v) for k, v in before.items()}, {k: _plain(v) for k, v in after.items()}
    )
    if changed_after or evidence_files:
        if evidence_files:
            changed_after["evidence"] = [upload.name for upload in evidence_files]
        record_audit(
            actor=by,
            action="submit self-assessment" if submit else "save self-assessment",
            subject=assessment,
            task=task,
            before=changed_before,
            after=changed_after,
        )
    return assessment
