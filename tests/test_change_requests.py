"""Deadline extensions and changed targets or standards of an approved task: asked for by the
owner's side, decided by the leadership group only, applied on approval with the earlier value
kept on the task page, the history and the next meeting's minutes."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from lightboard.roles import Role
from outbox.models import Notification
from tasks import services
from tasks.models import AuditEntry, ChangeRequest, StageTarget, TaskList
from tests.conftest import make_user
from tests.factories import KeyTaskFactory, make_list
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today(settings):
    settings.LIGHTBOARD_TODAY = datetime.date(2026, 11, 27)


@pytest.fixture
def chair(db):
    return make_user("chen", Role.LEADERSHIP, name="陈志远")


@pytest.fixture
def task(year, department_a, staff_a):
    make_list(year, department_a, TaskList.State.APPROVED)
    task = KeyTaskFactory(
        year=year, department=department_a, owner=staff_a, title="新产线投产", deadline=datetime.date(2026, 10, 31)
    )
    StageTarget.objects.update_or_create(task=task, stage=stage_of(year, 6), defaults={"description": "完成设备安装"})
    return task


def ask(client, user, task, **data):
    client.force_login(user)
    english(client)
    return client.post(f"/tasks/{task.pk}/change/", data)


def decide(client, user, request, decision, comment=""):
    client.force_login(user)
    english(client)
    return client.post("/tasks/changes/", {"request": request.pk, "decision": decision, "comment": comment})


def test_the_owner_asks_for_an_extension_and_the_leadership_approves_it(client, task, staff_a, chair, leadership):
    response = ask(client, staff_a, task, kind="deadline", new_deadline="2026-12-15", reason="设备延迟到货两个月")
    assert response.status_code == 302
    request = ChangeRequest.objects.get()
    assert (request.state, request.old_deadline, request.new_deadline) == (
        "pending",
        datetime.date(2026, 10, 31),
        datetime.date(2026, 12, 15),
    )
    task.refresh_from_db()
    assert task.deadline == datetime.date(2026, 10, 31)  # nothing changes before the decision
    told = Notification.objects.filter(kind="change_requested")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["chen", "leadership"]

    client.force_login(chair)
    page = client.get("/tasks/changes/").content.decode()
    assert "设备延迟到货两个月" in page and "新产线投产" in page
    assert decide(client, chair, request, "approve").status_code == 302
    task.refresh_from_db()
    request.refresh_from_db()
    assert task.deadline == datetime.date(2026, 12, 15)
    assert (request.state, request.decided_by, request.old_deadline) == ("approved", chair, datetime.date(2026, 10, 31))
    assert list(AuditEntry.objects.filter(task=task).values_list("action", flat=True).order_by("at", "id")) == [
        "request change",
        "approve change",
    ]
    approved = AuditEntry.objects.get(action="approve change")
    assert (approved.before, approved.after) == ({"deadline": "2026-10-31"}, {"deadline": "2026-12-15"})
    assert Notification.objects.filter(kind="change_decided", recipient=staff_a).exists()
    # The original stays visible on the task page.
    html = client.get(f"/tasks/{task.pk}/").content.decode().split('id="change-requests"')[1]
    assert "10/31/2026" in html and "12/15/2026" in html and "Agreed by the leadership group" in html


@pytest.mark.parametrize("who", ["inspector", "leader_a", "staff_a"])
def test_only_the_leadership_decides(client, request, task, staff_a, who):
    change = services.request_change(
        task=task, by=staff_a, kind="deadline", new_deadline=datetime.date(2026, 12, 1), reason="延期"
    )
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get("/tasks/changes/").status_code == 403
    assert decide(client, user, change, "approve").status_code == 403
    with pytest.raises(PermissionDenied):
        services.decide_change(request_id=change.pk, by=user, approve=True)
    change.refresh_from_db()
    task.refresh_from_db()
    assert change.state == "pending" and task.deadline == datetime.date(2026, 10, 31)


def test_rejecting_needs_a_comment_and_changes_nothing(client, task, staff_a, chair):
    change = services.request_change(task=task, by=staff_a, kind="standard", new_text="完成投产", reason="口径调整")
    response = decide(client, chair, change, "reject")
    assert response.status_code == 400
    form = response.content.decode().split(f'id="change-request-{change.pk}"')[1].split("</form>")[0]
    assert '<p class="field-error">Say why the request is rejected.</p>' in form
    assert decide(client, chair, change, "reject", comment="完成标准不降低").status_code == 302
    change.refresh_from_db()
    task.refresh_from_db()
    assert (change.state, change.decision_comment) == ("rejected", "完成标准不降低")
    assert task.standard != "完成投产"
    # Decided once: a second decision changes nothing.
    response = decide(client, chair, change, "approve")
    assert response.status_code in (400, 404)
    change.refresh_from_db()
    assert change.state == "rejected"


def test_an_approved_target_change_keeps_the_earlier_target(client, task, year, staff_a, chair):
    # Stage 5 has ended (it was rated against its target): only stage 6 is offered.
    client.force_login(staff_a)
    assert "第 5 阶段" not in client.get(f"/tasks/{task.pk}/change/").content.decode().split('name="stage"')[1]
    response = ask(client, staff_a, task, kind="target", stage=stage_of(year, 5).pk, new_text="改", reason="改")
    assert response.status_code == 400 and not ChangeRequest.objects.exists()
    stage = stage_of(year, 6)
    response = ask(client, staff_a, task, kind="target", stage=stage.pk, new_text="完成设备安装调试", reason="增加调试")
    assert response.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.old_text == "完成设备安装"
    decide(client, chair, change, "approve")
    assert StageTarget.objects.get(task=task, stage=stage).description == "完成设备安装调试"
    change.refresh_from_db()
    assert (change.old_text, change.new_text) == ("完成设备安装", "完成设备安装调试")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "deadline", "new_deadline": "2026-09-30", "reason": "提前"}, "new_deadline", "later than"),
        ({"kind": "deadline", "new_deadline": "2027-01-31", "reason": "跨年"}, "new_deadline", "within 2026"),
        ({"kind": "deadline", "new_deadline": "", "reason": "延期"}, "new_deadline", "Give the new deadline."),
        ({"kind": "deadline", "new_deadline": "2026-12-15", "reason": " "}, "reason", "Give the reason"),
        ({"kind": "target", "new_text": "新目标", "reason": "调整"}, "stage", "Choose the stage"),
        ({"kind": "standard", "new_text": "", "reason": "调整"}, "new_text", "Write the new text."),
        ({"reason": "调整"}, "kind", "Choose what to change."),
    ],
)
def test_a_request_with_a_mistake_is_refused_next_to_the_field(client, task, staff_a, data, field, message):
    response = ask(client, staff_a, task, **data)
    assert response.status_code == 400
    html = response.content.decode().split(f'class="field field-{field}"')[1].split('class="field ')[0]
    assert message in html
    assert not ChangeRequest.objects.exists()
    assert not Notification.objects.filter(kind="change_requested").exists()


def test_one_request_of_a_kind_waits_at_a_time(client, task, staff_a):
    ask(client, staff_a, task, kind="deadline", new_deadline="2026-12-15", reason="延期")
    response = ask(client, staff_a, task, kind="deadline", new_deadline="2026-12-20", reason="再延期")
    assert response.status_code == 400
    assert "already awaiting the leadership group" in response.content.decode()
    assert ChangeRequest.objects.count() == 1


def test_a_draft_list_is_edited_directly_not_by_request(client, year, department_b, staff_b):
    draft = KeyTaskFactory(year=year, department=department_b, owner=staff_b)
    response = ask(client, staff_b, draft, kind="deadline", new_deadline="2026-12-31", reason="延期")
    assert response.status_code == 400
    assert "change the task itself" in response.content.decode()
    assert f"/tasks/{draft.pk}/change/" not in client.get(f"/tasks/{draft.pk}/").content.decode()


@pytest.mark.parametrize(("who", "status"), [("staff_b", 404), ("leader_a", 403), ("leadership", 403)])
def test_only_the_owner_side_asks(client, request, task, who, status):
    response = ask(client, request.getfixturevalue(who), task, kind="deadline", new_deadline="2026-12-15", reason="x")
    assert response.status_code == status
    assert not ChangeRequest.objects.exists()


def test_the_next_minutes_list_an_approved_change(client, year, task, staff_a, chair, leadership, inspector):
    first = open_meeting(stage_of(year, 1), leadership)
    rate(first, task, 90, leadership)
    close(first, leadership)
    change = services.request_change(
        task=task, by=staff_a, kind="deadline", new_deadline=datetime.date(2026, 12, 15), reason="设备延迟到货"
    )
    services.decide_change(request_id=change.pk, by=chair, approve=True)
    second = open_meeting(stage_of(year, 2), leadership)
    rate(second, task, 90, leadership)
    second = close(second, leadership)
    client.force_login(inspector)
    english(client)
    listed = client.get(f"/reviews/meetings/{second.pk}/minutes/").content.decode()
    listed = listed.split('id="minutes-changes"')[1].split("</table>")[0]
    assert "设备延迟到货" in listed and "10/31/2026" in listed and "12/15/2026" in listed


def test_the_history_names_the_request_and_the_decision(client, task, staff_a, chair):
    change = services.request_change(
        task=task, by=staff_a, kind="deadline", new_deadline=datetime.date(2026, 12, 15), reason="延期"
    )
    services.decide_change(request_id=change.pk, by=chair, approve=False, comment="不同意")
    client.force_login(staff_a)
    english(client)
    history = client.get(f"/tasks/{task.pk}/").content.decode().split('id="history"')[1]
    assert "Change requested" in history and "Change rejected" in history
    assert "request change" not in history and "reject change" not in history
