"""问责 and 容错纠错: an escalated case enters the accountability register; the office records the
decision or asks for an exemption, which only the leadership group approves or refuses; the
register is read across the years by the serious rule and on the inspector's case page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import Notification
from reviews import cases
from reviews.models import Accountability, CaseEvent, FollowUp, Rating
from tasks.models import AuditEntry
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


def red_case(year, department, owner, leadership, number=2, title="新产线投产"):
    task = KeyTaskFactory(year=year, department=department, owner=owner, title=title)
    meeting = open_meeting(stage_of(year, number), leadership)
    for rating in meeting.ratings.exclude(task=task).select_related("task"):
        rate(meeting, rating.task, 90, leadership)
    rate(meeting, task, 45, leadership, decision="发函督办")
    close(meeting, leadership)
    return FollowUp.objects.get(rating__task=task)


@pytest.fixture
def escalated(year, department_a, staff_a, leadership, inspector):
    case = red_case(year, department_a, staff_a, leadership)
    return cases.escalate(case_id=case.pk, version=case.version, reason="屡督不改", by=inspector)


def act(client, user, case, action, **data):
    client.force_login(user)
    english(client)
    case.refresh_from_db()
    return client.post(f"/reviews/followups/{case.pk}/", {"action": action, "version": case.version, **data})


def test_escalating_puts_the_owner_on_the_register(escalated, staff_a, inspector):
    entry = escalated.accountability
    assert (entry.person, entry.year, entry.reason, entry.proposed_by, entry.state) == (
        staff_a,
        2026,
        "屡督不改",
        inspector,
        "proposed",
    )


def test_the_office_records_the_decision(client, escalated, inspector, leadership):
    assert act(client, inspector, escalated, "decide", decision="通报批评").status_code == 302
    entry = Accountability.objects.get()
    assert (entry.state, entry.decision, entry.decided_by) == ("decided", "通报批评", inspector)
    client.force_login(leadership)
    english(client)
    register = client.get("/reviews/accountability/").content.decode().split('id="register"')[1]
    assert "通报批评" in register and "新产线投产" in register and "Decided" in register


def test_an_exemption_asked_by_the_office_and_approved_by_the_leadership_keeps_the_light_red(
    client, escalated, inspector, leadership, staff_a
):
    response = act(client, inspector, escalated, "exempt", objective_cause="上游设备厂家破产", reason="已尽职")
    assert response.status_code == 302
    assert Notification.objects.filter(kind="exemption_requested", recipient=leadership).exists()
    # Only the leadership group decides: the inspector is refused and nothing changes.
    assert act(client, inspector, escalated, "approve_exemption", comment="").status_code == 403
    assert Accountability.objects.get().state == "exemption_requested"
    assert act(client, leadership, escalated, "approve_exemption", comment="符合容错情形").status_code == 302
    entry = Accountability.objects.get()
    assert (entry.state, entry.exemption_decided_by, entry.exemption_comment) == (
        "exempted",
        leadership,
        "符合容错情形",
    )
    escalated.refresh_from_db()
    assert escalated.state == "escalated"
    assert Rating.objects.get(pk=escalated.rating_id).colour == "red"  # the light stays red
    assert list(CaseEvent.objects.filter(case=escalated).values_list("action", flat=True)) == [
        "escalated",
        "exemption requested",
        "exemption approved",
    ]
    assert AuditEntry.objects.filter(action="case: exemption approved", actor=leadership).exists()
    assert Notification.objects.filter(kind="exemption_decided", recipient=staff_a).exists()


def test_refusing_an_exemption_needs_a_reason_and_the_accountability_goes_on(client, escalated, inspector, leadership):
    act(client, inspector, escalated, "exempt", objective_cause="天气", reason="不可抗力")
    response = act(client, leadership, escalated, "refuse_exemption", comment=" ")
    assert response.status_code == 400
    assert "Say why the exemption is refused." in response.content.decode()
    assert Accountability.objects.get().state == "exemption_requested"
    assert act(client, leadership, escalated, "refuse_exemption", comment="属主观原因").status_code == 302
    assert Accountability.objects.get().state == "proposed"
    # Back with the office: it may now record the decision.
    assert act(client, inspector, escalated, "decide", decision="诫勉谈话").status_code == 302


@pytest.mark.parametrize(
    ("who", "status"), [("staff_a", 403), ("leader_a", 403), ("inspector", 200), ("leadership", 200)]
)
def test_who_reads_the_register(client, request, escalated, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/reviews/accountability/").status_code == status


def test_the_case_page_shows_the_owners_earlier_entries_to_the_office_only(
    client, year, escalated, department_a, staff_a, leadership, inspector
):
    later = red_case(year, department_a, staff_a, leadership, number=3, title="回款提升")
    client.force_login(inspector)
    english(client)
    html = client.get(f"/reviews/followups/{later.pk}/").content.decode()
    assert 'id="owner-register"' in html
    register = html.split('id="owner-register"')[1].split("</dd>")[0]
    assert f"/reviews/followups/{escalated.pk}/" in register and "Proposed" in register
    assert 'id="accountability"' not in html  # the later case has no entry of its own
    # The escalated case's page shows its own entry, and not again among the owner's others.
    html = client.get(f"/reviews/followups/{escalated.pk}/").content.decode()
    assert 'id="accountability"' in html
    register = html.split('id="owner-register"')[1].split("</dd>")[0]
    assert f"/reviews/followups/{escalated.pk}/" not in register and "has no other entry" in register
    client.force_login(staff_a)
    assert 'id="owner-register"' not in client.get(f"/reviews/followups/{later.pk}/").content.decode()


def test_the_serious_rule_counts_the_register_across_years_but_not_exemptions(
    client, year, department_a, department_b, staff_a, staff_b, leadership, inspector
):
    earlier = red_case(year, department_a, staff_a, leadership)
    cases.escalate(case_id=earlier.pk, version=earlier.version, reason="问责", by=inspector)
    Accountability.objects.filter(case=earlier).update(year=2025)  # on last year's register
    exempted = red_case(year, department_b, staff_b, leadership, number=3, title="回款提升")
    exempted = cases.escalate(case_id=exempted.pk, version=exempted.version, reason="问责", by=inspector)
    exempted = cases.request_exemption(
        case_id=exempted.pk, version=exempted.version, objective_cause="原因", reason="理由", by=inspector
    )
    cases.approve_exemption(case_id=exempted.pk, version=exempted.version, by=leadership)

    meeting = open_meeting(stage_of(year, 4), leadership)
    for rating in meeting.ratings.select_related("task"):
        rate(meeting, rating.task, 75 if rating.task.title in ("新产线投产", "回款提升") else 90, leadership)
    close(meeting, leadership)
    again_a = FollowUp.objects.get(rating__meeting=meeting, rating__task__owner=staff_a)
    again_b = FollowUp.objects.get(rating__meeting=meeting, rating__task__owner=staff_b)
    assert again_a.serious and "accountability register" in again_a.serious_reason
    assert not again_b.serious  # exempted: not held against them


def test_the_register_runs_the_same_queries_whatever_its_length(
    client, year, department_a, staff_a, leadership, inspector
):
    seen = []
    for number, size in ((1, 1), (2, 8)):
        for index in range(size):
            KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=f"任务{number}-{index}")
        meeting = open_meeting(stage_of(year, number), leadership)
        for rating in meeting.ratings.select_related("task"):
            rate(meeting, rating.task, 45, leadership)
        close(meeting, leadership)
        for case in FollowUp.objects.filter(rating__meeting=meeting):
            cases.escalate(case_id=case.pk, version=case.version, reason="问责", by=inspector)
        client.force_login(inspector)
        with CaptureQueriesContext(connection) as captured:
            html = client.get("/reviews/accountability/").content.decode()
        assert html.count('class="state-badge proposed"') == Accountability.objects.count()
        seen.append(len(captured))
    assert Accountability.objects.count() == 1 + 9
    assert seen[0] == seen[1], seen
