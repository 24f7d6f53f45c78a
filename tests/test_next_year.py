"""Next year's list from this year's (issue 14, point 4) and reds across the years (point 5):
tasks copied with their owners, standards, weights and targets, linked to the originals so
their history continues; a red at last year's last meeting counts for the serious rule."""

import datetime

import pytest

from reviews.models import FollowUp
from tasks.models import AssessmentYear, AuditEntry, KeyTask, StageTarget, TaskList
from tests.factories import KeyTaskFactory, make_list
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def this_year(year, department_a, department_b, staff_a, leadership):
    """Two tasks of department A's approved 2026 list: one finished green at stage 6, one red."""
    make_list(year, department_a, TaskList.State.APPROVED)
    done = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化", weight=2)
    late = KeyTaskFactory(
        year=year, department=department_a, owner=staff_a, title="新产线投产", deadline=datetime.date(2026, 10, 31)
    )
    late.cooperating_departments.add(department_b)
    meeting = open_meeting(stage_of(year, 6), leadership)
    rate(meeting, done, 95, leadership)
    rate(meeting, late, 45, leadership, decision="发函督办")
    close(meeting, leadership)
    return {"done": done, "late": late}


def copy(client, user, **data):
    client.force_login(user)
    english(client)
    return client.post("/tasks/lists/2026/A/copy/", data)


def test_staff_copy_the_list_into_next_years_draft(client, year, this_year, staff_a, department_b):
    response = copy(client, staff_a)
    assert response.status_code == 302 and response["Location"] == "/tasks/lists/2027/A/"
    next_year = AssessmentYear.objects.get(year=2027)
    assert (next_year.green_above, next_year.red_below) == (year.green_above, year.red_below)
    assert next_year.stages.count() == 6
    assert TaskList.objects.get(year=next_year).state == TaskList.State.DRAFT
    copied = {task.title: task for task in KeyTask.objects.filter(year=next_year)}
    assert set(copied) == {"安全生产标准化", "新产线投产"}
    late = copied["新产线投产"]
    assert late.carried_from == this_year["late"]
    assert (late.owner, late.standard, late.deadline) == (
        this_year["late"].owner,
        this_year["late"].standard,
        datetime.date(2027, 10, 31),
    )
    assert copied["安全生产标准化"].weight == 2
    assert list(late.cooperating_departments.all()) == [department_b]
    targets = dict(StageTarget.objects.filter(task=late).values_list("stage__number", "description"))
    assert targets == dict(this_year["late"].targets.values_list("stage__number", "description"))
    assert AuditEntry.objects.filter(action="create task", task__year=next_year).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "2 tasks copied to 2027." in page and "carried over from 2026" in page


def test_only_the_unfinished_tasks_and_nothing_twice(client, this_year, staff_a):
    copy(client, staff_a, unfinished_only="1")
    assert list(KeyTask.objects.filter(year__year=2027).values_list("title", flat=True)) == ["新产线投产"]
    response = copy(client, staff_a, unfinished_only="1")
    assert "0 tasks copied to 2027. 1 were there already." in client.get(response["Location"]).content.decode()
    copy(client, staff_a)  # the rest, later
    assert sorted(KeyTask.objects.filter(year__year=2027).values_list("title", flat=True)) == [
        "安全生产标准化",
        "新产线投产",
    ]
    assert KeyTask.objects.filter(year__year=2027).count() == 2


def test_a_submitted_list_next_year_takes_no_more_and_nothing_is_created(client, this_year, staff_a, department_a):
    copy(client, staff_a, unfinished_only="1")
    TaskList.objects.filter(year__year=2027).update(state=TaskList.State.SUBMITTED)
    response = copy(client, staff_a)
    assert response["Location"] == "/tasks/lists/2026/A/"
    assert "The 2027 list is Submitted: it takes no more tasks." in client.get(response["Location"]).content.decode()
    assert KeyTask.objects.filter(year__year=2027).count() == 1


