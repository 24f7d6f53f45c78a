"""The audit trail: who changed which score, state or task, when, from what to what, and why;
and the task page's history, with every action, field and value named in the reader's language.

Apps built on tasks record their own actions on a task's history and name them once, at
start-up, through `register_history_names` (tasks imports none of them)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from lightboard.statements import CompiledQuery

from .models import AuditEntry, SelfAssessment, TaskList


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


def record_audit(
    *, actor, action, subject, task=None, task_id=None, before=None, after=None, reason="", on_behalf_of=None
):
    """Write one audit entry: who did `action` to `subject` (for whom, when a deputy), the
    changed values and why. Call it inside the transaction that makes the change."""
    return AuditEntry.objects.create(
        actor=actor,
        on_behalf_of=on_behalf_of,
        action=action,
        subject_type=subject._meta.model_name,
        subject_id=subject.pk,
        task_id=task.pk if task is not None else task_id,
        before={key: _plain(value) for key, value in (before or {}).items()},
        after={key: _plain(value) for key, value in (after or {}).items()},
        reason=reason,
    )


def changes(before, after):
    """The values that differ between two snapshots, as (before, after) dicts of those keys only.
    Values compare as they are (Decimal("1") equals Decimal("1.00"))."""
    changed = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in changed}, {key: after[key] for key in changed}


# --- the names of the history ------------------------------------------------------------


class _HistoryNames:
    """What the task page calls each recorded action, field, state and value."""

    def __init__(self):
        self.actions = dict(AuditEntry.Action.choices)
        self.fields = {
            "title": _("Task"),
            "standard": _("Completion standard"),
            "owner": _("Owner"),
            "deadline": _("Deadline"),
            "weight": _("Weight"),
            "cooperating_departments": _("Cooperating departments"),
            "completion": _("Completion (%)"),
            "account": _("What was done"),
            "state": _("State"),
            "evidence": _("Evidence files"),
            "text": _("Text of the comment"),
            "target": _("Stage target"),
            "carried_from": _("carried over from"),
        }
        self.states = {**dict(SelfAssessment.State.choices), **dict(TaskList.State.choices)}
        self.values = {}

    def field(self, key):
        if key.startswith("target_"):
            return _("Stage %(number)s target") % {"number": key.removeprefix("target_")}
        return self.fields.get(key, key)

    def value(self, key, value):
        if value is None or value == "" or value == []:
            return "—"
        if key == "state":
            return self.states.get(value, value)
        if key in self.values:
            return self.values[key].get(value, value)
        if isinstance(value, list):
            return "、".join(str(item) for item in value)
        return value


_names = _HistoryNames()


def register_history_names(*, actions=None, fields=None, values=None, states=None):
    """Name the actions, fields, states and values an app records on a task's history, so the
    task page shows them in the reader's language. Call it from the app's AppConfig.ready()."""
    _names.actions.update(actions or {})
    _names.fields.update(fields or {})
    _names.states.update(states or {})
    for field, labels in (values or {}).items():
        _names.values.setdefault(field, {}).update(labels)


@dataclass
class HistoryRow:
    entry: AuditEntry
    action: str
    changes: list


# On every task page: compiled once per process (see lightboard.statements).
TASK_HISTORY = CompiledQuery(
    lambda task_id: (
        AuditEntry.objects.filter(task_id=task_id).select_related("actor", "on_behalf_of").order_by("-at", "-id")
    ),
    1,
)


def task_history(task):
    """The task's recorded changes, newest first, named in the reader's language (one query)."""
    rows = []
    for entry in TASK_HISTORY.instances(task.pk):
        keys = list(dict.fromkeys([*entry.before, *entry.after]))
        rows.append(
            HistoryRow(
                entry=entry,
                action=_names.actions.get(entry.action, entry.action),
                changes=[
                    (
                        _names.field(key),
                        _names.value(key, entry.before.get(key)),
                        _names.value(key, entry.after.get(key)),
                    )
                    for key in keys
                ],
            )
        )
    return rows
