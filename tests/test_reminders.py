"""Scheduled reminders: self-assessments due soon (to the owner), assessments awaiting
confirmation (to the division leader), overdue follow-up cases (to the inspector); each once
per person, item and day, however often beat runs."""

import datetime
from collections import Counter

import pytest
from django.utils import timezone

from lightboard.roles import Role
from outbox.models import Notification
from reviews.models import FollowUp, Rating, ReviewMeeting
from reviews.reminders import SELF_ASSESSMENT_WARNING_DAYS, send_due_reminders
from tasks.models import SelfAssessment
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import confirm, stage_of, submit

pytestmark = pytest.mark.django_db


def reminders(kind=None):
    rows = Notification.objects.filter(idempotency_key__startswith="remind:")
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def recipients(kind):
    return Counter(reminders(kind).values_list("recipient__username", flat=True))


@pytest.fixture
def stage(year):
    return stage_of(year, 2)


@pytest.fixture
def today(stage):
    """Three days before stage 2's self-assessment is due."""
    day = stage.self_assessment_due - datetime.timedelta(days=3)
    assert stage.start <= day
    return day


@pytest.fixture
def colleague_b(department_b):
    return make_user("colleague_b", Role.STAFF, departments=[department_b])


@pytest.fixture
def tasks(year, stage, department_a, department_b, staff_a, staff_b, colleague_b):
    tasks = {
        "a_nothing": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化"),
        "a_draft": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备大修"),
        "a_submitted": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产"),
        "b_returned": KeyTaskFactory(year=year, department=department_b, owner=colleague_b, title="预算执行分析"),
        "b_confirmed": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="应收账款清收"),
        "b_submitted": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="成本管控"),
    }
    SelfAssessment.objects.create(task=tasks["a_draft"], stage=stage, completion=50, account="草稿")
    submit(tasks["a_submitted"], stage, 80)
    SelfAssessment.objects.create(
        task=tasks["b_returned"], stage=stage, completion=60, state=SelfAssessment.State.RETURNED
    )
    confirm(tasks["b_confirmed"], stage, 90)
    submit(tasks["b_submitted"], stage, 75)
    return tasks


# --- self-assessments due soon ----------------------------------------------------------


def test_owners_of_tasks_not_submitted_get_one_reminder_each(tasks, today, stage):
    send_due_reminders(today=today)
    sent = reminders("reminder_self_assessment")
    assert sorted(sent.values_list("link", flat=True)) == sorted(
        f"/tasks/{tasks[key].pk}/stages/2/assess/" for key in ("a_nothing", "a_draft", "b_returned")
    )
    assert recipients("reminder_self_assessment") == {"staff_a": 2, "colleague_b": 1}
    assert all(stage.self_assessment_due.isoformat() in n.subject for n in sent)


@pytest.mark.parametrize(
    ("days_before_due", "reminded"),
    [
        (0, True),
        (1, True),
        (SELF_ASSESSMENT_WARNING_DAYS, True),
        (SELF_ASSESSMENT_WARNING_DAYS + 1, False),
        (-1, False),
    ],
)
def test_the_warning_window(tasks, stage, days_before_due, reminded):
    send_due_reminders(today=stage.self_assessment_due - datetime.timedelta(days=days_before_due))
    assert reminders("reminder_self_assessment").exists() is reminded


def test_a_stage_that_has_not_started_is_not_reminded(year, tasks):
    stage = stage_of(year, 2)
    stage.start = stage.end = stage.self_assessment_due - datetime.timedelta(days=1)
    stage.save()
    send_due_reminders(today=stage.self_assessment_due - datetime.timedelta(days=3))
    assert not reminders("reminder_self_assessment").exists()


# --- assessments awaiting confirmation ----------------------------------------------------


def test_leaders_get_one_reminder_per_assessment_awaiting_them(year, tasks, today, department_a, staff_a, leader_a):
    # A second submitted assessment of department A, of an earlier stage.
    submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="节能降耗"), stage_of(year, 1), 85)
    send_due_reminders(today=today)
    assert recipients("reminder_confirmation") == {"leader_a": 2, "leader_b": 1}
    submitted = SelfAssessment.objects.filter(state=SelfAssessment.State.SUBMITTED)
    assert sorted(reminders("reminder_confirmation").values_list("link", flat=True)) == sorted(
        f"/reviews/confirmations/{a.pk}/" for a in submitted
    )