@pytest.mark.parametrize(("who", "status"), [("staff_b", 404), ("leader_a", 403), ("inspector", 403)])
def test_only_the_departments_staff_copy(client, request, this_year, who, status):
    assert copy(client, request.getfixturevalue(who)).status_code == status
    assert not KeyTask.objects.filter(year__year=2027).exists()
    assert not AssessmentYear.objects.filter(year=2027).exists()


def test_a_carried_over_task_shows_its_earlier_year_and_the_earlier_its_later(client, this_year, staff_a):
    copy(client, staff_a, unfinished_only="1")
    later = KeyTask.objects.get(year__year=2027)
    client.force_login(staff_a)
    html = client.get(f"/tasks/{later.pk}/").content.decode().split('id="across-years"')[1].split("</table>")[0]
    assert f'href="/tasks/{this_year["late"].pk}/"' in html and "2026" in html and 'class="light red"' in html
    html = client.get(f"/tasks/{this_year['late'].pk}/").content.decode().split('id="across-years"')[1]
    assert f'href="/tasks/{later.pk}/"' in html
    # A task of one year has no such section.
    assert 'id="across-years"' not in client.get(f"/tasks/{this_year['done'].pk}/").content.decode()


@pytest.mark.parametrize("counts_last_year", [True, False])
def test_red_at_last_years_last_meeting_makes_this_years_first_red_serious(
    client, this_year, staff_a, leadership, inspector, counts_last_year
):
    copy(client, staff_a, unfinished_only="1")
    next_year = AssessmentYear.objects.get(year=2027)
    next_year.serious_red_across_years = counts_last_year
    next_year.save()
    later = KeyTask.objects.get(year=next_year)
    meeting = open_meeting(stage_of(next_year, 1), leadership)
    rate(meeting, later, 50, leadership, decision="发函督办")
    close(meeting, leadership)
    case = FollowUp.objects.get(rating__task=later)
    assert case.serious == counts_last_year
    if counts_last_year:
        assert case.serious_reason in ("Red at the previous meeting too.", "上次例会也是红灯。")

    # The inspector sees the task's reds across the years on the case and in the queue.
    client.force_login(inspector)
    english(client)
    html = client.get(f"/reviews/followups/{case.pk}/").content.decode()
    reds = html.split('id="reds-across-years"')[1].split("</dd>")[0]
    assert "This task: 2 reds" in reds and "2026" in reds and "2027" in reds
    # The earlier year's case reads the same line forward, to the task it was carried into.
    earlier = FollowUp.objects.filter(rating__task=later.carried_from).latest("pk")
    html = client.get(f"/reviews/followups/{earlier.pk}/").content.decode()
    assert "This task: 2 reds" in html.split('id="reds-across-years"')[1].split("</dd>")[0]
    queue = client.get("/reviews/followups/").content.decode()
    assert "task red 2 times" in queue and "owner red 2 times" in queue


def test_a_department_starts_a_task_from_the_library(client, year, department_a, staff_a):
    from tasks.models import LibraryTask

    entry = LibraryTask.objects.create(
        title="安全生产标准化",
        standard="通过二级标准化复评",
        weight=3,
        targets=[f"第{n}阶段：自查" for n in range(1, 7)],
    )
    LibraryTask.objects.create(title="停用的任务", standard="x", active=False)
    client.force_login(staff_a)
    english(client)
    page = client.get("/tasks/lists/2026/A/new/").content.decode()
    picker = page.split('id="library-pick"')[1].split("</form>")[0]
    assert "安全生产标准化" in picker and "停用的任务" not in picker
    page = client.get(f"/tasks/lists/2026/A/new/?library={entry.pk}").content.decode()
    assert 'value="安全生产标准化"' in page and "通过二级标准化复评" in page
    assert "第1阶段：自查</textarea>" in page and "第6阶段：自查</textarea>" in page
    assert KeyTask.objects.count() == 0  # picking fills the form; saving is the department's
