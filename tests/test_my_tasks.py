"""'My tasks': every task of my departments for the current stage, in a fixed number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tasks import services
from tasks.models import SelfAssessment
from tests.factories import KeyTaskFactory

pytestmark = pytest.mark.django_db


TODAY = datetime.date(2026, 11, 25)  # stage 6 of 2026; stage 5 was due on 5 November


@pytest.fixture
def this_year(year, monkeypatch):
    """The 2026 year, seen on 25 November 2026 whatever the real date is."""
    real_localdate = timezone.localdate

    def localdate(value=None, timezone=None):
        return TODAY if value is None else real_localdate(value, timezone)

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    return year


def current_stage_number():
    return 6


def test_my_tasks_lists_my_departments_tasks_with_target_state_and_due_date(
    client, this_year, department_a, department_b, staff_a, staff_b
):
    mine = KeyTaskFactory(year=this_year, department=department_a, owner=staff_a, title="设备完好率提升")
    KeyTaskFactory(year=this_year, department=department_b, owner=staff_b, title="应收账款压降")
    client.force_login(staff_a)
    response = client.get("/tasks/mine/")
    html = response.content.decode()
    number = current_stage_number()
    stage = this_year.stages.get(number=number)
    assert "设备完好率提升" in html and "应收账款压降" not in html
    assert f"第{number}阶段目标：设备完好率提升" in html
    assert "未开始" in html
    assert stage.self_assessment_due.strftime("%Y") in html
    assert "剩余 41 天" in html  # due 5 January 2027
    assert f'href="/tasks/{mine.pk}/stages/{number}/assess/"' in html


def test_my_tasks_shows_the_lights_of_earlier_stages(client, this_year, department_a, staff_a):
    task = KeyTaskFactory(year=this_year, department=department_a, owner=staff_a)
    stages = this_year.stages.order_by("number")
    SelfAssessment.objects.create(task=task, stage=stages[0], completion=Decimal("59.9"), state="confirmed")
    SelfAssessment.objects.create(task=task, stage=stages[1], completion=Decimal("80.1"), state="confirmed")
    client.force_login(staff_a)
    html = client.get("/tasks/mine/").content.decode()
    history = html.split('class="history"')[1].split("</td>")[0]
    assert 'light-dot red"' in history and 'light-dot green"' in history


def test_a_submitted_task_shows_as_submitted(client, this_year, department_a, staff_a):
    task = KeyTaskFactory(year=this_year, department=department_a, owner=staff_a)
    stage = this_year.stages.get(number=current_stage_number())
    services.save_self_assessment(task=task, stage=stage, by=staff_a, completion=75, account="ok", submit=True)
    client.force_login(staff_a)
    row = client.get("/tasks/mine/").content.decode().split(f'data-task="{task.pk}"')[1].split("</tr>")[0]
    assert "已提交" in row and "75.0%" in row


@pytest.mark.parametrize("count", [5, 200])
def test_my_tasks_uses_a_fixed_number_of_queries(
    client, this_year, department_a, staff_a, django_assert_max_num_queries, count
):
    stages = list(this_year.stages.order_by("number"))
    tasks = KeyTaskFactory.create_batch(count, year=this_year, department=department_a, owner=staff_a)
    SelfAssessment.objects.bulk_create(
        SelfAssessment(task=task, stage=stage, completion=70, state="confirmed")
        for task in tasks
        for stage in stages[: current_stage_number()]
    )
    client.force_login(staff_a)
    with django_assert_max_num_queries(12):
        response = client.get("/tasks/mine/")
    assert response.content.decode().count("data-task=") == count


def test_without_a_year_the_page_says_so(client, staff_a):
    client.force_login(staff_a)
    assert "尚未设置考核年度" in client.get("/tasks/mine/").content.decode()
