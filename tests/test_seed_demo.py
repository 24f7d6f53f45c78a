"""`seed_demo` loads a usable demo company, once, and only where it is safe; and its data tells a
believable year: results that rise and fall from stage to stage and differ by department, the
follow-up cases of earlier meetings worked the way the discipline office would, and stage
targets that read as each task's own staged goals."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from lightboard.colour import classify
from tasks.demo import load_demo_data
from tasks.models import AssessmentYear, Department, KeyTask, SelfAssessment, StageTarget, User

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)


def test_demo_company_has_departments_subsidiaries_and_tasks():
    year = load_demo_data(today=TODAY)
    assert year.year == 2026
    kinds = Counter(Department.objects.values_list("kind", flat=True))
    assert kinds["department"] >= 6 and kinds["subsidiary"] >= 2
    assert 50 <= KeyTask.objects.filter(year=year).count() <= 75
    # Every task has a standard, an owner of its department, a deadline in its year and six targets.
    for task in KeyTask.objects.filter(year=year).select_related("owner", "department"):
        assert task.standard
        assert task.owner.departments.filter(pk=task.department_id).exists()
        assert task.deadline.year == 2026
    assert StageTarget.objects.count() == 6 * KeyTask.objects.count()


def test_past_stages_are_self_assessed_and_cover_every_colour_and_both_boundaries():
    year = load_demo_data(today=TODAY)
    assessments = SelfAssessment.objects.filter(stage__year=year).select_related("stage")
    assert {a.stage.number for a in assessments} == {1, 2, 3, 4, 5}
    scores = {a.completion for a in assessments}
    assert {Decimal("80.0"), Decimal("60.0"), Decimal("80.1"), Decimal("59.9")} <= scores
    assert {str(classify(score)) for score in scores} == {"green", "yellow", "red"}
    # The current stage (6) waits for self-assessment.
    assert not SelfAssessment.objects.filter(stage__year=year, stage__number=6).exists()


def test_demo_logins_one_per_role_with_password_demo():
    load_demo_data(today=TODAY)
    expected = {
        "staff": "department_staff",
        "leader": "division_leader",
        "leadership": "leadership_group",
        "inspector": "discipline_inspector",
        "admin": "administrator",
    }
    for username, group in expected.items():
        user = User.objects.get(username=username)
        assert user.check_password("demo")
        assert user.groups.filter(name=group).exists()
    assert User.objects.get(username="admin").is_superuser
    # Staff own tasks of their own department; the leader leads departments.
    staff = User.objects.get(username="staff")
    assert KeyTask.objects.filter(owner=staff, department__in=staff.departments.all()).exists()
    assert Department.objects.filter(division_leader__username="leader").count() >= 2
    # People who only appear in the data cannot sign in.
    assert not User.objects.get(username="zhou.wenhua").has_usable_password()


def test_running_twice_duplicates_nothing():
    load_demo_data(today=TODAY)
    before = [
        model.objects.count() for model in (User, Department, AssessmentYear, KeyTask, StageTarget, SelfAssessment)
    ]
    load_demo_data(today=TODAY)
    after = [
        model.objects.count() for model in (User, Department, AssessmentYear, KeyTask, StageTarget, SelfAssessment)
    ]
    assert before == after


def test_command_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not User.objects.filter(username="staff").exists()


def test_command_runs_with_debug_off_when_forced(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="staff").exists()


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("staff", "/tasks/mine/"),
        ("leader", "/reviews/confirmations/"),
        ("leadership", "/reviews/meetings/"),
        ("inspector", "/reviews/followups/"),
        ("admin", "/admin/"),
    ],
)
def test_each_demo_login_signs_in_and_reaches_its_landing_screen(client, username, landing):
    load_demo_data(today=TODAY)
    response = client.post("/accounts/login/", {"username": username, "password": "demo"}, follow=True)
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


def test_after_the_demo_load_staff_have_tasks_awaiting_this_stages_self_assessment(client):
    load_demo_data()
    client.post("/accounts/login/", {"username": "staff", "password": "demo"})
    html = client.get("/tasks/mine/").content.decode()
    assert html.count("data-task=") == 5
    assert html.count("未开始") == 5


def test_demo_has_closed_meetings_with_minutes_and_the_latest_stages_meeting_ready(client):
    from reviews.demo import load_review_demo
    from reviews.models import FollowUp, Rating, ReviewMeeting

    year = load_demo_data(today=TODAY)
    load_review_demo(year, today=TODAY)
    load_review_demo(year, today=TODAY)  # idempotent
    group = ReviewMeeting.objects.filter(stage__year=year, unit=None)
    states = dict(group.values_list("stage__number", "state"))
    assert states == {1: "closed", 2: "closed", 3: "closed", 4: "closed", 5: "scheduled"}
    closed = group.get(stage__number=4)
    assert (
        Rating.objects.filter(meeting=closed).count()
        == KeyTask.objects.filter(year=year).exclude(department__code__startswith="HLXT").count()
    )
    assert set(Rating.objects.filter(meeting=closed).values_list("colour", flat=True)) == {"green", "yellow", "red"}
    assert FollowUp.objects.filter(rating__meeting=closed).count() == (
        Rating.objects.filter(meeting=closed, colour__in=["yellow", "red"]).count()
    )
    client.post("/accounts/login/", {"username": "leadership", "password": "demo"})
    assert client.get(f"/reviews/meetings/{closed.pk}/minutes/").status_code == 200
    client.logout()
    client.post("/accounts/login/", {"username": "leader", "password": "demo"})
    queue = client.get("/reviews/confirmations/").content.decode()
    assert queue.count("data-assessment=") == 20


# --- the story of the year ------------------------------------------------------------------


@pytest.fixture(scope="class")
def demo_year(django_db_setup, django_db_blocker):
    """The demo as it stands on 25 November 2026: stages 1–4 reviewed, stage 5's meeting
    scheduled, stage 6 under way. Loaded once for the class and rolled back after it."""
    from reviews.demo import load_review_demo

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        year = load_demo_data(today=TODAY)
        load_review_demo(year, today=TODAY)
        yield year
        transaction.set_rollback(True)


def group_cycle_of(year):
    """The filter of the group cycle's meetings of the demo's year (the story's)."""
    return {"rating__meeting__stage__year": year, "rating__meeting__unit": None}


def _counts(counter):
    return (counter["green"], counter["yellow"], counter["red"])


class TestTheDemoYear:
    """What the demo's year tells, read as the reports, the queues and the pages read it."""

    def test_the_trend_rises_and_falls_from_stage_to_stage(self, demo_year):
        from reports.queries import year_overview

        per_stage = year_overview(demo_year).per_stage
        assert sorted(per_stage) == [1, 2, 3, 4]
        counts = {number: _counts(per_stage[number]) for number in per_stage}
        # No two stages end alike: the trend chart's lines are not flat.
        assert len(set(counts.values())) == 4, counts
        for green, yellow, red in (counts[1], counts[2], counts[3], counts[4]):
            assert green + yellow + red == KeyTask.objects.filter(year=demo_year).count()
            assert green and yellow and red
        # The mid-year trough, then recovery under supervision.
        reds = [counts[number][2] for number in (1, 2, 3, 4)]
        greens = [counts[number][0] for number in (1, 2, 3, 4)]
        assert max(reds) == reds[2] and reds[2] > reds[0] and reds[3] < reds[2]
        assert min(greens) == greens[2] and greens[3] > greens[2]
        # The self scores of stage 5 move on again.
        stage5_scores = SelfAssessment.objects.filter(stage__year=demo_year, stage__number=5).values_list(
            "completion", flat=True
        )
        stage5 = Counter(str(classify(score)) for score in stage5_scores)
        assert _counts(stage5) != counts[4]

    def test_departments_differ_and_move_their_own_way(self, demo_year):
        from reviews.models import Rating

        scores = {}
        for code, number, score in Rating.objects.values_list(
            "task__department__code", "meeting__stage__number", "final_score"
        ):
            scores.setdefault(code, {}).setdefault(number, []).append(score)
        average = {code: {n: sum(v) / len(v) for n, v in stages.items()} for code, stages in scores.items()}
        lights = {code: Counter() for code in scores}
        for code, colour in Rating.objects.values_list("task__department__code", "colour"):
            lights[code][colour] += 1
        # Some departments stay (nearly) green all year, others collect red lights.
        assert len([code for code, c in lights.items() if not c["red"] and c["yellow"] <= 1]) >= 2
        assert len([code for code, c in lights.items() if c["red"] >= 2]) >= 3
        # Some improve over the year, some decline.
        assert any(a[4] - a[1] >= 10 for a in average.values())  # e.g. 华岭冶炼
        assert any(a[1] - a[4] >= 8 for a in average.values())  # e.g. 生产运营部
        assert len({round(a[3], 1) for a in average.values()}) >= 8

    def test_earlier_meetings_red_cases_were_supervised_interviewed_rectified_closed_or_escalated(self, demo_year):
        from reviews.models import CaseEvent, FollowUp, Letter

        red = FollowUp.objects.filter(
            kind="supervision", rating__meeting__state="closed", **group_cycle_of(demo_year)
        ).exclude(rating__amendments__isnull=False)
        assert red.count() >= 10
        assert not red.filter(state="open").exists()
        # Every red case got its numbered supervision letter and an interview notice.
        for case in red:
            assert Letter.objects.filter(case=case, kind="supervision").exists()
            assert Letter.objects.filter(case=case, kind="interview").exists()
            assert case.interview_at and case.interview_place
        assert red.filter(state="closed").count() >= 8
        assert all(case.conclusion for case in red.filter(state="closed"))
        assert red.exclude(interview_record="").count() == red.count()
        # Closed red cases were closed on an accepted rectification report (销号), none by exception.
        for case in red.filter(state="closed"):
            assert case.rectifications.filter(kind="plan", state="accepted").exists()
            assert case.rectifications.filter(kind="report", state="accepted").exists()
            assert case.closed_unaccepted_reason == ""
        escalated = red.filter(state="escalated")
        assert escalated.count() == 1
        assert escalated.get().serious and escalated.get().escalation_reason
        # On the accountability register, with the decision taken.
        assert (escalated.get().accountability.state, escalated.get().accountability.person) == (
            "decided",
            escalated.get().rating.task.owner,
        )
        # The steps are recorded as case events by the inspector, and the owner wrote the plan.
        inspector = User.objects.get(username="inspector")
        assert set(red.values_list("inspector", flat=True)) == {inspector.pk}
        actions = set(CaseEvent.objects.filter(case__in=red).values_list("action", flat=True))
        assert {
            "supervision letter issued",
            "interview scheduled",
            "interview recorded",
            "rectification submitted",
            "rectification accepted",
            "closed",
            "escalated",
        } <= actions
        rectified = CaseEvent.objects.filter(case__in=red, action="rectification submitted").select_related(
            "case__rating__task"
        )
        assert all(event.actor_id == event.case.rating.task.owner_id for event in rectified)

    def test_earlier_meetings_yellow_cases_were_reminded_and_most_closed(self, demo_year):
        from reviews.models import FollowUp, Letter

        yellow = FollowUp.objects.filter(kind="reminder")
        assert yellow.count() >= 30
        assert not yellow.filter(state="open").exists()
        assert Letter.objects.filter(case__in=yellow, kind="reminder").count() == yellow.count()
        assert yellow.filter(state="closed").count() >= yellow.count() - 2
        answered = yellow.filter(state="closed", rectifications__kind="answer", rectifications__state="accepted")
        assert answered.exists()
        assert not answered.exclude(closed_unaccepted_reason="").exists()
        # Closed on the reminder alone: with the inspector's reason on the record.
        on_reminder = yellow.filter(state="closed", rectifications__isnull=True)
        assert on_reminder.exists()
        assert not on_reminder.filter(closed_unaccepted_reason="").exists()

    def test_the_leadership_instructed_and_the_next_minutes_list_it(self, demo_year):
        from reviews.models import FollowUp, ReviewMeeting
        from reviews.queries import minutes
        from tasks.models import Comment

        closed = list(
            ReviewMeeting.objects.filter(state="closed", stage__year=demo_year, unit=None).order_by("closed_at")
        )
        assert Comment.objects.filter(is_instruction=True).count() >= len(closed) - 1
        # Each meeting after the first lists the instruction given after the one before.
        assert all(minutes(meeting).instructions for meeting in closed[1:])
        # The open red cases are being discussed: the inspector asked, the owner answered.
        for case in FollowUp.objects.filter(kind="supervision").exclude(state__in=["closed", "escalated"]):
            authors = list(Comment.objects.filter(thread=f"case:{case.pk}").values_list("author__username", flat=True))
            assert authors[:1] == ["inspector"] and len(authors) == 2

    def test_changes_were_approved_and_one_awaits_the_leadership(self, demo_year):
        from reviews.models import ReviewMeeting
        from reviews.queries import minutes
        from tasks.models import ChangeRequest

        assert ChangeRequest.objects.filter(state="approved").count() >= 2
        assert ChangeRequest.objects.filter(state="pending").count() == 1
        closed = list(
            ReviewMeeting.objects.filter(state="closed", stage__year=demo_year, unit=None).order_by("closed_at")
        )
        assert all(minutes(meeting).changes for meeting in closed[1:])

    def test_a_few_recent_cases_are_still_open_and_one_or_two_overdue(self, demo_year):
        from reviews.models import FollowUp

        still_open = FollowUp.objects.exclude(state__in=["closed", "escalated"])
        assert 2 <= still_open.count() <= 5
        # All of them are the latest closed meeting's (stage 4); none of them is untouched.
        assert set(still_open.values_list("rating__meeting__stage__number", flat=True)) == {4}
        assert not still_open.filter(state="open").exists()
        overdue = still_open.filter(due_date__lt=TODAY)
        assert 1 <= overdue.count() <= 2
        # Cases fall due counted from their meeting's day.
        for case in FollowUp.objects.select_related("rating__meeting").exclude(rating__amendments__isnull=False):
            days = (case.due_date - case.rating.meeting.date).days
            assert days == (30 if case.kind == "supervision" else 15)
        # A rating found wrong after the meeting was amended and its new case taken up.
        amended = FollowUp.objects.get(rating__amendments__isnull=False)
        assert amended.kind == "supervision" and amended.state == "notified" and amended.due_date >= TODAY

    def test_the_inspectors_queue_shows_the_open_cases_and_the_overdue_ones(self, client, settings, demo_year):
        settings.LIGHTBOARD_TODAY = TODAY
        client.post("/accounts/login/", {"username": "inspector", "password": "demo"})
        html = client.get("/reviews/followups/").content.decode()
        assert html.count("data-case=") == 3
        assert html.count('class="overdue-row"') == 2

    def test_stage_targets_are_each_tasks_own_staged_goals(self, demo_year):
        targets = {}
        rows = StageTarget.objects.filter(task__year=demo_year).values_list(
            "task__title", "stage__number", "description"
        )
        for title, number, description in rows:
            targets.setdefault(title, {})[number] = description
        this_year = KeyTask.objects.filter(year=demo_year)
        assert len(targets) == this_year.count()
        for title, by_stage in targets.items():
            assert sorted(by_stage) == [1, 2, 3, 4, 5, 6]
            assert len(set(by_stage.values())) == 6, title  # every stage asks for something else
        # No two tasks share their list of targets, nor their stage-6 target.
        assert len({tuple(sorted(by_stage.items())) for by_stage in targets.values()}) == len(targets)
        assert len({by_stage[6] for by_stage in targets.values()}) == len(targets)
        output = targets["主要产品产量计划完成"]
        assert "31%" in output[2] and "50%" in output[3] and "全年" in output[6]
        assert output[3] != targets["生产设备完好率提升"][3]
        # The standards are the tasks' own too.
        assert this_year.values("standard").distinct().count() == this_year.count()

    def test_the_browser_journeys_task_reads_as_the_journey_expects(self, demo_year):
        """tests/browser/test_journeys_in_chromium.py walks this task; keep its facts true."""
        from reviews.models import FollowUp, Rating

        task = KeyTask.objects.get(title="主要产品产量计划完成", year=demo_year)
        assert task.owner.username == "staff" and task.department.code == "SCB"
        finals = list(
            Rating.objects.filter(task=task).order_by("meeting__stage__number").values_list("final_score", "colour")
        )
        assert finals == [
            (Decimal("88.5"), "green"),
            (Decimal("80.1"), "green"),
            (Decimal("80.0"), "yellow"),
            (Decimal("79.9"), "yellow"),
        ]
        waiting = SelfAssessment.objects.get(task=task, stage__number=5)
        assert waiting.state == "submitted" and waiting.completion == Decimal("72.0")
        # The leader's four departments wait at stage 5; the others are confirmed.
        stage5 = SelfAssessment.objects.filter(stage__year=demo_year, stage__number=5)
        waiting_codes = set(stage5.filter(state="submitted").values_list("task__department__code", flat=True))
        assert waiting_codes == {"SCB", "AHB", "JSZX", "HLYL"}
        assert not stage5.exclude(task__department__code__in=waiting_codes).exclude(state="confirmed").exists()
        # No red case of the task is open yet (the journey opens the stage-5 one).
        assert not FollowUp.objects.filter(rating__task=task, kind="supervision").exists()

    def test_loading_the_whole_demo_twice_changes_nothing(self, demo_year):
        from outbox.models import Notification
        from reviews.demo import load_review_demo
        from reviews.models import CaseEvent, Confirmation, FollowUp, Letter, Rating, RatingAmendment
        from tasks.models import AuditEntry

        models = (Confirmation, Rating, RatingAmendment, FollowUp, CaseEvent, Letter, Notification, AuditEntry)
        before = [model.objects.count() for model in models]
        states = list(FollowUp.objects.order_by("pk").values_list("state", "version"))
        load_review_demo(load_demo_data(today=TODAY), today=TODAY)
        assert [model.objects.count() for model in models] == before
        assert list(FollowUp.objects.order_by("pk").values_list("state", "version")) == states

    def test_most_letters_are_acknowledged_with_a_reply_date_and_some_wait(self, demo_year):
        from reviews.models import Letter

        letters = Letter.objects.filter(case__isnull=False)
        acknowledged = letters.filter(acknowledged_at__isnull=False)
        assert letters.exists() and acknowledged.exists() and letters.filter(acknowledged_at__isnull=True).exists()
        assert acknowledged.count() > letters.count() / 2
        supervision = acknowledged.filter(kind=Letter.Kind.SUPERVISION).first()
        assert supervision.reply_due is not None and supervision.acknowledged_by == supervision.case.rating.task.owner

    # --- the group over two years: 华岭矿业 has departments of its own, 华岭稀土贸易 runs its
    # own cycle with its own logins, and last year was reviewed in full (one demo load for all).

    def test_last_year_was_reviewed_in_full_in_both_cycles_and_its_cases_closed(self, demo_year):
        from reports.queries import years_compared
        from reviews.models import FollowUp, ReviewMeeting

        last = demo_year.year - 1
        meetings = ReviewMeeting.objects.filter(stage__year__year=last)
        assert set(meetings.values_list("stage__number", "unit__code", "state")) == {
            (n, unit, "closed") for n in range(1, 7) for unit in (None, "HLXT")
        }
        cases = FollowUp.objects.filter(rating__meeting__stage__year__year=last)
        assert cases.exists() and not cases.exclude(state="closed").exists()
        compared = years_compared()
        assert compared["years"] == [demo_year.year, last]
        assert all(cell.counts.total() for cell in compared["group"])

    def test_each_department_carries_its_first_task_over_from_last_year(self, demo_year):
        carried = KeyTask.objects.filter(year=demo_year, carried_from__isnull=False).select_related("carried_from")
        departments = KeyTask.objects.filter(year=demo_year).values("department").distinct().count()
        assert carried.count() == departments
        assert all(task.carried_from.title == task.title for task in carried)
        assert all(task.carried_from.year.year == demo_year.year - 1 for task in carried)

    def test_the_trading_subsidiary_runs_its_own_cycle_with_its_own_letters(self, client, settings, demo_year):
        from reviews.models import Letter, Rating, ReviewMeeting

        trading = Department.objects.get(code="HLXT")
        assert trading.runs_own_cycle and trading.letter_prefix == "华贸"
        own = ReviewMeeting.objects.filter(stage__year=demo_year, unit=trading)
        assert set(own.values_list("state", flat=True)) == {"closed", "scheduled"}
        rated = set(Rating.objects.filter(meeting__in=own).values_list("task__department__code", flat=True))
        assert rated == {"HLXT", "HLXT-YW", "HLXT-CW"}
        letters = Letter.objects.filter(case__rating__meeting__in=own)
        assert letters.exists() and all(letter.number.startswith("华贸") for letter in letters)
        # 华岭矿业's departments sit below it and are reviewed at the group's meetings.
        mining = Department.objects.get(code="HLKY")
        assert set(mining.children.values_list("code", flat=True)) == {"HLKY-AH", "HLKY-CX"}
        assert Rating.objects.filter(meeting__unit=None, task__department__parent=mining).exists()
        # Its inspector signs in and sees its cases only; the group's sees none of its work as theirs.
        settings.LIGHTBOARD_TODAY = TODAY
        client.post("/accounts/login/", {"username": "inspector.hlxt", "password": "demo"})
        html = client.get("/reviews/followups/?state=closed").content.decode()
        assert "应收账款清收" in html and "主要产品产量计划完成" not in html
