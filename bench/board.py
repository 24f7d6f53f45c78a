"""Benchmark of the review board: full page render against its floor.

The floor is the same rows fetched with the same queries (reviews.queries.board) and
dumped to JSON: the least any page of that content can cost. Budget: the full board at
most 4x its floor. Runs on a throwaway database: a temporary SQLite file, or a fresh
PostgreSQL database when DATABASE_URL is set (its name gets a "_bench" suffix).

    .venv/bin/python bench/board.py [--departments 200] [--tasks-per-department 20] [--repeat 7]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_database():
    url = os.environ.get("DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/lightboard_bench"
    else:
        os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lightboard.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command

    if url:
        import psycopg
        from django.db import connection

        admin = connection.settings_dict
        with psycopg.connect(
            host=admin["HOST"], port=admin["PORT"], user=admin["USER"], password=admin["PASSWORD"] or None,
            dbname="postgres", autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute("DROP DATABASE IF EXISTS lightboard_bench")
            conn.execute("CREATE DATABASE lightboard_bench")
    call_command("migrate", verbosity=0)


def build(departments, per_department):
    from django.contrib.auth.models import Group

    from reviews.models import Confirmation, Rating, ReviewMeeting
    from tasks import services
    from tasks.models import Department, KeyTask, SelfAssessment, User

    year = services.create_assessment_year(year=2026)
    stages = list(year.stages.order_by("number"))
    leadership = User.objects.create_user("bench-leadership", password="x")
    leadership.groups.add(Group.objects.get(name="leadership_group"))
    owners = User.objects.bulk_create(User(username=f"owner{i}", name=f"责任人{i}") for i in range(departments))
    depts = Department.objects.bulk_create(
        Department(code=f"D{i:03d}", name=f"部门{i:03d}") for i in range(departments)
    )
    tasks = KeyTask.objects.bulk_create(
        KeyTask(
            year=year, department=d, owner=owners[i], title=f"重点任务{i:03d}-{n:02d}", standard="标准",
            deadline=stages[-1].end,
        )
        for i, d in enumerate(depts)
        for n in range(per_department)
    )  # fmt: skip
    scores = [Decimal(s) for s in ("95.0", "80.0", "59.9", "72.5", "88.0", "60.0", "45.0")]
    assessments = SelfAssessment.objects.bulk_create(
        SelfAssessment(task=t, stage=stage, completion=scores[(k + stage.number) % len(scores)], state="confirmed")
        for k, t in enumerate(tasks)
        for stage in stages
    )
    Confirmation.objects.bulk_create(
        Confirmation(assessment=a, score=a.completion, confirmed_by=leadership) for a in assessments
    )
    meetings = [ReviewMeeting.objects.create(stage=stage, date=stage.meeting_date, state="closed") for stage in stages]
    meetings[-1].state = "in_session"
    meetings[-1].save()
    colour = {}
    for a in assessments:
        colour[a.task_id, a.stage_id] = (a.completion, services_colour(a.completion))
    Rating.objects.bulk_create(
        Rating(meeting=m, task=t, final_score=colour[t.pk, m.stage_id][0], colour=colour[t.pk, m.stage_id][1])
        for m in meetings
        for t in tasks
    )
    return meetings[-1], leadership


def services_colour(score):
    from lightboard.colour import classify

    return classify(score).value


def median_seconds(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--tasks-per-department", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    setup_database()

    from django.db import connection
    from django.test import Client

    from reviews import queries

    meeting, leadership = build(args.departments, args.tasks_per_department)
    client = Client()
    client.force_login(leadership)
    url = f"/reviews/meetings/{meeting.pk}/"

    def floor():
        board = queries.board(meeting)
        return json.dumps(
            [
                [g.department.name, dict(g.counts)]
                + [[r.title, r.owner, str(r.self_score), str(r.confirmed_score), str(r.final_score), r.light, r.earlier]
                   for r in g.rows]
                for g in board.groups
            ],
            ensure_ascii=False,
        )  # fmt: skip

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response.content

    page()
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        size = len(page())
    floor_s = median_seconds(floor, args.repeat)
    page_s = median_seconds(page, args.repeat)
    result = {
        "tasks": args.departments * args.tasks_per_department,
        "database": connection.vendor,
        "board_seconds": round(page_s, 4),
        "floor_seconds": round(floor_s, 4),
        "ratio": round(page_s / floor_s, 2),
        "budget_ratio": 4,
        "queries": len(executed),
        "html_bytes": size,
    }
    result["pass"] = result["ratio"] <= result["budget_ratio"]
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
