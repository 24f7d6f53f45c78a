"""Write use cases of the tasks app. Views, admin, commands and Celery tasks call these."""

import calendar
import datetime
import json
import re
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import JSONField, Prefetch, Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from lightboard import clock
from lightboard.lights import parse_score
from lightboard.roles import Role, has_role
from lightboard.text import one_line
from lightboard.versioning import bump, check_version
from outbox.services import notify_many

from . import access, queries
from .audit import _plain as audit_value  # record_audit's own conversion, for the bulk entries
from .audit import changes, record_audit
from .evidence import EVIDENCE_MAX_FILES, check_evidence_file
from .models import (
    STAGES_PER_YEAR,
    AssessmentYear,
    AuditEntry,
    ChangeRequest,
    Comment,
    CommentRevision,
    Deputy,
    Evidence,
    KeyTask,
    SelfAssessment,
    Stage,
    StageTarget,
    TaskList,
    User,
)
from .results import NO_RESULT, stage_results

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


# --- task lists ----------------------------------------------------------------------


def lock_task_list(task_list):
    """The list's row, locked until the surrounding transaction ends; created (an empty draft) on
    the first write, so that only a write that succeeds leaves a list behind. `task_list` may be
    the unsaved list a page shows for a department that has none yet; it gets the row's id."""
    locked, _created = TaskList.objects.select_for_update().get_or_create(
        year=task_list.year, department=task_list.department
    )
    task_list.pk = locked.pk
    return locked


def _change_list_state(task_list, *, by, to, allowed_from, action, comment=""):
    """Move the list to state `to`, recording it; returns the audit entry of the move."""
    locked = lock_task_list(task_list)
    if locked.state not in allowed_from:
        raise ValidationError(
            _("This list is %(state)s and cannot be changed that way; reload the page.")
            % {"state": locked.get_state_display()}
        )
    before = locked.state
    locked.state = to
    locked.return_comment = comment
    locked.save(update_fields=["state", "return_comment", "updated_at"])
    task_list.state, task_list.return_comment = locked.state, locked.return_comment
    leader = task_list.department.division_leader if task_list.department.division_leader_id else None
    return record_audit(
        actor=by, action=action, subject=locked, before={"state": before}, after={"state": to}, reason=comment,
        on_behalf_of=access.on_behalf_of(by, leader, Role.DIVISION_LEADER),
    )  # fmt: skip


def _tell_about_list(task_list, entry, *, recipients, kind, subject):
    """One message per recipient about a move of the list (the audit entry makes it unique)."""
    notify_many(
        recipients=recipients,
        kind=kind,
        subject=subject % {"department": task_list.department, "year": task_list.year.year},
        body=entry.reason,
        link=reverse("tasks:list", kwargs={"year": task_list.year.year, "code": task_list.department.code}),
        key=lambda user: f"task-list:{entry.pk}:{user.pk}",
    )


@transaction.atomic
def submit_task_list(*, task_list, by):
    """Staff send the draft list to their division leader for approval; the leader is told."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    if not task_list.department.tasks.filter(year=task_list.year).exists():
        raise ValidationError(_("Add at least one task before submitting the list."))
    entry = _change_list_state(
        task_list, by=by, to=TaskList.State.SUBMITTED, allowed_from={TaskList.State.DRAFT}, action="submit list"
    )
    leader = access.leader_of(task_list.department)
    _tell_about_list(
        task_list,
        entry,
        recipients=[leader] if leader else [],
        kind="list_submitted",
        subject=_("Task list to approve: %(department)s, %(year)s"),
    )
    return task_list


@transaction.atomic
def approve_task_list(*, task_list, by):
    """The department's division leader approves the submitted list; it is then frozen. The
    department's staff are told."""
    if not access.leads(by, task_list.department):
        raise PermissionDenied
    entry = _change_list_state(
        task_list, by=by, to=TaskList.State.APPROVED, allowed_from={TaskList.State.SUBMITTED}, action="approve list"
    )
    _tell_about_list(
        task_list,
        entry,
        recipients=queries.department_staff(task_list.department),
        kind="list_approved",
        subject=_("Task list approved: %(department)s, %(year)s"),
    )
    return task_list


@transaction.atomic
def return_task_list(*, task_list, by, comment):
    """The division leader sends the submitted list back to draft with a comment, which the
    department's staff are sent."""
    if not access.leads(by, task_list.department):
        raise PermissionDenied
    if not (comment or "").strip():
        raise ValidationError({"comment": _("Say what needs to change.")})
    entry = _change_list_state(
        task_list,
        by=by,
        to=TaskList.State.DRAFT,
        allowed_from={TaskList.State.SUBMITTED},
        action="return list",
        comment=comment.strip(),
    )
    _tell_about_list(
        task_list,
        entry,
        recipients=queries.department_staff(task_list.department),
        kind="list_returned",
        subject=_("Task list returned: %(department)s, %(year)s"),
    )
    return task_list


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
    title_taken = (
        KeyTask.objects.filter(year=task_list.year, department=task_list.department, title=one_line(title))
        .exclude(pk=getattr(task, "pk", None))
        .exists()
    )
    owner_is_member = owner is not None and owner.departments.filter(pk=task_list.department_id).exists()
    return task_field_errors(
        task_list=task_list, title=title, standard=standard, owner=owner, deadline=deadline, weight=weight,
        targets=targets, title_taken=title_taken, owner_is_member=owner_is_member,
    )  # fmt: skip


