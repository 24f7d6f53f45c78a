"""Timing and query counting. Pages are rendered in-process by Django's test Client (the
whole request: middleware, session, view, template), queries are counted with an execute
wrapper on the connection (a request closes its connection, which a CaptureQueriesContext
would not survive)."""

import json
import re
import statistics
import time
from collections import Counter
from contextlib import contextmanager

from django.db import connection
from django.test import Client

from reviews import queries


@contextmanager
def counting():
    """Yields the list of SQL statements executed inside the block."""
    executed = []

    def wrapper(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield executed


def analyze():
    """Collect the planner's statistics of the freshly built year, as autovacuum would on a
    live database (and may not have yet, or at all where it is off): without them PostgreSQL
    plans the pages' and the floors' joins for tables it believes nearly empty."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def median_seconds(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


_LITERALS = re.compile(r"'[^']*'|\b\d+\b|%s")


def query_shapes(executed, top=5):
    """The most frequent statement shapes (literals and parameters blanked), to show what a
    growing query count consists of."""
    shapes = Counter(_LITERALS.sub("?", sql)[:160] for sql in executed)
    return [{"count": n, "sql": shape} for shape, n in shapes.most_common(top)]


def pages(year):
    """(name, user, url) of the measured pages for a built year."""
    return [
        # "show all": every row, whatever the size (a large board otherwise opens on its summary)
        ("board", year.leadership, f"/reviews/meetings/{year.meeting.pk}/?all=1"),
        ("my_tasks", year.owner, "/tasks/mine/"),
        ("confirmations", year.leader, "/reviews/confirmations/"),
        ("followups", year.inspector, "/reviews/followups/"),
        ("overview", year.leadership, "/reports/"),
    ]


def _page_renderer(user, url):
    client = Client()
    client.force_login(user)

    def render():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.content

    return render


def _counted(function):
    function()  # warm: templates compiled, connection open
    with counting() as executed:
        size = len(function())
    return len(executed), size


def measure_page(user, url, repeat):
    render = _page_renderer(user, url)
    queries_run, size = _counted(render)
    return {"seconds": round(median_seconds(render, repeat), 4), "queries": queries_run, "html_bytes": size}


# The board's content read by one SQL statement, written by hand (not the ORM path the page
# takes): department, title, owner's name, self, confirmed and final score, the light, and the
# lights of the earlier stages as an array ("missing" where a stage has none), in the board's
# order. A draft's self score is not the department's yet, as on the board.
BOARD_SQL = """
WITH m AS (
    SELECT rm.id, rm.stage_id, s.year_id, s.number
    FROM reviews_reviewmeeting rm JOIN tasks_stage s ON s.id = rm.stage_id
    WHERE rm.id = %(meeting)s
),
earlier AS (
    SELECT e.task_id, jsonb_object_agg(es.number, coalesce(nullif(e.colour, ''), 'missing')) AS lights
    FROM m
    JOIN tasks_stage es ON es.year_id = m.year_id AND es.number < m.number
    JOIN reviews_reviewmeeting em ON em.stage_id = es.id
    JOIN reviews_rating e ON e.meeting_id = em.id
    GROUP BY e.task_id
)
SELECT d.name, t.title,
       coalesce(nullif(u.name, ''), nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username),
       sa.completion::text, c.score::text, r.final_score::text,
       coalesce(nullif(r.colour, ''), 'missing'),
       ARRAY(SELECT coalesce(earlier.lights ->> n::text, 'missing') FROM generate_series(1, m.number - 1) AS n)
FROM m
JOIN reviews_rating r ON r.meeting_id = m.id
JOIN tasks_keytask t ON t.id = r.task_id
JOIN tasks_department d ON d.id = t.department_id
JOIN tasks_user u ON u.id = t.owner_id
LEFT JOIN tasks_selfassessment sa
       ON sa.task_id = t.id AND sa.stage_id = m.stage_id AND sa.state IN ('submitted', 'confirmed')
LEFT JOIN (tasks_selfassessment ca JOIN reviews_confirmation c ON c.assessment_id = ca.id)
       ON ca.task_id = t.id AND ca.stage_id = m.stage_id
LEFT JOIN earlier ON earlier.task_id = t.id
ORDER BY d.code, t.deadline, t.id
"""


def board_sql_floor(meeting):
    """The physical floor of the board: its content read by one SQL statement through a cursor
    and dumped with json.dumps."""
    with connection.cursor() as cursor:
        cursor.execute(BOARD_SQL, {"meeting": meeting.pk})
        rows = cursor.fetchall()
    return json.dumps(rows, ensure_ascii=False).encode()


def board_orm_json(meeting):
    """Board ORM rows -> JSON: the rows the page reads (reviews.queries.board), dumped to JSON.
    Not a floor (it is the path being measured); kept to show what the ORM part costs."""
    board = queries.board(meeting)
    return json.dumps(
        [
            [group.department.name, dict(group.counts)]
            + [
                [row.title, row.owner, str(row.self_score), str(row.confirmed_score), str(row.final_score),
                 row.light, row.earlier]
                for row in group.rows
            ]
            for group in board.groups
        ],
        ensure_ascii=False,
    ).encode()  # fmt: skip


def measure_board_and_floor(user, url, meeting, repeat):
    """The board page, its SQL floor and its ORM rows -> JSON, timed in turns (page, floor,
    ORM, page, floor …) so that a burst of load on the machine falls on all alike and their
    ratios stay fair. Returns (page, SQL floor, ORM rows -> JSON)."""
    render = _page_renderer(user, url)
    page_queries, html_bytes = _counted(render)
    floor_queries, json_bytes = _counted(lambda: board_sql_floor(meeting))
    orm_queries, orm_bytes = _counted(lambda: board_orm_json(meeting))
    page_times, floor_times, orm_times = [], [], []
    for _ in range(repeat):
        page_times.append(median_seconds(render, 1))
        floor_times.append(median_seconds(lambda: board_sql_floor(meeting), 1))
        orm_times.append(median_seconds(lambda: board_orm_json(meeting), 1))
    page = {"seconds": round(statistics.median(page_times), 4), "queries": page_queries, "html_bytes": html_bytes}
    floor = {"seconds": round(statistics.median(floor_times), 4), "queries": floor_queries, "json_bytes": json_bytes}
    orm = {"seconds": round(statistics.median(orm_times), 4), "queries": orm_queries, "json_bytes": orm_bytes}
    return page, floor, orm
