"""The leadership group's weekly briefing, as its members receive it.

The example year 2026 (green above 80, red below 60) has two closed meetings. Department A
(生产运营部) has one task, 设备完好率 (owner 王强); department B (财务部) two, 应收账款 and
成本压降 (owner 李敏). Final scores and lights:

                    stage 1 (closed 2026-03-10)   stage 2 (closed 2026-05-12)
    设备完好率       40 red                        90 green     improved
    应收账款         85 green                      70 yellow    worsened
    成本压降         90 green                      90 green     unchanged

Closing stage 1 opened a supervision case for 设备完好率, due 30 days later (2026-04-09) and
still open: on Monday 2026-05-18 it is 39 days overdue. Closing stage 2 opened a reminder case
for 应收账款, due 2026-05-27 (not overdue). Letters: the commendation notices of both
meetings (issued at their close), a supervision letter (2026-03-12) and a reminder notice
(2026-05-14); in the seven days before Monday 2026-05-18 08:00, one commendation notice and
one reminder notice."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lightboard import clock
from lightboard.roles import Role
from outbox import kinds
from outbox.models import Notification
from outbox.services import set_preferences
from reports import tasks as report_tasks
from reports.briefing import send_weekly_briefings
from reviews.letters import issue_letter
from reviews.models import FollowUp, Letter, Rating
from tasks.models import Department, KeyTask
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, leadership_member, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 5, 18)  # ISO week 21
NEXT_MONDAY = datetime.date(2026, 5, 25)  # ISO week 22


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def beat(day, hour=8, minute=0):
    """One run of the hourly beat task at that local time, on that day."""
    with clock.as_of(day):
        return send_weekly_briefings(at(day, hour, minute))


def briefings(user=None):
    found = Notification.objects.filter(kind=kinds.BRIEFING).order_by("pk")
    return found.filter(recipient=user) if user else found


def hold_meeting(stage, chair, scores, *, closed_on):
    """The leadership group meets, rates every task and closes the meeting on `closed_on`."""
    with clock.as_of(closed_on):
        meeting = open_meeting(stage, chair)
        for task, score in scores.items():
            rate(meeting, task, score, chair)
        return close(meeting, chair)


def issued_on(letters, moment):
    Letter.objects.filter(pk__in=[letter.pk for letter in letters]).update(issued_at=moment)


@pytest.fixture
def chair(db):
    return leadership_member("chair", name="陈主任")


@pytest.fixture
def example(year, department_a, department_b, chair, leadership, inspector):
    owner_a = make_user("wang", Role.STAFF, departments=[department_a], name="王强")
    owner_b = make_user("li", Role.STAFF, departments=[department_b], name="李敏")
    equipment = KeyTaskFactory(year=year, department=department_a, owner=owner_a, title="设备完好率")
    receivables = KeyTaskFactory(year=year, department=department_b, owner=owner_b, title="应收账款")
    costs = KeyTaskFactory(year=year, department=department_b, owner=owner_b, title="成本压降")
    first = hold_meeting(
        stage_of(year, 1), chair, {equipment: 40, receivables: 85, costs: 90}, closed_on=datetime.date(2026, 3, 10)
    )
    second = hold_meeting(
        stage_of(year, 2), chair, {equipment: 90, receivables: 70, costs: 90}, closed_on=datetime.date(2026, 5, 12)
    )
    issued_on(first.letters.all(), at(datetime.date(2026, 3, 10), 17))
    issued_on(second.letters.all(), at(datetime.date(2026, 5, 12), 17))
    red_case = FollowUp.objects.get(rating__meeting=first, rating__task=equipment)
    yellow_case = FollowUp.objects.get(rating__meeting=second, rating__task=receivables)
    supervision = issue_letter(kind=Letter.Kind.SUPERVISION, year=2026, by=inspector, case=red_case)
    reminder = issue_letter(kind=Letter.Kind.REMINDER, year=2026, by=inspector, case=yellow_case)
    issued_on([supervision], at(datetime.date(2026, 3, 12), 10))
    issued_on([reminder], at(datetime.date(2026, 5, 14), 10))
    return {"year": year, "meetings": (first, second), "members": [chair, leadership]}


# --- what it says ----------------------------------------------------------------------------


def test_the_briefing_tells_the_lights_the_changes_the_overdue_cases_and_the_letters(settings, example):
    settings.LANGUAGE_CODE = "en"
    assert beat(MONDAY) == 2
    briefing = briefings().first()
    assert briefing.subject == "Weekly briefing, week of 2026-05-18"
    assert briefing.link == "/reports/"
    assert example["meetings"][1].date == datetime.date(2026, 5, 10)  # the meeting's date; it closed on the 12th
    assert briefing.body == "\n".join(
        [
            "Lights at the 2026 stage 2 review meeting (2026-05-10):",
            "  生产运营部: Green light 1, Yellow light 0, Red light 0",
            "  财务部: Green light 1, Yellow light 1, Red light 0",
            "  All departments: Green light 2, Yellow light 1, Red light 0",
            "",
            "Changes since the previous meeting (2026 stage 1):",
            "  生产运营部 · 设备完好率 (owner: 王强): Red light → Green light, Improved",
            "  财务部 · 应收账款 (owner: 李敏): Green light → Yellow light, Worsened",
            "",
            "Overdue follow-up cases: 1",
            "  生产运营部 · 设备完好率 (owner: 王强): 39 days overdue",
            "",
            "Letters issued in the last 7 days: 2",
            "  Reminder notice: 1",
            "  Commendation notice: 1",
        ]
    )


def test_the_briefing_is_in_chinese_and_names_the_lights_in_words(example):
    beat(MONDAY)
    body = briefings().first().body
    assert "生产运营部 · 设备完好率" in body and "王强" in body
    assert "红灯 → 绿灯" in body and "好转" in body
    assert "绿灯 → 黄灯" in body and "变差" in body
    assert "成本压降" not in body  # green both times: no change to tell
    assert "已逾期 39 天" in body
    assert "提醒督促通知" in body and "表扬通报" in body
    assert "Green light" not in body and "Red light" not in body


def test_every_member_gets_the_same_briefing(example):
    beat(MONDAY)
    sent = list(briefings())
    assert sorted(n.recipient.username for n in sent) == ["chair", "leadership"]
    assert len({(n.subject, n.body, n.link) for n in sent}) == 1


def test_with_one_closed_meeting_there_is_nothing_to_compare(settings, year, department_a, staff_a, chair):
    settings.LANGUAGE_CODE = "en"
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备完好率")
    hold_meeting(stage_of(year, 1), chair, {task: 40}, closed_on=datetime.date(2026, 3, 10))
    beat(MONDAY)
    body = briefings(chair).get().body
    assert "  生产运营部: Green light 0, Yellow light 0, Red light 1" in body
    assert "There was no earlier meeting this year to compare with." in body
    assert "Overdue follow-up cases: 1" in body  # the red case was due on 2026-04-09


def test_before_any_meeting_has_closed_the_briefing_says_so(settings, chair):
    settings.LANGUAGE_CODE = "en"
    beat(MONDAY)
    assert briefings(chair).get().body == "\n".join(
        [
            "No review meeting has closed yet.",
            "",
            "Overdue follow-up cases: 0",
            "",
            "Letters issued in the last 7 days: 0",
        ]
    )


# --- once per person and week ------------------------------------------------------------------


def test_two_beat_processes_send_one_briefing_per_person_and_week(example):
    chair, leadership = example["members"]
    assert beat(MONDAY, 8) == 2
    assert beat(MONDAY, 8) == 0  # the second beat process, the same hour
    assert beat(MONDAY, 9) == 0
    assert beat(MONDAY + datetime.timedelta(days=3), 10) == 0  # Thursday: still week 21
    assert briefings(chair).count() == 1 and briefings(leadership).count() == 1


def test_next_week_brings_a_new_briefing(example):
    chair, _leadership = example["members"]
    beat(MONDAY)
    assert beat(NEXT_MONDAY) == 2
    assert [n.idempotency_key for n in briefings(chair)] == [
        f"briefing:{chair.pk}:2026-W21",
        f"briefing:{chair.pk}:2026-W22",
    ]


def test_nothing_goes_before_the_weekday_and_the_hour(settings, example):
    settings.BRIEFING_WEEKDAY = 3  # Wednesday
    settings.DIGEST_HOUR = 8
    assert beat(MONDAY, 12) == 0
    assert beat(datetime.date(2026, 5, 19), 23) == 0  # Tuesday night
    assert beat(datetime.date(2026, 5, 20), 7, 59) == 0  # Wednesday, before the hour
    assert not briefings().exists()
    assert beat(datetime.date(2026, 5, 20), 8) == 2


def test_a_beat_that_was_down_on_the_weekday_sends_later_that_week(example):
    thursday = MONDAY + datetime.timedelta(days=3)
    assert beat(thursday, 7) == 0  # not before the hour, on any day
    assert beat(thursday, 15) == 2
    assert {n.idempotency_key.rsplit(":", 1)[1] for n in briefings()} == {"2026-W21"}


# --- who gets it -------------------------------------------------------------------------------


def test_a_member_who_turned_the_briefing_off_gets_none(example):
    chair, leadership = example["members"]
    set_preferences(user=chair, modes={kinds.Category.BRIEFING: kinds.Mode.OFF})
    assert beat(MONDAY) == 1
    assert not briefings(chair).exists()
    assert briefings(leadership).count() == 1


def test_only_active_members_of_the_leadership_group_get_it(
    example, staff_a, leader_a, inspector, administrator, no_role
):
    gone = leadership_member("retired", is_active=False)
    beat(MONDAY)
    assert sorted(briefings().values_list("recipient__username", flat=True)) == ["chair", "leadership"]
    for user in (staff_a, leader_a, inspector, administrator, no_role, gone):
        assert not briefings(user).exists()


def test_the_beat_task_sends_the_briefings_of_now(monkeypatch, settings):
    calls = []
    monkeypatch.setattr("reports.briefing.send_weekly_briefings", lambda now: calls.append(now) or 0)
    assert settings.CELERY_BEAT_SCHEDULE["weekly-briefing"]["task"] == report_tasks.send_weekly_briefing.name
    report_tasks.send_weekly_briefing()
    assert len(calls) == 1 and timezone.is_aware(calls[0])


# --- queries -----------------------------------------------------------------------------------


def grow(example, *, departments, tasks_each, members, overdue):
    """More of everything: departments whose tasks went red to green between the meetings,
    overdue cases, letters of the week and members of the leadership group."""
    year = example["year"]
    first, second = example["meetings"]
    owner = make_user("zhao", Role.STAFF, name="赵工")
    new = []
    for number in range(departments):
        department = Department.objects.create(code=f"D{number}", name=f"部门{number}")
        new += [{"year": year, "department": department, "owner": owner} for _ in range(tasks_each)]
    tasks = KeyTaskFactory.create_many(new)
    Rating.objects.bulk_create(
        [Rating(meeting=first, task=task, final_score=40, colour="red") for task in tasks]
        + [Rating(meeting=second, task=task, final_score=90, colour="green") for task in tasks]
    )
    FollowUp.objects.bulk_create(
        FollowUp(rating=rating, kind=FollowUp.Kind.SUPERVISION, due_date=datetime.date(2026, 4, 1))
        for rating in Rating.objects.filter(meeting=first, task__in=tasks)[:overdue]
    )
    for number in range(members):
        leadership_member(f"member{number}")
    letters = [issue_letter(kind=Letter.Kind.REMINDER, year=2026, by=owner) for _number in range(5)]
    issued_on(letters, at(NEXT_MONDAY - datetime.timedelta(days=1), 10))
    return KeyTask.objects.count()


def test_the_briefing_runs_a_fixed_number_of_queries_whatever_the_numbers(settings, example):
    settings.LANGUAGE_CODE = "en"
    with CaptureQueriesContext(connection) as small:
        assert beat(MONDAY) == 2
    tasks = grow(example, departments=4, tasks_each=10, members=5, overdue=30)
    assert tasks == 43
    with CaptureQueriesContext(connection) as large:
        assert beat(NEXT_MONDAY) == 7
    body = briefings().last().body
    assert body.count("Red light → Green light, Improved") == 1 + 40
    assert "Overdue follow-up cases: 31" in body
    assert body.count("days overdue") == 20
    assert "  … and 11 more in the follow-up queue." in body
    assert "Letters issued in the last 7 days: 5" in body
    assert len(large) == len(small), "\n".join(query["sql"] for query in large.captured_queries)
    assert beat(NEXT_MONDAY, 9) == 0