def task_field_errors(*, task_list, title, standard, owner, deadline, weight, targets, title_taken, owner_is_member):
    """validate_task_fields without a query: whether the title is taken by another task of the
    list and whether the owner works in the department are given, as the import reads them once
    for all its rows."""
    errors = {}
    year = task_list.year
    title_limit = KeyTask._meta.get_field("title").max_length
    title = one_line(title)
    if not title:
        errors["title"] = _("Give the task a title.")
    elif len(title) > title_limit:
        errors["title"] = _("Keep the title within %(limit)s characters.") % {"limit": title_limit}
    elif title_taken:
        errors["title"] = _("The list already has a task with this title.")
    if not (standard or "").strip():
        errors["standard"] = _("Say what counts as done (the completion standard).")
    if owner is None:
        errors["owner"] = _("Choose the owner.")
    elif not owner_is_member:
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


def _changes_needing_approval(task, *, deadline, standard, targets):
    """On an approved list the deadline, the completion standard and the stage targets change
    only through a change request the leadership group approves: field errors for any of them
    changed here."""
    message = _("The list is approved: request this change, and the leadership group decides.")
    errors = {}
    if deadline != task.deadline:
        errors["deadline"] = message
    if _clean_text(standard) != task.standard:
        errors["standard"] = message
    current = {t.stage.number: t.description for t in task.targets.select_related("stage")}
    for number, description in targets.items():
        if _clean_text(description) != current.get(number, ""):
            errors[f"target_{number}"] = message
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
    locked = lock_task_list(task_list)
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
    if task is not None and locked.state == TaskList.State.APPROVED:
        guarded = _changes_needing_approval(task, deadline=deadline, standard=standard, targets=targets)
        if guarded:
            raise ValidationError(guarded)

    stages = {stage.number: stage for stage in task_list.year.stages.all()}
    if task is None:
        task = KeyTask(year=task_list.year, department=task_list.department)
        existing_targets = {}
    else:
        existing_targets = {t.stage.number: t for t in task.targets.select_related("stage")}
    before = _task_snapshot(task, {n: t.description for n, t in existing_targets.items()}) if task.pk else {}
    created = task.pk is None

    task.title, task.standard, task.owner = one_line(title), _clean_text(standard), owner
    task.deadline, task.weight = deadline, weight
    task.save()
    task.cooperating_departments.set([d for d in cooperating if d.pk != task_list.department_id])
    new_targets = {number: _clean_text(description) for number, description in targets.items()}
    _write_targets(task, stages, new_targets, existing=None if created else existing_targets)
    after = _task_snapshot(task, new_targets)
    if created:
        record_audit(actor=by, action="create task", subject=task, task=task, after=after, reason=reason)
    else:
        changed_before, changed_after = changes(before, after)
        if changed_after:
            record_audit(
                actor=by, action="change task", subject=task, task=task,
                before=changed_before, after=changed_after, reason=reason.strip(),
            )  # fmt: skip
    return task


def _snapshot_values(*, title, standard, owner, deadline, weight, codes, targets):
    """_task_snapshot's values for a task the bulk import holds in memory (codes sorted by code,
    as the cooperating departments are ordered)."""
    return {
        "title": title,
        "standard": standard,
        "owner": owner,
        "deadline": deadline,
        "weight": weight,
        "cooperating_departments": sorted(codes),
        **{f"target_{number}": targets.get(number, "") for number in range(1, STAGES_PER_YEAR + 1)},
    }


def _plain_values(values):
    return {key: audit_value(value) for key, value in values.items()}


AUDIT_COLUMNS = ["at", "actor_id", "action", "subject_type", "subject_id", "task_id", "before", "after", "reason"]


def _insert_rows(model, columns, rows):
    """Insert `rows` (tuples of values for the attnames `columns` of `model`) in bulk. On
    PostgreSQL through COPY, its bulk load: an import writes six targets and an audit entry per
    row, and tens of thousands of model instances and an INSERT's parameters cost several times
    what the server does with the rows (measured by `make bench`). Elsewhere with bulk_create.
    Defaults and auto_now_add are not applied: give every column."""
    if not rows:
        return
    fields = [model._meta.get_field(column) for column in columns]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(model(**dict(zip(columns, row, strict=True))) for row in rows)
        return
    as_json = [index for index, field in enumerate(fields) if isinstance(field, JSONField)]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) FROM STDIN"
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            if as_json:
                row = list(row)
                for index in as_json:
                    row[index] = json.dumps(row[index])
            copy.write_row(row)


