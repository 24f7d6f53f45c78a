"""'My tasks': every task of my departments for the current stage, in a fixed number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from reviews.models import Confirmation, FollowUp, Rating, ReviewMeeting
from tasks import queries, services
from tasks.models import SelfAssessment
from tests.factories import KeyTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def this_year(db):
    """The assessment year of today's date: the page shows the stage that contains today."""
    return services.create_assessment_year(year=timezone.localdate().year)


def current_stage_number(year):
    return queries.current_stage(year, timezone.localdate()).number


def due_note(stage):
    """What the page says about the stage's due date, counted from today."""
    days_left = (stage.self_assessment_due - timezone.localdate()).days
    if days_left > 0:
        return f"剩余 {days_left} 天"
    return "今天截止" if days_left == 0 else f"已逾期 {-days_left} 天"


def test_my_tasks_lists_my_departments_tasks_with_target_state_and_due_date(
    client, this_year, department_a, department_b, staff_a, staff_b
):
    mine = KeyTaskFactory(year=this_year, department=department_a, owner=staff_a, title="设备完好率提升")
    KeyTaskFactory(year=this_year, department=department_b, owner=staff_b, title="应收账款压降")
    client.force_login(staff_a)
    response = client.get("/tasks/mine/")
    html = response.content.decode()
    number = current_stage_number(this_year)
    stage = this_year.stages.get(number=number)
    assert "设备完好率提升" in html and "应收账款压降" not in html
    assert f"第{number}阶段目标：设备完好率提升" in html
    assert "未开始" in html
    assert stage.self_assessment_due.strftime("%Y") in html
    assert due_note(stage) in html
    assert f'href="/tasks/{mine.pk}/stages/{number}/assess/"' in html


def test_my_tasks_shows_the_lights_of_earlier_stages(year, department_a, staff_a, leader_a):
    """Each earlier stage shows the score that stands for it: final, else confirmed, else the
    submitted self score; a draft stands for nothing."""
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    stages = list(year.stages.order_by("number"))
    SelfAssessment.objects.create(task=task, stage=stages[0], completion=Decimal("59.9"), state="submitted")
    confirmed = SelfAssessment.objects.create(task=task, stage=stages[1], completion=Decimal("50"), state="submitted")
    Confirmation.objects.create(assessment=confirmed, score=Decimal("80.1"), confirmed_by=leader_a)
    SelfAssessment.objects.create(task=task, stage=stages[2], completion=Decimal("90"), state="draft")
    SelfAssessment.objects.create(task=task, stage=stages[3], completion=Decimal("90"), state="returned")

    (row,) = queries.my_work(staff_a, stages[4], stages[4].end).rows

    assert [(light.number, light.light, light.score) for light in row.earlier] == [
        (1, "red", Decimal("59.9")),
        (2, "green", Decimal("80.1")),
        (3, "missing", None),
        (4, "missing", None),
    ]


def test_the_page_shows_each_earlier_stages_light(client, department_a, staff_a):
    """A year that has ended shows its last stage, with the five before it."""
    last_year = services.create_assessment_year(year=timezone.localdate().year - 1)
    task = KeyTaskFactory(year=last_year, department=department_a, owner=staff_a)
    stages = list(last_year.stages.order_by("number"))
    SelfAssessment.objects.create(task=task, stage=stages[0], completion=Decimal("59.9"), state="confirmed")
    SelfAssessment.objects.create(task=task, stage=stages[1], completion=Decimal("80.1"), state="confirmed")
    client.force_login(staff_a)
    html = client.get("/tasks/mine/").content.decode()
    history = html.split('class="history"')[1].split("</td>")[0]
    assert history.count("light-dot") == 5
    assert 'light-dot red"' in history and 'light-dot green"' in history and 'light-dot missing"' in history


def test_a_submitted_task_shows_as_submitted(client, this_year, department_a, staff_a):
    task = KeyTaskFactory(year=this_year, department=department_a, owner=staff_a)
    stage = this_year.stages.get(number=current_stage_number(this_year))
    services.save_self_assessment(
        task=task, stage=stage, by=staff_a, version=0, completion=75, account="ok", submit=True
    )
    client.force_login(staff_a)
    row = client.get("/tasks/mine/").content.decode().split(f'data-task="{task.pk}"')[1].split("</tr>")[0]
    assert "已提交" in row and "75.0%" in row


