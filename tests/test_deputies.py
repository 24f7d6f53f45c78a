"""代理: a division leader or an inspector names a deputy of the same role for some days; in
them the deputy's queue holds the absent person's items and each action is recorded as by the
deputy for them; outside them the deputy may not act on those items."""

import datetime

import pytest
from django.utils import timezone

from outbox.models import Notification
from reviews import cases
from reviews.models import CaseEvent, Confirmation, FollowUp
from tasks.models import AuditEntry, Deputy, SelfAssessment
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of, submit

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def today(settings):
    settings.LIGHTBOARD_TODAY = TODAY
    return TODAY


def days(n):
    return (TODAY + datetime.timedelta(days=n)).isoformat()


def name(client, principal, **data):
    client.force_login(principal)
    english(client)
    return client.post("/tasks/deputies/", data)


@pytest.fixture
def waiting(year, department_a, staff_a):
    """A self-assessment of department A (led by leader_a) awaiting confirmation."""
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化")
    return submit(task, stage_of(year, 5), 85)


def confirm_ticked(client, user, assessment):
    client.force_login(user)
    return client.post("/reviews/confirmations/", {"confirm": f"{assessment.pk}:{assessment.version}"})


def test_a_leader_names_a_deputy_who_confirms_for_them_in_the_range(client, waiting, leader_a, leader_b):
    response = name(client, leader_a, role="division_leader", deputy=leader_b.pk, starts=days(0), ends=days(7))
    assert response.status_code == 302
    named = Deputy.objects.get()
    assert (named.principal, named.deputy, named.starts, named.ends) == (
        leader_a,
        leader_b,
        TODAY,
        TODAY + datetime.timedelta(days=7),
    )
    assert Notification.objects.filter(kind="deputy_named", recipient=leader_b).exists()

    client.force_login(leader_b)
    english(client)
    queue = client.get("/reviews/confirmations/").content.decode()
    assert "安全生产标准化" in queue and "for leader_a" in queue
    assert confirm_ticked(client, leader_b, waiting).status_code == 302
    confirmation = Confirmation.objects.get()
    assert (confirmation.confirmed_by, confirmation.confirmed_for) == (leader_b, leader_a)
    entry = AuditEntry.objects.get(action="confirm self-assessment")
    assert (entry.actor, entry.on_behalf_of) == (leader_b, leader_a)
    history = client.get(f"/tasks/{waiting.task_id}/").content.decode().split('id="history"')[1]
    assert "leader_b" in history and "for leader_a" in history


@pytest.mark.parametrize(("starts", "ends", "when"), [(1, 7, "before"), (-7, -1, "after")])
def test_outside_the_range_the_deputy_may_not_act(client, waiting, leader_a, leader_b, starts, ends, when):
    Deputy.objects.create(
        principal=leader_a,
        deputy=leader_b,
        role="division_leader",
        starts=TODAY + datetime.timedelta(days=starts),
        ends=TODAY + datetime.timedelta(days=ends),
    )
    client.force_login(leader_b)
    assert "安全生产标准化" not in client.get("/reviews/confirmations/").content.decode()
    assert client.get(f"/reviews/confirmations/{waiting.pk}/").status_code == 404
    assert confirm_ticked(client, leader_b, waiting).status_code == 404
    waiting.refresh_from_db()
    assert waiting.state == SelfAssessment.State.SUBMITTED
    assert not Confirmation.objects.exists()


def test_the_absent_leader_still_acts_and_it_is_their_own(client, waiting, leader_a, leader_b):
    Deputy.objects.create(principal=leader_a, deputy=leader_b, role="division_leader", starts=TODAY, ends=TODAY)
    assert confirm_ticked(client, leader_a, waiting).status_code == 302
    assert Confirmation.objects.get().confirmed_for is None
    assert AuditEntry.objects.get(action="confirm self-assessment").on_behalf_of is None


@pytest.mark.parametrize(
    ("who", "role", "starts", "ends", "field", "message"),
    [
        ("leader_a", "division_leader", 0, 5, "deputy", "Choose someone else of the same role."),
        ("staff_a", "division_leader", 0, 5, "deputy", "Choose someone else of the same role."),
        ("leader_b", "division_leader", 5, 0, "ends", "The last day comes on or after the first."),
        ("leader_b", "division_leader", -9, -2, "ends", "The last day has passed."),
    ],
)
def test_a_deputy_with_a_mistake_is_refused_next_to_the_field(
    client, request, leader_a, staff_a, leader_b, who, role, starts, ends, field, message
):
    deputy = request.getfixturevalue(who)
    response = name(client, leader_a, role=role, deputy=deputy.pk, starts=days(starts), ends=days(ends))
    assert response.status_code == 400
    html = response.content.decode().split(f'class="field field-{field}"')[1].split('class="field ')[0]
    assert message in html
    assert not Deputy.objects.exists()


def test_ranges_do_not_overlap_and_only_the_absent_person_takes_a_deputy_back(client, leader_a, leader_b, department_b):
    name(client, leader_a, role="division_leader", deputy=leader_b.pk, starts=days(0), ends=days(7))
    response = name(client, leader_a, role="division_leader", deputy=leader_b.pk, starts=days(5), ends=days(9))
    assert response.status_code == 400
    assert "Another deputy stands in for you" in response.content.decode()
    named = Deputy.objects.get()
    client.force_login(leader_b)
    assert client.post(f"/tasks/deputies/{named.pk}/withdraw/").status_code == 403
    client.force_login(leader_a)
    assert client.post(f"/tasks/deputies/{named.pk}/withdraw/").status_code == 302
    assert not Deputy.objects.exists()


def test_only_leaders_and_inspectors_name_deputies(client, staff_a, leadership):
    for user in (staff_a, leadership):
        client.force_login(user)
        assert client.get("/tasks/deputies/").status_code == 403


def test_a_deputy_inspectors_steps_on_the_absent_inspectors_case_are_recorded_for_them(
    client, year, department_a, staff_a, leadership, inspector, second_inspector
):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 45, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get()
    case = cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    Deputy.objects.create(
        principal=inspector, deputy=second_inspector, role="discipline_inspector", starts=TODAY, ends=TODAY
    )
    client.force_login(second_inspector)
    english(client)
    at = timezone.make_aware(datetime.datetime.combine(TODAY + datetime.timedelta(days=3), datetime.time(9, 30)))
    response = client.post(
        f"/reviews/followups/{case.pk}/",
        {"action": "interview", "version": case.version, "at": at.strftime("%Y-%m-%dT%H:%M"), "place": "纪检室"},
    )
    assert response.status_code == 302
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.actor, event.on_behalf_of) == (second_inspector, inspector)
    assert "for inspector" in client.get(f"/reviews/followups/{case.pk}/").content.decode()
    case.refresh_from_db()
    assert case.inspector == inspector  # still the absent inspector's case


def test_the_deputy_inspectors_own_queue_includes_the_absent_inspectors_cases(
    client, year, department_a, staff_a, leadership, inspector, second_inspector
):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="冶炼回收率提升")
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 45, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get()
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    client.force_login(second_inspector)
    assert "冶炼回收率提升" not in client.get("/reviews/followups/?inspector=mine").content.decode()
    Deputy.objects.create(
        principal=inspector, deputy=second_inspector, role="discipline_inspector", starts=TODAY, ends=TODAY
    )
    assert "冶炼回收率提升" in client.get("/reviews/followups/?inspector=mine").content.decode()