@transaction.atomic
def save_tasks_in_bulk(*, task_list, by, rows):
    """Create or change many tasks of a draft list at once, as save_task would one by one, in a
    fixed number of queries whatever the number of rows: the import's write. `rows` are
    save_task's keyword arguments (task, title, standard, owner, deadline, weight, targets,
    cooperating), already checked with task_field_errors against the list as it is now (the
    caller holds the list's lock). Each created or changed task gets its audit entry, as with
    save_task. Returns, in the order of `rows`, "created", "changed" or "unchanged"."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    locked = lock_task_list(task_list)
    if locked.state != TaskList.State.DRAFT:
        raise ValidationError(_("Only a draft list takes tasks in bulk."))
    own_department = task_list.department_id
    stages = dict(task_list.year.stages.values_list("number", "pk"))  # ids: light model instances below
    in_list = {"task__year": task_list.year, "task__department_id": own_department}
    old_targets = defaultdict(dict)
    for target in StageTarget.objects.filter(**in_list).select_related("stage"):
        old_targets[target.task_id][target.stage.number] = target
    Through = KeyTask.cooperating_departments.through
    old_links = defaultdict(dict)  # task id -> {department id: (through row id, code)}
    for link_id, task_id, department_id, code in Through.objects.filter(
        keytask__year=task_list.year, keytask__department_id=own_department
    ).values_list("pk", "keytask_id", "department_id", "department__code"):
        old_links[task_id][department_id] = (link_id, code)

    now = timezone.now()
    outcomes, new_tasks, new_rows, changed_tasks = [], [], [], []
    new_targets, changed_targets, new_links, dropped_links, entries = [], [], [], [], []
    for row in rows:
        task = row["task"]
        title, standard = one_line(row["title"]), _clean_text(row["standard"])
        descriptions = {number: _clean_text(text) for number, text in row["targets"].items()}
        cooperating = {d.pk: d for d in row.get("cooperating") or () if d.pk != own_department}
        after = _snapshot_values(
            title=title, standard=standard, owner=row["owner"], deadline=row["deadline"], weight=row["weight"],
            codes=[d.code for d in cooperating.values()], targets=descriptions,
        )  # fmt: skip
        if task is None:
            task = KeyTask(
                year=task_list.year, department_id=own_department, title=title, standard=standard,
                owner=row["owner"], deadline=row["deadline"], weight=row["weight"],
            )  # fmt: skip
            new_tasks.append(task)
            new_rows.append((task, descriptions, cooperating, after))
            outcomes.append("created")
            continue
        targets = old_targets.get(task.pk, {})
        links = old_links.get(task.pk, {})
        before = _snapshot_values(
            title=task.title, standard=task.standard, owner=task.owner, deadline=task.deadline, weight=task.weight,
            codes=[code for _link, code in links.values()],
            targets={number: target.description for number, target in targets.items()},
        )  # fmt: skip
        changed_before, changed_after = changes(before, after)
        if not changed_after:
            outcomes.append("unchanged")
            continue
        outcomes.append("changed")
        fields = {"title": title, "standard": standard, "owner": row["owner"]}
        fields |= {"deadline": row["deadline"], "weight": row["weight"]}
        if any(getattr(task, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(task, name, value)
            changed_tasks.append(task)
        for number, description in descriptions.items():
            target = targets.get(number)
            if target is None:
                new_targets.append((task.pk, stages[number], description))
            elif target.description != description:
                target.description = description
                changed_targets.append(target)
        dropped_links += [link for department_id, (link, _code) in links.items() if department_id not in cooperating]
        new_links += [Through(keytask_id=task.pk, department_id=pk) for pk in cooperating if pk not in links]
        entries.append(
            (now, by.pk, "change task", "keytask", task.pk, task.pk, _plain_values(changed_before),
             _plain_values(changed_after), "")
        )  # fmt: skip

    KeyTask.objects.bulk_create(new_tasks)
    for task, descriptions, cooperating, after in new_rows:
        new_targets += [(task.pk, stages[number], text) for number, text in descriptions.items()]
        new_links += [Through(keytask_id=task.pk, department_id=pk) for pk in cooperating]
        entries.append((now, by.pk, "create task", "keytask", task.pk, task.pk, {}, _plain_values(after), ""))
    if changed_tasks:
        KeyTask.objects.bulk_update(changed_tasks, ["title", "standard", "owner", "deadline", "weight"])
    _insert_rows(StageTarget, ["task_id", "stage_id", "description"], new_targets)
    if changed_targets:
        StageTarget.objects.bulk_update(changed_targets, ["description"])
    if dropped_links:
        Through.objects.filter(pk__in=dropped_links).delete()
    Through.objects.bulk_create(new_links)
    _insert_rows(AuditEntry, AUDIT_COLUMNS, entries)
    return outcomes


# --- self-assessments ----------------------------------------------------------------


def submission_errors(*, completion, account):
    """What a self-assessment lacks to be submitted: {field: message}, empty when complete."""
    errors = {}
    if completion is None:
        errors["completion"] = _("Enter the completion before submitting.")
    if not (account or "").strip():
        errors["account"] = _("Describe what was done before submitting.")
    return errors


def _checked_assessment_input(*, completion, account, evidence_files, existing_files, submit):
    """The completion as stored and the trimmed account; ValidationError names each bad field."""
    errors = {}
    if completion is not None:
        try:
            completion = parse_score(completion, field="completion")
        except ValidationError as error:
            errors.update(error.message_dict)
    problems = [message for message in map(check_evidence_file, evidence_files) if message]
    if problems:
        errors["evidence"] = problems
    elif existing_files + len(evidence_files) > EVIDENCE_MAX_FILES:
        errors["evidence"] = _("At most %(count)s evidence files per assessment.") % {"count": EVIDENCE_MAX_FILES}
    account = (account or "").strip()
    if submit:
        for field, message in submission_errors(completion=completion, account=account).items():
            errors.setdefault(field, message)
    if errors:
        raise ValidationError(errors)
    return completion, account


def save_self_assessment(*, task, stage, by, version, completion, account, evidence_files=(), submit=False, reason=""):
    """Save the department's self-assessment of `task` for `stage` as a draft or submit it.

    Only staff of the task's department may; a submitted assessment stays read-only
    until a leader returns it. Submitting late is allowed and shows as late. `version` is the
    one the form was loaded at (0 before the first save): if a colleague saved in between,
    StaleEdit says who and when, and nothing is saved.
    Returns the assessment; raises ValidationError (nothing saved) on bad input. Evidence
    files are stored as their rows are written; a save that fails after that removes them.
    `reason` goes into the audit entry, e.g. the integration a write came through."""
    stored = []
    try:
        return _save_self_assessment(
            task=task, stage=stage, by=by, version=version, completion=completion, account=account,
            evidence_files=evidence_files, submit=submit, stored=stored, reason=reason,
        )  # fmt: skip
    except BaseException:
        for evidence in stored:
            evidence.file.delete(save=False)
        raise


@transaction.atomic
def _save_self_assessment(*, task, stage, by, version, completion, account, evidence_files, submit, stored, reason):
    if not access.can_work_on(by, task.department):
        raise PermissionDenied
    if stage.year_id != task.year_id:
        raise ValidationError(_("That stage belongs to another year."))
    assessment, _created = SelfAssessment.objects.select_for_update().get_or_create(task=task, stage=stage)
    check_version(assessment, version)
    if not assessment.is_editable:
        raise ValidationError(
            _("This self-assessment was %(state)s and is read-only until a leader returns it.")
            % {"state": assessment.get_state_display()}
        )
    if stage.start > clock.today():
        raise ValidationError(_("Stage %(number)s has not started yet.") % {"number": stage.number})
    completion, account = _checked_assessment_input(
        completion=completion,
        account=account,
        evidence_files=evidence_files,
        existing_files=assessment.evidence.count(),
        submit=submit,
    )

    before = {"completion": assessment.completion, "state": assessment.state, "account": assessment.account}
    fields = {"completion": completion, "account": account}
    if submit:
        fields.update(state=SelfAssessment.State.SUBMITTED, submitted_at=timezone.now(), submitted_by=by)
    bump(assessment, version=version, by=by, **fields)
    for upload in evidence_files:
        evidence = Evidence(assessment=assessment, original_name=upload.name[:200], size=upload.size, uploaded_by=by)
        evidence.file.save(upload.name, upload, save=False)  # in storage before its row: never a file unknown
        stored.append(evidence)
        evidence.save()
    after = {"completion": assessment.completion, "state": assessment.state, "account": assessment.account}
    changed_before, changed_after = changes(before, after)
    if evidence_files:
        changed_after["evidence"] = [upload.name for upload in evidence_files]
    if changed_after:
        record_audit(
            actor=by,
            action="submit self-assessment" if submit else "save self-assessment",
            subject=assessment,
            task=task,
            before=changed_before,
            after=changed_after,
            reason=reason,
        )
    return assessment


@transaction.atomic
def remove_evidence(*, evidence, by, version):
    """Staff take an evidence file off a self-assessment they may still change (a draft or a
    returned one), at the version their form shows; the file goes from storage once the removal
    is committed."""
    assessment = (
        SelfAssessment.objects.select_for_update(of=("self",))
        .select_related("task__department", "updated_by")
        .get(pk=evidence.assessment_id)
    )
    if not access.can_work_on(by, assessment.task.department):
        raise PermissionDenied
    check_version(assessment, version)
    if not assessment.is_editable:
        raise ValidationError(
            _("This self-assessment was %(state)s and is read-only until a leader returns it.")
            % {"state": assessment.get_state_display()}
        )
    file = evidence.file
    evidence.delete()
    bump(assessment, version=version, by=by)
    record_audit(
        actor=by,
        action="remove evidence",
        subject=assessment,
        task=assessment.task,
        before={"evidence": [evidence.original_name]},
        after={"evidence": []},
    )
    transaction.on_commit(lambda: file.storage.delete(file.name))


# --- discussions: comments, @mentions and the leadership's instructions (批示) ---------------

COMMENT_MAX_LENGTH = 4000
# "@" and a username or a full name, up to a space or punctuation: "@陈志远，请关注" names 陈志远.
MENTION = re.compile(r"@([^\s@,.;:!?()，。、；：！？（）“”]+)")


def mentioned_names(text):
    return set(MENTION.findall(text))


def mentioned_users(text):
    """The active users a text names with @username or @full name."""
    names = mentioned_names(text)
    if not names:
        return []
    return list(User.objects.filter(is_active=True).filter(Q(username__in=names) | Q(name__in=names)))


def _comment_text(text):
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the comment.")})
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationError({"text": _("Keep a comment under %(count)s characters.") % {"count": COMMENT_MAX_LENGTH}})
    return text


def _tell_mentioned(comment, people, by):
    """Notify those named who may read the discussion (they are `comment.told`); return those
    who may not (not told)."""
    told, not_told = [], []
    comment.told = told
    for user in people:
        if user.pk == by.pk or comment.mentioned.filter(pk=user.pk).exists():
            continue
        (told if access.may_see_thread(user, comment.task, comment.thread) else not_told).append(user)
    if told:
        comment.mentioned.add(*told)
        notify_many(
            recipients=told,
            kind="comment_mention",
            subject=_("%(who)s mentioned you: %(task)s") % {"who": by, "task": comment.task.title},
            body=comment.text[:500],
            link=f"{access.thread_url(comment.task, comment.thread)}#comment-{comment.pk}",
            key=lambda user: f"comment:{comment.pk}:{user.pk}",
        )
    return not_told


def _tell_of_instruction(comment, by):
    """An instruction (批示) goes to the task's owner and the staff of its department."""
    task = comment.task
    recipients = [user for user in queries.owner_and_staff(task) if user.pk != by.pk]
    notify_many(
        recipients=recipients,
        kind="instruction",
        subject=_("Instruction from %(who)s: %(task)s") % {"who": by, "task": task.title},
        body=comment.text[:500],
        link=f"{access.thread_url(task, comment.thread)}#comment-{comment.pk}",
        key=lambda user: f"instruction:{comment.pk}:{user.pk}",
    )
    return {user.pk for user in recipients}


