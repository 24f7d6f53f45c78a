"""A department's key task list: drafted by its staff, approved by its division leader,
changed afterwards only with a recorded reason."""

from decimal import Decimal

import pytest

from lightboard.roles import Role
from outbox.models import Notification
from tasks import services
from tasks.models import AuditEntry, KeyTask, StageTarget, TaskList
from tests.conftest import make_user
from tests.factories import KeyTaskFactory, make_list

pytestmark = pytest.mark.django_db


def task_form(owner, **overrides):
    data = {
        "title": "生产设备完好率提升",
        "standard": "主要设备完好率达到98%",
        "owner": owner.pk,
        "deadline": "2026-12-31",
        "weight": "1.5",
        **{f"target_{n}": f"第{n}阶段：完成{n * 15}%" for n in range(1, 7)},
    }
    data.update(overrides)
    return data


def list_url(department, suffix=""):
    return f"/tasks/lists/2026/{department.code}/{suffix}"


def test_staff_add_a_task_with_its_six_targets(client, year, department_a, staff_a):
    client.force_login(staff_a)
    response = client.post(list_url(department_a, "new/"), task_form(staff_a))
    assert response.status_code == 302
    task = KeyTask.objects.get()
    assert task.owner == staff_a and task.weight == 1.5
    assert list(task.targets.order_by("stage__number").values_list("description", flat=True))[0] == "第1阶段：完成15%"
    assert StageTarget.objects.count() == 6
    assert AuditEntry.objects.get().action == "create task"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "这个字段是必填项。"),
        ("standard", "", "这个字段是必填项。"),
        ("deadline", "2027-01-15", "完成时限必须在 2026 年内。"),
        ("weight", "0", "权重必须是正数。"),
        ("target_3", "", "这个字段是必填项。"),
    ],
)
def test_bad_task_input_is_told_next_to_the_field(client, year, department_a, staff_a, field, value, message):
    client.force_login(staff_a)
    response = client.post(list_url(department_a, "new/"), task_form(staff_a, **{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert not KeyTask.objects.exists() and not AuditEntry.objects.exists()


def test_the_owner_must_work_in_the_department(client, year, department_a, staff_a, staff_b):
    client.force_login(staff_a)
    response = client.post(list_url(department_a, "new/"), task_form(staff_b))
    assert response.status_code == 400
    assert not KeyTask.objects.exists()


def test_a_duplicate_title_is_refused(client, year, department_a, staff_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="生产设备完好率提升")
    client.force_login(staff_a)
    response = client.post(list_url(department_a, "new/"), task_form(staff_a))
    assert response.status_code == 400
    assert "清单中已有同名任务。" in response.content.decode()
    assert KeyTask.objects.count() == 1


def test_submit_then_approve(client, year, department_a, staff_a, leader_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    client.force_login(staff_a)
    client.post(list_url(department_a, "submit/"))
    assert TaskList.objects.get().state == "submitted"
    # Nobody edits a list while the leader reviews it.
    response = client.post(list_url(department_a, "new/"), task_form(staff_a))
    assert response.status_code == 400 and KeyTask.objects.count() == 1
    client.force_login(leader_a)
    client.post(list_url(department_a, "approve/"))
    assert TaskList.objects.get().state == "approved"
    assert [e.action for e in AuditEntry.objects.order_by("id")][-2:] == [
        "submit list",
        "approve list",
    ]


def test_an_empty_list_cannot_be_submitted(client, year, department_a, staff_a):
    client.force_login(staff_a)
    response = client.post(list_url(department_a, "submit/"), follow=True)
    assert "请先添加至少一项任务再提交清单。" in response.content.decode()
    assert not TaskList.objects.exists()  # still the empty draft every department starts with


def test_the_leader_returns_a_list_with_a_comment(client, year, department_a, staff_a, leader_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    make_list(year, department_a, TaskList.State.SUBMITTED)
    client.force_login(leader_a)
    response = client.post(list_url(department_a, "return/"), {"comment": ""}, follow=True)
    assert "请说明需要修改的内容。" in response.content.decode()
    assert TaskList.objects.get().state == "submitted"
    client.post(list_url(department_a, "return/"), {"comment": "第3阶段目标不够具体"})
    task_list = TaskList.objects.get()
    assert task_list.state == "draft" and task_list.return_comment == "第3阶段目标不够具体"
    client.force_login(staff_a)
    assert "第3阶段目标不够具体" in client.get(list_url(department_a)).content.decode()


def test_only_the_departments_own_leader_approves(client, year, department_a, staff_a, leader_b, leadership):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    make_list(year, department_a, TaskList.State.SUBMITTED)
    for user in (leader_b, staff_a, leadership):
        client.force_login(user)
        assert client.post(list_url(department_a, "approve/")).status_code == 403
    assert TaskList.objects.get().state == "submitted"


def test_an_approved_task_changes_only_with_a_reason_shown_on_the_task_page(client, year, department_a, staff_a):
    client.force_login(staff_a)
    assert client.post(list_url(department_a, "new/"), task_form(staff_a)).status_code == 302
    task = KeyTask.objects.get()
    TaskList.objects.filter(department=department_a).update(state=TaskList.State.APPROVED)
    # The edit form starts with the deadline as a date picker reads it.
    assert 'value="2026-12-31"' in client.get(f"/tasks/{task.pk}/edit/").content.decode()
    response = client.post(f"/tasks/{task.pk}/edit/", task_form(staff_a, weight="2"))
    assert response.status_code == 400
    assert "清单已审定：请说明修改原因。" in response.content.decode()
    task.refresh_from_db()
    assert task.weight == Decimal("1.5")

    response = client.post(f"/tasks/{task.pk}/edit/", task_form(staff_a, weight="2", reason="集团调整权重"))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.weight == Decimal("2")
    entry = AuditEntry.objects.get(action="change task")
    assert entry.actor == staff_a and entry.reason == "集团调整权重"
    assert Decimal(entry.before["weight"]) == Decimal("1.5") and Decimal(entry.after["weight"]) == 2
    history = client.get(f"/tasks/{task.pk}/").content.decode().split('id="history"')[1]
    assert "集团调整权重" in history


@pytest.mark.parametrize(
    "change",
    [{"deadline": "2026-10-31"}, {"standard": "主要设备完好率达到99%"}, {"target_3": "第3阶段：完成50%"}],
)
def test_an_approved_tasks_deadline_standard_and_targets_change_only_by_request(
    client, year, department_a, staff_a, change
):
    client.force_login(staff_a)
    client.post(list_url(department_a, "new/"), task_form(staff_a))
    task = KeyTask.objects.get()
    TaskList.objects.filter(department=department_a).update(state=TaskList.State.APPROVED)
    response = client.post(f"/tasks/{task.pk}/edit/", task_form(staff_a, reason="集团要求", **change))
    assert response.status_code == 400
    field = next(iter(change))
    form_field = response.content.decode().split(f'class="field field-{field}"')[1].split('class="field ')[0]
    assert "清单已审定：请提出变更申请，由领导小组审批。" in form_field
    assert not AuditEntry.objects.filter(action="change task").exists()
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert f'href="/tasks/{task.pk}/change/"' in page


def test_everyone_who_reads_all_lists_can_read_any_list(
    client, year, department_a, staff_a, leader_b, leadership, inspector
):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化")
    for user in (leader_b, leadership, inspector):
        client.force_login(user)
        response = client.get(list_url(department_a))
        assert response.status_code == 200 and "安全生产标准化" in response.content.decode()
        overview = client.get("/tasks/lists/").content.decode()
        assert "生产运营部" in overview


def test_staff_of_another_department_cannot_see_or_change_the_list(client, year, department_a, staff_a, staff_b):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    client.force_login(staff_b)
    assert client.get(list_url(department_a)).status_code == 404
    assert client.post(list_url(department_a, "new/"), task_form(staff_b)).status_code == 404
    assert client.get(f"/tasks/{task.pk}/").status_code == 404
    assert client.post(f"/tasks/{task.pk}/edit/", task_form(staff_b)).status_code == 404
    assert KeyTask.objects.count() == 1


def test_readers_cannot_edit(client, year, department_a, staff_a, leadership):
    client.force_login(leadership)
    assert client.post(list_url(department_a, "new/"), task_form(staff_a)).status_code == 403
    assert not KeyTask.objects.exists()


def test_cooperating_department_staff_can_read_the_task_but_not_assess_it(
    client, year, department_a, department_b, staff_a, staff_b
):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    task.cooperating_departments.add(department_b)
    client.force_login(staff_b)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    response = client.post(
        f"/tasks/{task.pk}/stages/6/assess/",
        {"completion": "90", "account": "x", "action": "submit"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("count", [5, 200])
def test_the_list_page_uses_a_fixed_number_of_queries(
    client, year, department_a, department_b, staff_a, django_assert_max_num_queries, count
):
    tasks = KeyTaskFactory.create_batch(count, year=year, department=department_a, owner=staff_a)
    for task in tasks[:3]:
        task.cooperating_departments.add(department_b)
    make_list(year, department_a)
    client.force_login(staff_a)
    # 11 (9 on PostgreSQL, the user's roles and departments coming with the user); 13 before the
    # page handed the list the year and department it had read.
    with django_assert_max_num_queries(11):
        response = client.get(list_url(department_a))
    assert response.content.decode().count('href="/tasks/') >= count


def test_list_states_are_audited_with_their_actor(year, department_a, staff_a, leader_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    task_list = make_list(year, department_a)
    services.submit_task_list(task_list=task_list, by=staff_a)
    services.return_task_list(task_list=task_list, by=leader_a, comment="补充量化指标")
    entries = list(AuditEntry.objects.filter(subject_type="tasklist").order_by("id"))
    assert [(e.actor, e.before, e.after) for e in entries] == [
        (staff_a, {"state": "draft"}, {"state": "submitted"}),
        (leader_a, {"state": "submitted"}, {"state": "draft"}),
    ]
    assert entries[1].reason == "补充量化指标"


def test_a_second_leader_of_another_division_is_not_allowed_by_the_service(year, department_a, staff_a):
    other = make_user("other_leader", Role.DIVISION_LEADER)
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    task_list = make_list(year, department_a, TaskList.State.SUBMITTED)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.approve_task_list(task_list=task_list, by=other)


def test_the_admin_shows_tasks_but_does_not_change_them_behind_the_audit_trail(
    admin_client, year, department_a, staff_a
):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="原标题")
    assert admin_client.get(f"/admin/tasks/keytask/{task.pk}/change/").status_code == 200
    admin_client.post(f"/admin/tasks/keytask/{task.pk}/change/", {"title": "改过的标题"})
    task.refresh_from_db()
    assert task.title == "原标题"
    assert admin_client.get("/admin/tasks/keytask/add/").status_code == 403


def test_reading_a_list_creates_nothing(client, year, department_a, leadership):
    client.force_login(leadership)
    assert client.get(list_url(department_a)).status_code == 200
    assert not TaskList.objects.exists()


# --- who is told ----------------------------------------------------------------------------


def told(kind):
    """Who got a message of this kind, with its link and body."""
    return sorted(
        (n.recipient.username, n.link, n.body)
        for n in Notification.objects.filter(kind=kind).select_related("recipient")
    )


def test_submitting_a_list_tells_its_division_leader(client, year, department_a, staff_a, colleague_a, leader_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    client.force_login(staff_a)
    assert client.post(list_url(department_a, "submit/")).status_code == 302
    assert told("list_submitted") == [("leader_a", list_url(department_a), "")]
    message = Notification.objects.get(kind="list_submitted")
    assert message.subject == "待审定的任务清单：生产运营部，2026 年"
    assert Notification.objects.count() == 1


def test_approving_a_list_tells_the_departments_staff(
    client, year, department_a, department_b, staff_a, staff_b, colleague_a, leader_a
):
    make_user("retired_a", Role.STAFF, departments=[department_a], is_active=False)
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    make_list(year, department_a, TaskList.State.SUBMITTED)
    client.force_login(leader_a)
    assert client.post(list_url(department_a, "approve/")).status_code == 302
    assert told("list_approved") == [
        ("colleague_a", list_url(department_a), ""),
        ("staff_a", list_url(department_a), ""),
    ]
    assert Notification.objects.get(recipient=staff_a).subject == "任务清单已审定：生产运营部，2026 年"


def test_returning_a_list_sends_the_leaders_comment_to_the_departments_staff(
    client, year, department_a, staff_a, colleague_a, leader_a
):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    make_list(year, department_a, TaskList.State.SUBMITTED)
    client.force_login(leader_a)
    assert client.post(list_url(department_a, "return/"), {"comment": "补充量化指标"}).status_code == 302
    assert told("list_returned") == [
        ("colleague_a", list_url(department_a), "补充量化指标"),
        ("staff_a", list_url(department_a), "补充量化指标"),
    ]


def test_each_move_of_the_list_is_a_message_of_its_own(year, department_a, staff_a, leader_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    task_list = make_list(year, department_a)
    services.submit_task_list(task_list=task_list, by=staff_a)
    services.return_task_list(task_list=task_list, by=leader_a, comment="补充量化指标")
    services.submit_task_list(task_list=task_list, by=staff_a)
    assert told("list_submitted") == [("leader_a", list_url(department_a), "")] * 2


def test_a_refused_move_tells_nobody(client, year, department_a, staff_a, leader_a):
    client.force_login(staff_a)
    client.post(list_url(department_a, "submit/"))  # an empty list cannot be submitted
    make_list(year, department_a, TaskList.State.DRAFT)
    client.force_login(leader_a)
    client.post(list_url(department_a, "approve/"))  # a draft cannot be approved
    assert not Notification.objects.exists()


# --- a refused request leaves nothing behind ----------------------------------------------


@pytest.mark.parametrize(
    ("who", "suffix", "data"),
    [
        ("staff_b", "new/", {}),
        ("staff_b", "import/", {}),
        ("staff_b", "submit/", {}),
        ("leader_b", "approve/", {}),
        ("leader_b", "return/", {"comment": "补充"}),
        ("leadership", "new/", {}),
    ],
)
def test_a_refused_post_creates_no_list(client, request, year, department_a, who, suffix, data):
    client.force_login(request.getfixturevalue(who))
    assert client.post(list_url(department_a, suffix), data).status_code in (403, 404)
    assert not TaskList.objects.exists()


def test_bad_input_creates_no_list_either(client, year, department_a, staff_a, leader_a):
    client.force_login(staff_a)
    assert client.post(list_url(department_a, "new/"), task_form(staff_a, title="")).status_code == 400
    assert client.post(list_url(department_a, "submit/")).status_code == 302  # refused: the list is empty
    client.force_login(leader_a)
    assert client.post(list_url(department_a, "approve/")).status_code == 302  # refused: not submitted
    assert not TaskList.objects.exists()


def test_the_first_task_saved_creates_the_list(client, year, department_a, staff_a):
    client.force_login(staff_a)
    assert client.post(list_url(department_a, "new/"), task_form(staff_a)).status_code == 302
    assert TaskList.objects.get().state == TaskList.State.DRAFT


def test_a_title_typed_over_two_lines_is_kept_on_one(client, year, department_a, staff_a):
    client.force_login(staff_a)
    client.post(list_url(department_a, "new/"), task_form(staff_a, title="生产设备\r\n完好率提升"))
    assert KeyTask.objects.get().title == "生产设备 完好率提升"


@pytest.mark.parametrize(("typed", "stored"), [("１．５", Decimal("1.5")), ("2", Decimal("2"))])
def test_a_weight_is_read_as_a_person_types_it(client, year, department_a, staff_a, typed, stored):
    client.force_login(staff_a)
    assert client.post(list_url(department_a, "new/"), task_form(staff_a, weight=typed)).status_code == 302
    assert KeyTask.objects.get().weight == stored


@pytest.mark.parametrize("typed", ["1e1", "1_0", "50%"])
def test_a_weight_written_otherwise_is_refused(client, year, department_a, staff_a, typed):
    client.force_login(staff_a)
    assert client.post(list_url(department_a, "new/"), task_form(staff_a, weight=typed)).status_code == 400
    assert not KeyTask.objects.exists()
