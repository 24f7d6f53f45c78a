"""Division leaders confirm, adjust or return their departments' self-assessments; nobody
else can, and two people acting on the same assessment never overwrite each other."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lightboard.versioning import StaleEdit
from outbox.models import Notification
from outbox.services import notify
from reviews import services
from reviews.models import Confirmation
from tasks.models import AuditEntry, SelfAssessment
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import english, field_block, stage_of, submit

pytestmark = pytest.mark.django_db

QUEUE = "/reviews/confirmations/"


def detail_url(assessment):
    return f"/reviews/confirmations/{assessment.pk}/"


@pytest.fixture
def stage(year):
    return stage_of(year, 1)


@pytest.fixture
def task(year, department_a, staff_a):
    return KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备检修计划")


@pytest.fixture
def assessment(task, stage):
    return submit(task, stage, "72.5")


@pytest.fixture
def leader_client(client, leader_a):
    client.force_login(leader_a)
    return english(client)


def queue_ids(html):
    return [int(pk) for pk in re.findall(r'<tr data-assessment="(\d+)"', html)]


def nothing_confirmed(assessment, version=None):
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.SUBMITTED
    if version is not None:
        assert assessment.version == version
    assert not Confirmation.objects.filter(assessment=assessment).exists()
    assert not AuditEntry.objects.filter(action__in=["confirm self-assessment", "adjust self-assessment"]).exists()


# --- the queue -------------------------------------------------------------------------


def test_the_queue_lists_only_submitted_assessments_of_the_leaders_departments_oldest_first(
    leader_client, year, stage, department_a, department_b, staff_a, staff_b
):
    newer = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="较新提交"), stage, 70)
    older = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="较早提交"), stage, 90)
    now = timezone.now()
    SelfAssessment.objects.filter(pk=older.pk).update(submitted_at=now - datetime.timedelta(days=2))
    SelfAssessment.objects.filter(pk=newer.pk).update(submitted_at=now - datetime.timedelta(days=1))
    draft_task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="仍是草稿")
    from tasks.services import save_self_assessment

    save_self_assessment(task=draft_task, stage=stage, by=staff_a, version=0, completion=Decimal(50), account="草稿")
    confirmed = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="已确认"), stage, 88)
    services.confirm_as_submitted(assessments=[(confirmed.pk, confirmed.version)], by=department_a.division_leader)
    other_division = submit(
        KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="别的分管部门"), stage, 60
    )

    response = leader_client.get(QUEUE)
    html = response.content.decode()

    assert response.status_code == 200
    assert queue_ids(html) == [older.pk, newer.pk]
    assert "较早提交" in html and "较新提交" in html
    assert "仍是草稿" not in html and "已确认" not in html and "别的分管部门" not in html
    assert "第1阶段目标：较早提交" in html  # the stage target is shown beside the score
    assert other_division.pk not in queue_ids(html)


def test_an_empty_queue_says_so(leader_client, department_a):
    assert "Nothing waits for your confirmation." in leader_client.get(QUEUE).content.decode()


def test_confirming_several_as_submitted_keeps_each_self_score_and_is_audited(
    leader_client, leader_a, year, stage, department_a, staff_a
):
    first = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a), stage, "72.5")
    second = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a), stage, 95)

    response = leader_client.post(
        QUEUE, {"confirm": [f"{first.pk}:{first.version}", f"{second.pk}:{second.version}"]}, follow=True
    )

    assert response.status_code == 200
    assert "2 self-assessments confirmed." in response.content.decode()
    for assessment, score in ((first, Decimal("72.5")), (second, Decimal(95))):
        assessment.refresh_from_db()
        assert assessment.state == SelfAssessment.State.CONFIRMED
        assert assessment.confirmation.score == score
        assert assessment.confirmation.reason == ""
        assert assessment.confirmation.confirmed_by == leader_a
        entry = AuditEntry.objects.get(subject_type="selfassessment", subject_id=assessment.pk, actor=leader_a)
        assert entry.action == "confirm self-assessment"
        assert entry.before["state"] == "submitted" and entry.after["state"] == "confirmed"
    assert queue_ids(response.content.decode()) == []


def test_confirming_one_leaves_the_others_waiting(leader_client, year, stage, department_a, staff_a):
    first = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a), stage, 70)
    second = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a), stage, 80)

    leader_client.post(QUEUE, {"confirm": [f"{first.pk}:{first.version}"]})

    assert Confirmation.objects.get().assessment == first
    assert queue_ids(leader_client.get(QUEUE).content.decode()) == [second.pk]


def test_confirming_nothing_ticked_says_so(leader_client, assessment):
    response = leader_client.post(QUEUE, {}, follow=True)
    assert "Tick the self-assessments to confirm." in response.content.decode()
    nothing_confirmed(assessment)


# --- adjusting -------------------------------------------------------------------------


def test_the_detail_page_shows_the_task_target_self_score_and_account(leader_client, assessment):
    html = leader_client.get(detail_url(assessment)).content.decode()
    assert "设备检修计划" in html
    assert "第1阶段目标：设备检修计划" in html
    assert "72.5%" in html
    assert "按计划推进" in html
    assert 'id="adjust-form"' in html and 'id="return-form"' in html


def test_confirming_with_an_adjusted_score_and_a_reason(leader_client, leader_a, assessment):
    response = leader_client.post(
        detail_url(assessment),
        {"action": "adjust", "score": "65", "reason": "证据不足以支撑72.5%", "version": assessment.version},
    )

    assert response.status_code == 302 and response.url == QUEUE
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.CONFIRMED
    assert assessment.completion == Decimal("72.5")  # the department's own score stays as it was
    assert assessment.confirmation.score == Decimal(65)
    assert assessment.confirmation.reason == "证据不足以支撑72.5%"
    entry = AuditEntry.objects.get(action="adjust self-assessment")
    assert entry.actor == leader_a and entry.reason == "证据不足以支撑72.5%"
    assert entry.after["confirmed_score"] == "65.0"


def test_confirming_the_self_score_through_the_adjust_form_needs_no_reason(leader_client, assessment):
    response = leader_client.post(
        detail_url(assessment), {"action": "adjust", "score": "72.5", "reason": "", "version": assessment.version}
    )
    assert response.status_code == 302
    assert Confirmation.objects.get(assessment=assessment).score == Decimal("72.5")
    assert AuditEntry.objects.filter(action="confirm self-assessment").count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_adjusted_score_without_a_reason_is_refused_next_to_the_reason(leader_client, assessment, reason):
    version = assessment.version
    response = leader_client.post(
        detail_url(assessment), {"action": "adjust", "score": "60", "reason": reason, "version": version}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why the confirmed score differs from the self score." in field_block(html, "reason")
    assert 'value="60"' in field_block(html, "score")  # what the leader typed is kept
    nothing_confirmed(assessment, version)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "This field is required."),
        ("abc", "Enter a number from 0 to 100, such as 75 or 82.5."),
        ("-1", "A score cannot be below 0."),
        ("100.1", "A score cannot be above 100."),
        ("80.55", "Use at most one decimal place, such as 82.5."),
    ],
)
def test_a_bad_adjusted_score_is_refused_with_a_message_and_nothing_is_saved(leader_client, assessment, raw, message):
    version = assessment.version
    response = leader_client.post(
        detail_url(assessment), {"action": "adjust", "score": raw, "reason": "有理由", "version": version}
    )

    assert response.status_code == 400
    assert message in field_block(response.content.decode(), "score")
    nothing_confirmed(assessment, version)


# --- returning -------------------------------------------------------------------------


def test_returning_with_a_comment_tells_the_owner_and_the_departments_staff_once(
    leader_client, leader_a, staff_a, colleague_a, task, assessment
):
    version = assessment.version
    data = {"action": "return", "comment": "请补充检修记录", "version": version}

    response = leader_client.post(detail_url(assessment), data)

    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.RETURNED
    assert assessment.return_comment == "请补充检修记录"
    assert not Confirmation.objects.exists()
    told = Notification.objects.order_by("recipient__username")
    assert [n.recipient for n in told] == [colleague_a, staff_a]  # whoever fills in the owner's tasks
    assert {(n.kind, n.body, n.link) for n in told} == {
        ("assessment_returned", "请补充检修记录", f"/tasks/{task.pk}/stages/1/assess/")
    }
    assert AuditEntry.objects.filter(action="return self-assessment", actor=leader_a).count() == 1

    again = leader_client.post(detail_url(assessment), data)

    assert again.status_code == 400
    assert Notification.objects.count() == 2
    assert AuditEntry.objects.filter(action="return self-assessment").count() == 1
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.RETURNED


def test_the_owner_hears_of_a_confirmation_and_of_an_adjustment_with_its_reason(
    leader_client, leader_a, staff_a, year, stage, department_a, task, assessment
):
    leader_client.post(QUEUE, {"confirm": [f"{assessment.pk}:{assessment.version}"]})
    other = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="备件库存压降"), stage, 80)
    leader_client.post(
        detail_url(other), {"action": "adjust", "score": "65", "reason": "佐证不足", "version": other.version}
    )
    told = {n.subject: n for n in Notification.objects.filter(recipient=staff_a, kind="assessment_confirmed")}
    assert set(told) == {
        "Self-assessment confirmed: 设备检修计划, stage 1, 72.5%",
        "Self score adjusted to 65.0% (was 80.0%): 备件库存压降, stage 1",
    }
    assert told["Self score adjusted to 65.0% (was 80.0%): 备件库存压降, stage 1"].body == "佐证不足"


def test_the_queue_groups_by_stage_shows_each_self_scores_light_and_ticks_all(
    leader_client, year, department_a, staff_a
):
    later = submit(
        KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="第二阶段任务"), stage_of(year, 2), 55
    )
    earlier = submit(
        KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="第一阶段任务"), stage_of(year, 1), 85
    )
    html = leader_client.get(QUEUE).content.decode()
    assert re.findall(r'<tbody class="queue-stage" data-stage="(\d)">', html) == ["1", "2"]
    row = html.split(f'data-assessment="{later.pk}"')[1].split("</tr>")[0]
    assert "55.0%" in row and 'class="light red"' in row
    row = html.split(f'data-assessment="{earlier.pk}"')[1].split("</tr>")[0]
    assert 'class="light green"' in row
    assert 'data-select-all="confirm"' in html


def test_adjusting_previews_the_light_of_the_typed_score(leader_client, assessment):
    page = leader_client.get(detail_url(assessment)).content.decode()
    assert f'hx-get="/tasks/{assessment.task_id}/light/"' in page
    preview = leader_client.get(
        f"/tasks/{assessment.task_id}/light/", {"score": "59.9"}, headers={"HX-Request": "true"}
    )
    assert 'class="light red"' in preview.content.decode()


def test_the_outbox_never_writes_a_key_twice(staff_a):
    first = notify(recipient=staff_a, kind="k", subject="s", key="same-key")
    second = notify(recipient=staff_a, kind="k", subject="other", key="same-key")
    assert first.pk == second.pk and Notification.objects.count() == 1


def test_returning_needs_a_comment(leader_client, assessment):
    version = assessment.version
    response = leader_client.post(detail_url(assessment), {"action": "return", "comment": "", "version": version})
    assert response.status_code == 400
    assert "Say what needs to change." in field_block(response.content.decode(), "comment")
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.SUBMITTED and assessment.version == version
    assert not Notification.objects.exists()


def test_a_returned_assessment_is_editable_again_and_can_be_resubmitted(
    leader_client, staff_a, task, stage, assessment
):
    services.return_assessment(
        assessment_id=assessment.pk, version=assessment.version, comment="补材料", by=task.department.division_leader
    )
    again = submit(task, stage, 75)
    assert again.pk == assessment.pk and again.state == SelfAssessment.State.SUBMITTED
    assert queue_ids(leader_client.get(QUEUE).content.decode()) == [assessment.pk]


# --- who may act -----------------------------------------------------------------------


def test_a_leader_of_another_division_cannot_see_or_act_on_the_assessment(client, leader_b, department_b, assessment):
    client.force_login(leader_b)
    version = assessment.version

    assert client.get(QUEUE).status_code == 200
    assert queue_ids(client.get(QUEUE).content.decode()) == []
    assert client.get(detail_url(assessment)).status_code == 404
    adjust = {"action": "adjust", "score": "10", "reason": "x", "version": version}
    assert client.post(detail_url(assessment), adjust).status_code == 404
    back = {"action": "return", "comment": "x", "version": version}
    assert client.post(detail_url(assessment), back).status_code == 404
    assert client.post(QUEUE, {"confirm": [f"{assessment.pk}:{version}"]}).status_code in (403, 404)

    nothing_confirmed(assessment, version)
    assert not Notification.objects.exists()


def test_a_batch_with_another_divisions_assessment_confirms_nothing(
    client, leader_b, year, stage, department_b, staff_b, assessment
):
    own = submit(KeyTaskFactory(year=year, department=department_b, owner=staff_b), stage, 90)
    client.force_login(leader_b)

    response = client.post(QUEUE, {"confirm": [f"{own.pk}:{own.version}", f"{assessment.pk}:{assessment.version}"]})

    assert response.status_code in (403, 404)
    assert not Confirmation.objects.exists()
    own.refresh_from_db()
    assert own.state == SelfAssessment.State.SUBMITTED


def test_an_unknown_or_malformed_assessment_in_the_queue_post_is_404(leader_client, assessment):
    assert leader_client.post(QUEUE, {"confirm": ["999999:1"]}).status_code == 404
    assert leader_client.post(QUEUE, {"confirm": ["abc"]}).status_code == 404
    assert leader_client.get("/reviews/confirmations/999999/").status_code == 404
    nothing_confirmed(assessment)


@pytest.mark.parametrize("who", ["staff_a", "leadership", "inspector", "no_role"])
def test_only_division_leaders_reach_the_queue(client, request, assessment, who):
    client.force_login(request.getfixturevalue(who))
    version = assessment.version
    assert client.get(QUEUE).status_code == 403
    assert client.post(QUEUE, {"confirm": [f"{assessment.pk}:{version}"]}).status_code == 403
    assert client.get(detail_url(assessment)).status_code == 403
    adjust = {"action": "adjust", "score": "10", "reason": "x", "version": version}
    assert client.post(detail_url(assessment), adjust).status_code == 403
    nothing_confirmed(assessment, version)


def test_signed_out_visitors_are_sent_to_sign_in(client, assessment):
    response = client.get(QUEUE)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- concurrent edits ------------------------------------------------------------------


def test_two_views_of_the_same_assessment_the_first_confirm_wins(client, django_user_model, leader_a, assessment):
    """The leader has the assessment open in two places (say the office PC and a laptop at
    the meeting) at the same version: the second action is refused with who and when."""
    from django.test import Client

    first, second = english(Client()), english(Client())
    first.force_login(leader_a)
    second.force_login(leader_a)
    version = assessment.version
    page = second.get(detail_url(assessment)).content.decode()
    assert f'name="version" value="{version}"' in page

    assert first.post(QUEUE, {"confirm": [f"{assessment.pk}:{version}"]}).status_code == 302
    response = second.post(
        detail_url(assessment), {"action": "adjust", "score": "50", "reason": "偏低", "version": version}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "leader_a changed this at" in html
    assert "Reload the page to see their change; yours was not saved." in html
    confirmation = Confirmation.objects.get()
    assert confirmation.score == Decimal("72.5") and confirmation.reason == ""
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.CONFIRMED and assessment.version == version + 1

    stale_return = second.post(detail_url(assessment), {"action": "return", "comment": "退回", "version": version})
    assert stale_return.status_code == 400
    assert "changed this at" in stale_return.content.decode()
    assert not Notification.objects.filter(kind="assessment_returned").exists()
    assessment.refresh_from_db()
    assert assessment.state == SelfAssessment.State.CONFIRMED


def test_a_stale_batch_confirm_reports_who_changed_it(leader_client, leader_a, assessment):
    version = assessment.version
    services.confirm_with_adjustment(
        assessment_id=assessment.pk, version=version, score=Decimal(60), reason="核减", by=leader_a
    )

    response = leader_client.post(QUEUE, {"confirm": [f"{assessment.pk}:{version}"]}, follow=True)

    assert "leader_a changed this at" in response.content.decode()
    assert Confirmation.objects.get().score == Decimal(60)


def test_the_service_refuses_a_stale_version_and_keeps_the_first_score(leader_a, assessment):
    version = assessment.version
    services.confirm_with_adjustment(
        assessment_id=assessment.pk, version=version, score=Decimal(70), reason="第一位", by=leader_a
    )
    with pytest.raises(StaleEdit, match="changed this at"):
        services.confirm_with_adjustment(
            assessment_id=assessment.pk, version=version, score=Decimal(40), reason="第二位", by=leader_a
        )
    assert Confirmation.objects.get().score == Decimal(70)


def test_a_long_queue_comes_a_hundred_at_a_time_oldest_first(client, year, department_a, staff_a, leader_a):
    from django.utils import timezone

    from reviews.queries import QUEUE_PAGE_SIZE
    from tasks.models import SelfAssessment
    from tests.factories import KeyTaskFactory

    stage = year.stages.get(number=5)
    tasks = KeyTaskFactory.create_batch(QUEUE_PAGE_SIZE + 5, year=year, department=department_a, owner=staff_a)
    start = timezone.now()
    SelfAssessment.objects.bulk_create(
        SelfAssessment(
            task=task, stage=stage, completion=70, state="submitted", submitted_at=start + timezone.timedelta(minutes=i)
        )
        for i, task in enumerate(tasks)
    )
    client.force_login(leader_a)
    first = client.get("/reviews/confirmations/").content.decode()
    assert first.count("data-assessment=") == QUEUE_PAGE_SIZE
    assert first.index(tasks[0].title) < first.index(tasks[1].title)
    second = client.get("/reviews/confirmations/?page=2").content.decode()
    assert second.count("data-assessment=") == 5 and tasks[-1].title in second


def test_the_queue_runs_the_same_queries_at_two_sizes(leader_client, year, department_a, staff_a):
    """More waiting self-assessments, over more stages, cost no more queries on the queue."""
    seen = []
    for count, number in ((2, 1), (25, 2)):
        for n in range(count):
            task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=f"任务{number}-{n}")
            submit(task, stage_of(year, number), 70)
        with CaptureQueriesContext(connection) as captured:
            html = leader_client.get(QUEUE).content.decode()
        seen.append(len(captured))
        assert len(queue_ids(html)) == 2 + (25 if number == 2 else 0)
    assert seen[0] == seen[1], seen
    # A page past the last shows the last (here the only) one.
    assert queue_ids(leader_client.get(f"{QUEUE}?page=9").content.decode()) == queue_ids(html)