def _history_task(comment):
    """The task whose history shows a comment's edits and instructions: only a task's own
    discussion (a case's is read by fewer people than its task)."""
    return None if comment.thread else comment.task


def _mark_instruction(comment, by):
    comment.is_instruction, comment.instructed_by, comment.instructed_at = True, by, timezone.now()
    comment.save(update_fields=["is_instruction", "instructed_by", "instructed_at"])
    record_audit(
        actor=by, action="instruction", subject=comment, task=_history_task(comment), after={"text": comment.text}
    )
    return _tell_of_instruction(comment, by)


@transaction.atomic
def post_comment(*, task, by, text, thread="", instruction=False):
    """Add a comment to a discussion of the task; those it @mentions are told. A member of the
    leadership group may give it as an instruction (批示). Returns the comment, with
    `not_told`: the people named who may not read the discussion."""
    if not access.may_see_thread(by, task, thread):
        raise PermissionDenied
    if instruction and not access.may_instruct(by):
        raise PermissionDenied
    comment = Comment.objects.create(task=task, thread=thread, author=by, text=_comment_text(text))
    told = set()
    if instruction:
        told = _mark_instruction(comment, by)
    people = mentioned_users(comment.text)
    mentioned = [user for user in people if user.pk not in told]
    comment.not_told = _tell_mentioned(comment, mentioned, by)
    comment.unknown = _unknown_names(comment.text, people)
    return comment


