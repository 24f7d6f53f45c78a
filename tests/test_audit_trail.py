"""Every write that changes a score or a state leaves an audit entry: who, when, before, after."""

import datetime

import pytest
from django.utils import timezone

from reviews import cases
from reviews import services as review_services
from reviews.models import FollowUp, Rating
from tasks import services
from tasks.models import AuditEntry, SelfAssessment
from tests.factories import KeyTaskFactory, make_list

pytestmark = pytest.mark.django_db


def version_of(rating_id):
    """The rating's version as the amendment form shows it now."""
    return Rating.objects.get(pk=rating_id).version


def last(action):
    return AuditEntry.objects.filter(action=action).latest("id")


def test_one_cycle_records_every_change_with_its_actor_and_values(
    year, department_a, staff_a, leader_a, leadership, inspector
):
    # A task list is drafted, submitted and approved; an approved task changes with a reason.
    task_list = make_list(year, department_a)
    targets = {n: f"目标{n}" for n in range(1, 7)}
    task = services.save_task(
        task_list=task_list, by=staff_a, title="设备完好率提升", standard="完好率98%", owner=staff_a,
        deadline=datetime.date(2026, 11, 30), weight=1, targets=targets,
    )  # fmt: skip
    assert last("create task").actor == staff_a
    services.submit_task_list(task_list=task_list, by=staff_a)
    services.approve_task_list(task_list=task_list, by=leader_a)
    assert (last("approve list").actor, last("approve list").after) == (leader_a, {"state": "approved"})
    services.save_task(
        task_list=task_list, by=staff_a, task=task, title=task.title, standard=task.standard, owner=staff_a,
        deadline=task.deadline, weight=2, targets=targets, reason="集团调整权重",
    )  # fmt: skip
    change = last("change task")
    assert change.before == {"weight": 1} and change.after == {"weight": 2}
    assert change.reason == "集团调整权重"
    # Its deadline changes by a request the leadership group approves: both are recorded.
    request = services.request_change(
        task=task, by=staff_a, kind="deadline", new_deadline=datetime.date(2026, 12, 31), reason="设备延迟到货"
    )
    asked = last("request change")
    assert (asked.actor, asked.after, asked.reason) == (staff_a, {"deadline": "2026-12-31"}, "设备延迟到货")
    services.decide_change(request_id=request.pk, by=leadership, approve=True)
    approved = last("approve change")
    assert (approved.actor, approved.before, approved.after) == (
        leadership,
        {"deadline": "2026-11-30"},
        {"deadline": "2026-12-31"},
    )

    # The department self-assesses; the leader adjusts with a reason.
    stage = year.stages.get(number=4)
    assessment = services.save_self_assessment(
        task=task, stage=stage, by=staff_a, version=0, completion=70, account="按计划推进", submit=True
    )
    submitted = last("submit self-assessment")
    assert (submitted.actor, submitted.after["completion"], submitted.after["state"]) == (staff_a, "70.0", "submitted")
    review_services.confirm_with_adjustment(
        assessment_id=assessment.pk, version=assessment.version, score=50, reason="佐证不足", by=leader_a
    )
    adjusted = last("adjust self-assessment")
    assert (adjusted.actor, adjusted.after["confirmed_score"], adjusted.reason) == (leader_a, "50.0", "佐证不足")

    # The group opens the meeting, rates, closes, and later amends.
    meeting = review_services.schedule_meeting(
        stage=stage, date=stage.meeting_date, place="会议室", attendees=[leadership], by=leadership
    )
    review_services.open_meeting(meeting=meeting, by=leadership)
    assert last("open meeting").after == {"state": "in_session"}
    rating = meeting.ratings.get(task=task)
    review_services.set_rating(
        rating_id=rating.pk, version=rating.version, final_score=40, score_reason="进度严重滞后",
        decision="发函督办", next_stage_target="", by=leadership,
    )  # fmt: skip
    rated = last("rate task")  # only what changed: the light stays red
    assert (rated.actor, rated.before, rated.after) == (leadership, {"final_score": "50.0"}, {"final_score": "40.0"})
    review_services.close_meeting(meeting=meeting, by=leadership)
    assert last("close meeting").actor == leadership
    case = FollowUp.objects.get()

    # The inspector works the case; each step is recorded.
    case = cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    assert (last("case: supervision letter issued").actor, last("case: supervision letter issued").after) == (
        inspector,
        {"state": "notified"},
    )
    case = cases.schedule_interview(
        case_id=case.pk, version=case.version, at=timezone.now() + datetime.timedelta(days=1), place="纪检室",
        participants="", by=inspector,
    )  # fmt: skip
    assert last("case: interview scheduled").after == {"state": "interview_scheduled"}
    review_services.amend_rating(
        version=version_of(rating.pk), rating_id=rating.pk, final_score=65, reason="补充佐证后复核", by=leadership
    )
    amended = last("amend rating")
    assert (amended.before, amended.after) == (
        {"final_score": "40.0", "colour": "red"},
        {"final_score": "65.0", "colour": "yellow"},
    )

    # The task page shows the whole history of the task.
    actions = set(AuditEntry.objects.filter(task=task).values_list("action", flat=True))
    assert {
        "create task", "change task", "submit self-assessment", "adjust self-assessment", "rate task",
        "amend rating", "case: supervision letter issued", "case: interview scheduled",
    } <= actions  # fmt: skip
    assert not AuditEntry.objects.filter(actor__isnull=True).exists()


def test_a_returned_assessment_is_recorded(year, department_a, staff_a, leader_a):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    stage = year.stages.get(number=4)
    assessment = services.save_self_assessment(
        task=task, stage=stage, by=staff_a, version=0, completion=70, account="x", submit=True
    )
    review_services.return_assessment(
        assessment_id=assessment.pk, version=assessment.version, comment="补充佐证", by=leader_a
    )
    entry = last("return self-assessment")
    assert (entry.actor, entry.before, entry.after, entry.reason) == (
        leader_a,
        {"state": "submitted"},
        {"state": "returned"},
        "补充佐证",
    )
    assert SelfAssessment.objects.get().state == "returned"


def test_the_task_page_names_every_recorded_change_in_chinese(
    client, year, department_a, staff_a, leader_a, leadership
):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    stage = year.stages.get(number=4)
    assessment = services.save_self_assessment(
        task=task, stage=stage, by=staff_a, version=0, completion=70, account="x", submit=True
    )
    review_services.confirm_as_submitted(assessments=[(assessment.pk, assessment.version)], by=leader_a)
    meeting = review_services.schedule_meeting(
        stage=stage, date=stage.meeting_date, place="", attendees=[leadership], by=leadership
    )
    review_services.open_meeting(meeting=meeting, by=leadership)
    rating = meeting.ratings.get(task=task)
    review_services.set_rating(
        rating_id=rating.pk, version=rating.version, final_score=50, score_reason="滞后", decision="",
        next_stage_target="", by=leadership,
    )  # fmt: skip
    client.force_login(staff_a)
    history = client.get(f"/tasks/{task.pk}/").content.decode().split('id="history"')[1]
    assert "确定最终得分" in history and "确认自评" in history and "红灯" in history and "黄灯" in history
    assert "rate task" not in history and "colour" not in history and "final_score" not in history
