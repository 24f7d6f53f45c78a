"""`seed_demo` loads a usable demo company, once, and only where it is safe."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

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
    assert 50 <= KeyTask.objects.count() <= 70
    # Every task has a standard, an owner of its department, a deadline in the year and six targets.
    for task in KeyTask.objects.select_related("owner", "department"):
        assert task.standard
        assert task.owner.departments.filter(pk=task.department_id).exists()
        assert task.deadline.year == 2026
    assert StageTarget.objects.count() == 6 * KeyTask.objects.count()


def test_past_stages_are_self_assessed_and_cover_every_colour_and_both_boundaries():
    load_demo_data(today=TODAY)
    assessments = SelfAssessment.objects.select_related("stage")
    assert {a.stage.number for a in assessments} == {1, 2, 3, 4, 5}
    scores = {a.completion for a in assessments}
    assert {Decimal("80.0"), Decimal("60.0"), Decimal("80.1"), Decimal("59.9")} <= scores
    assert {str(classify(score)) for score in scores} == {"green", "yellow", "red"}
    # The current stage (6) waits for self-assessment.
    assert not SelfAssessment.objects.filter(stage__number=6).exists()


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
    states = dict(ReviewMeeting.objects.values_list("stage__number", "state"))
    assert states == {1: "closed", 2: "closed", 3: "closed", 4: "closed", 5: "scheduled"}
    closed = ReviewMeeting.objects.get(stage__number=4)
    assert Rating.objects.filter(meeting=closed).count() == KeyTask.objects.count()
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