@transaction.atomic
def edit_comment(*, comment_id, by, text):
    """The author changes their comment; the earlier text is kept as a revision, the change is
    on the task's history, and anyone newly @mentioned is told."""
    comment = Comment.objects.select_for_update(of=("self",)).select_related("task").get(pk=comment_id)
    if not access.may_edit_comment(by, comment) or not access.may_see_thread(by, comment.task, comment.thread):
        raise PermissionDenied
    text = _comment_text(text)
    if text == comment.text:
        comment.not_told, comment.told, comment.unknown = [], [], []
        return comment
    written_at = comment.edited_at or comment.created_at
    CommentRevision.objects.create(comment=comment, text=comment.text, written_at=written_at)
    record_audit(
        actor=by, action="edit comment", subject=comment, task=_history_task(comment), before={"text": comment.text},
        after={"text": text},
    )  # fmt: skip
    comment.text, comment.edited_at = text, timezone.now()
    comment.save(update_fields=["text", "edited_at"])
    people = mentioned_users(text)
    comment.not_told = _tell_mentioned(comment, people, by)
    comment.unknown = _unknown_names(text, people)
    return comment


def _unknown_names(text, people):
    """The names after an @ that are nobody's (a typo): the author is told."""
    known = {user.username for user in people} | {user.name for user in people}
    return sorted(mentioned_names(text) - known)