@pytest.mark.parametrize("count", [5, 200])
def test_my_tasks_uses_a_fixed_number_of_queries(
    client, this_year, department_a, staff_a, leader_a, django_assert_num_queries, count
):
    stages = list(this_year.stages.order_by("number"))
    tasks = KeyTaskFactory.create_batch(count, year=this_year, department=department_a, owner=staff_a)
    assessments = SelfAssessment.objects.bulk_create(
        SelfAssessment(task=task, stage=stage, completion=70, state="confirmed")
        for task in tasks
        for stage in stages[: current_stage_number(this_year)]
    )
    # Every earlier stage confirmed, and the first one rated at a closed meeting with a case.
    Confirmation.objects.bulk_create(Confirmation(assessment=a, score=55, confirmed_by=leader_a) for a in assessments)
    meeting = ReviewMeeting.objects.create(stage=stages[0], date=stages[0].meeting_date, state="closed")
    ratings = Rating.objects.bulk_create(Rating(meeting=meeting, task=t, final_score=55, colour="red") for t in tasks)
    FollowUp.objects.bulk_create(FollowUp(rating=r, kind="supervision", due_date=stages[1].end) for r in ratings)
    client.force_login(staff_a)
    # Session, user, roles, the year with its stages, departments, tasks (with the stage's
    # target), their assessments (the returned ones among them), the stages' results (confirmed,
    # final), the unread count and the commendation banner: the same at 5 tasks and at 200. On
    # PostgreSQL the roles and departments come with the user (tasks.backends).
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 11):
        response = client.get("/tasks/mine/")
    assert response.content.decode().count("data-task=") == count


def test_without_a_year_the_page_says_so(client, staff_a):
    client.force_login(staff_a)
    assert "尚未设置考核年度" in client.get("/tasks/mine/").content.decode()


# --- returned work --------------------------------------------------------------------------


def test_returned_work_comes_first_with_the_leaders_comment(client, this_year, department_a, staff_a, leader_a):
    task = KeyTaskFactory(year=this_year, department=department_a, owner=staff_a, title="能耗指标下降专项")
    earlier = this_year.stages.get(number=1)
    returned = SelfAssessment.objects.create(
        task=task, stage=earlier, completion=70, state="returned", return_comment="请补充能耗台账", returned_by=leader_a
    )
    client.force_login(staff_a)
    html = client.get("/tasks/mine/").content.decode()
    section = html.split('id="returned"')[1].split("</section>")[0]
    assert "能耗指标下降专项" in section and "leader_a 退回：请补充能耗台账" in section
    assert f'href="/tasks/{task.pk}/stages/1/assess/"' in section
    assert html.index('id="returned"') < html.index('id="my-tasks"')
    # The self-assessment page says why it came back.
    page = client.get(f"/tasks/{task.pk}/stages/1/assess/").content.decode()
    assert "请补充能耗台账" in page.split('id="return-comment"')[1].split("</p>")[0]
    # A colleague saving a draft of it does not become the one who returned it.
    SelfAssessment.objects.filter(pk=returned.pk).update(updated_by=staff_a, account="补充中")
    assert "leader_a 退回" in client.get("/tasks/mine/").content.decode()
    # Once resubmitted, it leaves the list.
    SelfAssessment.objects.filter(pk=returned.pk).update(state="submitted")
    assert 'id="returned"' not in client.get("/tasks/mine/").content.decode()


def test_other_departments_returned_work_is_not_shown(client, this_year, department_b, staff_a, staff_b):
    task = KeyTaskFactory(year=this_year, department=department_b, owner=staff_b)
    SelfAssessment.objects.create(
        task=task, stage=this_year.stages.get(number=1), state="returned", return_comment="别的部门"
    )
    client.force_login(staff_a)
    assert 'id="returned"' not in client.get("/tasks/mine/").content.decode()
