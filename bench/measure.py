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
        ("board", year.leadership, f"/reviews/meetings/{year.meeting.pk}/"),
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


def board_floor(meeting):
    """The least any page of the board's content can cost: the same rows fetched with the
    same queries (reviews.queries.board) and dumped to JSON."""
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
    """The board page and its floor, timed in turns (page, floor, page, floor …) so that a
    burst of load on the machine falls on both alike and their ratio stays fair."""
    render = _page_renderer(user, url)
    page_queries, html_bytes = _counted(render)
    floor_queries, json_bytes = _counted(lambda: board_floor(meeting))
    page_times, floor_times = [], []
    for _ in range(repeat):
        page_times.append(median_seconds(render, 1))
        floor_times.append(median_seconds(lambda: board_floor(meeting), 1))
    page = {"seconds": round(statistics.median(page_times), 4), "queries": page_queries, "html_bytes": html_bytes}
    floor = {"seconds": round(statistics.median(floor_times), 4), "queries": floor_queries, "json_bytes": json_bytes}
    return page, floor