@transaction.atomic
def mark_instruction(*, comment_id, by):
    """A member of the leadership group marks a comment as an instruction (批示)."""
    comment = Comment.objects.select_for_update(of=("self",)).select_related("task").get(pk=comment_id)
    if not access.may_instruct(by) or not access.may_see_thread(by, comment.task, comment.thread):
        raise PermissionDenied
    if comment.is_instruction:
        raise ValidationError(_("This comment is already an instruction."))
    _mark_instruction(comment, by)
    return comment


# --- change requests: deadline extensions and changed targets, decided by the leadership ------


@transaction.atomic
def request_change(*, task, by, kind, reason, new_deadline=None, stage=None, new_text=""):
    """The owner or the department's staff ask to extend the deadline of a task of an approved
    list, or to change one of its stage targets or its completion standard, with a reason. The
    leadership group is told. One request of a kind (per stage) waits at a time."""
    if not access.may_request_change(by, task):
        raise PermissionDenied
    task = KeyTask.objects.select_for_update(of=("self",)).select_related("year", "department").get(pk=task.pk)
    task_list = TaskList.objects.filter(year=task.year, department=task.department).first()
    if task_list is None or task_list.state != TaskList.State.APPROVED:
        raise ValidationError(_("The list is not approved yet: change the task itself."))
    Kind = ChangeRequest.Kind
    request = ChangeRequest(task=task, kind=kind, requested_by=by, reason=(reason or "").strip())
    errors = {}
    if kind == Kind.DEADLINE:
        request.old_deadline, request.new_deadline = task.deadline, new_deadline
        if new_deadline is None:
            errors["new_deadline"] = _("Give the new deadline.")
        elif new_deadline <= task.deadline:
            errors["new_deadline"] = _("An extension moves the deadline later than %(date)s.") % {
                "date": formats.date_format(task.deadline, "DATE_FORMAT")
            }
        elif new_deadline.year != task.year.year:
            errors["new_deadline"] = _("The deadline must fall within %(year)s.") % {"year": task.year.year}
    elif kind in (Kind.TARGET, Kind.STANDARD):
        if kind == Kind.TARGET and (stage is None or stage.year_id != task.year_id):
            errors["stage"] = _("Choose the stage whose target changes.")
        elif kind == Kind.TARGET and stage.end < clock.today():
            errors["stage"] = _("Stage %(number)s has ended: it was assessed against its target.") % {
                "number": stage.number
            }
        else:
            request.stage = stage
            request.old_text = (
                task.standard
                if kind == Kind.STANDARD
                else StageTarget.objects.filter(task=task, stage=stage).values_list("description", flat=True).first()
                or ""
            )
        request.new_text = _clean_text(new_text)
        if not request.new_text:
            errors["new_text"] = _("Write the new text.")
        elif request.new_text == request.old_text:
            errors["new_text"] = _("The new text is the same as the current one.")
    else:
        errors["kind"] = _("Choose what to change.")
    if not request.reason:
        errors["reason"] = _("Give the reason for the change.")
    if errors:
        raise ValidationError(errors)
    waiting = ChangeRequest.objects.filter(task=task, kind=kind, stage=request.stage, state=ChangeRequest.State.PENDING)
    if waiting.exists():
        raise ValidationError(_("A request of this kind is already awaiting the leadership group."))
    request.save()
    record_audit(
        actor=by, action="request change", subject=request, task=task,
        before={request.kind: request.before}, after={request.kind: request.after}, reason=request.reason,
    )  # fmt: skip
    notify_many(
        recipients=queries.active_members(Role.LEADERSHIP, reaching=task.department_id),
        kind="change_requested",
        subject=_("%(what)s requested: %(task)s") % {"what": request.get_kind_display(), "task": task.title},
        body=request.reason,
        link=reverse("tasks:changes"),
        key=lambda user: f"change-requested:{request.pk}:{user.pk}",
    )
    return request