def test_a_department_without_a_leader_reminds_nobody(tasks, today, department_b):
    department_b.division_leader = None
    department_b.save()
    send_due_reminders(today=today)
    assert recipients("reminder_confirmation") == {"leader_a": 1}


# --- overdue cases ----------------------------------------------------------------------


@pytest.fixture
def follow_ups(year, tasks, today, inspector, second_inspector):
    stage = stage_of(year, 1)
    meeting = ReviewMeeting.objects.create(
        stage=stage, date=stage.meeting_date, state=ReviewMeeting.State.CLOSED, closed_at=timezone.now()
    )

    def case(task, *, due_in, state=FollowUp.State.NOTIFIED, inspector=None):
        rating = Rating.objects.create(meeting=meeting, task=task, final_score=70, colour="yellow")
        return FollowUp.objects.create(
            rating=rating,
            kind=FollowUp.Kind.REMINDER,
            state=state,
            due_date=today + datetime.timedelta(days=due_in),
            inspector=inspector,
        )

    return {
        "overdue": case(tasks["a_nothing"], due_in=-1, inspector=inspector),
        "overdue_open": case(tasks["a_draft"], due_in=-10, state=FollowUp.State.OPEN, inspector=inspector),
        "overdue_2": case(tasks["b_returned"], due_in=-3, inspector=second_inspector),
        "due_today": case(tasks["a_submitted"], due_in=0, inspector=inspector),
        "unassigned": case(tasks["b_confirmed"], due_in=-5),
        "closed": case(tasks["b_submitted"], due_in=-5, state=FollowUp.State.CLOSED, inspector=inspector),
    }


def test_inspectors_get_one_reminder_per_overdue_case_and_an_untaken_case_goes_to_all(follow_ups, today):
    send_due_reminders(today=today)
    assert recipients("reminder_overdue_case") == {"inspector": 3, "inspector2": 2}
    links = set(reminders("reminder_overdue_case").values_list("link", flat=True))
    assert links == {
        f"/reviews/followups/{follow_ups[key].pk}/" for key in ("overdue", "overdue_open", "overdue_2", "unassigned")
    }


def test_an_escalated_case_is_not_reminded(follow_ups, today):
    FollowUp.objects.filter(pk=follow_ups["overdue_2"].pk).update(state=FollowUp.State.ESCALATED)
    send_due_reminders(today=today)
    assert recipients("reminder_overdue_case") == {"inspector": 3, "inspector2": 1}


# --- once per person, item and day -------------------------------------------------------


def test_running_twice_the_same_day_writes_nothing_more_and_the_next_day_writes_again(follow_ups, today):
    first = send_due_reminders(today=today)
    written = reminders().count()
    assert first == written == 3 + 2 + 5  # self-assessments, confirmations, overdue cases (one untaken: to both)
    assert sorted(reminders().values_list("recipient__username", flat=True)) == sorted(
        ["staff_a", "staff_a", "colleague_b", "leader_a", "leader_b"]
        + ["inspector", "inspector", "inspector", "inspector2", "inspector2"]
    )

    assert send_due_reminders(today=today) == 0
    assert reminders().count() == written

    tomorrow = today + datetime.timedelta(days=1)
    # The same reminders again, and the case due today is overdue tomorrow.
    assert send_due_reminders(today=tomorrow) == written + 1
    assert reminders().count() == 2 * written + 1
    assert send_due_reminders(today=tomorrow) == 0
    assert reminders().count() == 2 * written + 1
    assert len(set(reminders().values_list("idempotency_key", flat=True))) == 2 * written + 1


def test_nothing_due_writes_nothing(year):
    assert send_due_reminders(today=datetime.date(2026, 1, 10)) == 0
    assert not Notification.objects.exists()


def test_the_reminders_are_in_the_inbox_at_once_and_held_for_the_daily_digest(tasks, today):
    send_due_reminders(today=today)
    assert set(reminders().values_list("state", flat=True)) == {Notification.State.HELD}
    assert all(n.read_at is None for n in reminders())


def test_the_celery_task_runs_the_reminders_of_the_day_it_is_given(tasks, stage):
    from reviews import tasks as celery_tasks

    day = stage.self_assessment_due.isoformat()
    assert celery_tasks.send_due_reminders.apply(kwargs={"day": day}).get() == reminders().count() > 0
    assert all(n.idempotency_key.endswith(f":{day}") for n in reminders())