@transaction.atomic
def decide_change(*, request_id, by, approve, comment=""):
    """A member of the leadership group approves a change request, which changes the task (the
    earlier value stays on the request and the history), or rejects it with a comment. Whoever
    asked and the owner are told."""
    if not access.may_decide_changes(by):
        raise PermissionDenied
    request = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("task", "stage", "requested_by")
        .get(pk=request_id)
    )
    if not access.in_scope(by, request.task.department_id):
        raise ChangeRequest.DoesNotExist  # another unit's request does not exist for them
    if request.state != ChangeRequest.State.PENDING:
        raise ValidationError(_("This request was already %(state)s.") % {"state": request.get_state_display()})
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": _("Say why the request is rejected.")})
    task = KeyTask.objects.select_for_update().get(pk=request.task_id)
    Kind = ChangeRequest.Kind
    if approve:
        if request.kind == Kind.DEADLINE:
            request.old_deadline, task.deadline = task.deadline, request.new_deadline
            task.save(update_fields=["deadline"])
        elif request.kind == Kind.STANDARD:
            request.old_text, task.standard = task.standard, request.new_text
            task.save(update_fields=["standard"])
        else:
            target, _created = StageTarget.objects.get_or_create(task=task, stage=request.stage)
            request.old_text, target.description = target.description, request.new_text
            target.save(update_fields=["description"])
    request.state = ChangeRequest.State.APPROVED if approve else ChangeRequest.State.REJECTED
    request.decided_by, request.decided_at, request.decision_comment = by, timezone.now(), comment
    request.save()
    record_audit(
        actor=by, action="approve change" if approve else "reject change", subject=request, task=task,
        before={request.kind: request.before} if approve else {},
        after={request.kind: request.after} if approve else {},
        reason=comment or request.reason,
    )  # fmt: skip
    words = {"what": request.get_kind_display(), "task": task.title}
    notify_many(
        recipients={request.requested_by, task.owner},
        kind="change_decided",
        subject=(_("Approved: %(what)s, %(task)s") if approve else _("Rejected: %(what)s, %(task)s")) % words,
        body=comment,
        link=reverse("tasks:detail", kwargs={"task_id": task.pk}),
        key=lambda user: f"change-decided:{request.pk}:{user.pk}",
    )
    return request


# --- deputies (代理) ----------------------------------------------------------------------


@transaction.atomic
def name_deputy(*, principal, deputy, role, starts, ends):
    """A division leader or an inspector names someone of the same role to stand in for them
    from `starts` to `ends` (today or later); the deputy is told. Ranges of one person and role
    do not overlap."""
    role = Role(role)
    if role not in Deputy.ROLES or not has_role(principal, role):
        raise PermissionDenied
    errors = {}
    if deputy is None or deputy.pk == principal.pk or not deputy.is_active or not has_role(deputy, role):
        errors["deputy"] = _("Choose someone else of the same role.")
    elif not access.reaches(deputy, principal):
        errors["deputy"] = _("Choose someone whose role covers all of your units.")
    if starts is None or ends is None:
        errors["ends"] = _("Give the first and the last day.")
    elif ends < starts:
        errors["ends"] = _("The last day comes on or after the first.")
    elif ends < clock.today():
        errors["ends"] = _("The last day has passed.")
    if errors:
        raise ValidationError(errors)
    User.objects.select_for_update().get(pk=principal.pk)  # one naming at a time per person
    overlapping = Deputy.objects.filter(principal=principal, role=role, starts__lte=ends, ends__gte=starts)
    if overlapping.exists():
        raise ValidationError({"starts": _("Another deputy stands in for you on some of these days.")})
    named = Deputy.objects.create(principal=principal, deputy=deputy, role=role, starts=starts, ends=ends)
    record_audit(
        actor=principal, action="name deputy", subject=named,
        after={"deputy": str(deputy), "from": starts, "until": ends},
    )  # fmt: skip
    notify_many(
        recipients=[deputy],
        kind="deputy_named",
        subject=_("You stand in for %(who)s from %(starts)s to %(ends)s")
        % {
            "who": principal,
            "starts": formats.date_format(starts, "SHORT_DATE_FORMAT"),
            "ends": formats.date_format(ends, "SHORT_DATE_FORMAT"),
        },
        link=reverse("reviews:confirmations" if role == Role.DIVISION_LEADER else "reviews:followups"),
        key=lambda user: f"deputy-named:{named.pk}:{user.pk}",
    )
    return named


@transaction.atomic
def withdraw_deputy(*, deputy_id, by):
    """The absent person takes a deputy back; what the deputy did stays recorded as for them."""
    named = Deputy.objects.select_for_update().filter(pk=deputy_id, principal=by).first()
    if named is None:
        raise PermissionDenied
    record_audit(actor=by, action="withdraw deputy", subject=named, before={"deputy": str(named.deputy)})
    named.delete()


# --- next year's list from this year's (carried over) ------------------------------------------

# Settings of a year that next year starts with when a list is first copied into it.
YEAR_SETTINGS = (
    "green_above", "red_below", "serious_below", "serious_when_red_twice", "serious_red_across_years",
    "supervision_reply_days", "reminder_reply_days", "acknowledge_within_days",
)  # fmt: skip


def is_finished(task, results):
    """A task is done when the last stage of its year was lit green (results: stage_results)."""
    return results.get((task.pk, STAGES_PER_YEAR), NO_RESULT).final_light == "green"


def _same_day_next_year(day):
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


@transaction.atomic
def copy_list_to_next_year(*, task_list, by, unfinished_only=False):
    """Copy a department's list into next year's draft: each task with its owner, standard,
    weight, cooperating departments, deadline (a year on) and stage targets, linked to the
    original so its history continues. Only unfinished tasks (the last stage not green) when
    asked. A task already carried over, or whose title next year's list has, is not copied
    again. Next year (with this year's settings) and its list are created when missing.
    Returns (the tasks created, how many were already there)."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    year = task_list.year
    next_year = AssessmentYear.objects.filter(year=year.year + 1).first()
    if next_year is None:
        next_year = create_assessment_year(year=year.year + 1)
        for name in YEAR_SETTINGS:
            setattr(next_year, name, getattr(year, name))
        next_year.save()
    target = lock_task_list(TaskList(year=next_year, department=task_list.department))
    if target.state != TaskList.State.DRAFT:
        raise ValidationError(
            _("The %(year)s list is %(state)s: it takes no more tasks.")
            % {"year": next_year.year, "state": target.get_state_display()}
        )
    tasks = list(
        KeyTask.objects.filter(year=year, department=task_list.department)
        .select_related("owner")
        .prefetch_related(
            "cooperating_departments", Prefetch("targets", queryset=StageTarget.objects.select_related("stage"))
        )
        .order_by("deadline", "id")
    )
    if unfinished_only:
        results = stage_results(KeyTask.objects.filter(pk__in=[task.pk for task in tasks]))
        tasks = [task for task in tasks if not is_finished(task, results)]
    carried = set(KeyTask.objects.filter(carried_from__in=tasks).values_list("carried_from_id", flat=True))
    titles = set(
        KeyTask.objects.filter(year=next_year, department=task_list.department).values_list("title", flat=True)
    )
    to_copy = [task for task in tasks if task.pk not in carried and task.title not in titles]
    created = KeyTask.objects.bulk_create(
        KeyTask(
            year=next_year, department=task.department, title=task.title, standard=task.standard, owner=task.owner,
            deadline=_same_day_next_year(task.deadline), weight=task.weight, carried_from=task,
        )
        for task in to_copy
    )  # fmt: skip
    stages = {stage.number: stage for stage in next_year.stages.all()}
    StageTarget.objects.bulk_create(
        StageTarget(task=new, stage=stages[target.stage.number], description=target.description)
        for new, old in zip(created, to_copy, strict=True)
        for target in old.targets.all()
    )
    Through = KeyTask.cooperating_departments.through
    Through.objects.bulk_create(
        Through(keytask_id=new.pk, department_id=department.pk)
        for new, old in zip(created, to_copy, strict=True)
        for department in old.cooperating_departments.all()
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=by, action="create task", subject_type="keytask", subject_id=new.pk, task=new,
            after={"carried_from": f"{year.year}"}, reason=_("Carried over from %(year)s") % {"year": year.year},
        )
        for new in created
    )  # fmt: skip
    return created, len(tasks) - len(to_copy)


# --- users: active or not ----------------------------------------------------------------------


@transaction.atomic
def set_user_active(*, user, active, by):
    """An administrator makes `user` active or not. A deactivation is then the administrator's,
    also of a user the directory had deactivated: directory sign-in and sync leave it alone
    (directory.services.suspended_here). Making the user active ends any deactivation, whoever
    made it, and gives the directory the say again. Audited when anything changes; `user` is
    updated in memory too."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = {"is_active": locked.is_active, "deactivated_by": locked.deactivated_by}
    by_whom = User.DeactivatedBy.NOBODY if active else User.DeactivatedBy.ADMINISTRATOR
    after = {"is_active": bool(active), "deactivated_by": by_whom}
    if after != before:
        locked.is_active, locked.deactivated_by = after["is_active"], after["deactivated_by"]
        locked.save(update_fields=["is_active", "deactivated_by"])
        action = "activate user" if active else "deactivate user"
        record_audit(actor=by, action=action, subject=locked, before=before, after=after)
    user.is_active, user.deactivated_by = locked.is_active, locked.deactivated_by
    return user
