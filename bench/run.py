"""lightboard's benchmark run (`make bench`), on PostgreSQL and Redis.

For each size (by default 2x20, 20x20 and 200x20 departments x tasks: 40, 400 and 4,000
tasks) it builds a year from nothing (bench/data.py) and measures:

- the server time (median of repeated renders) and SQL query count of the review board,
  "my tasks", the confirmation queue, the follow-up queue and the year overview;
- the board's physical floor: the same content read by one SQL statement through a cursor and
  dumped with json.dumps (bench/measure.py BOARD_SQL); beside it, labelled as such, the board's
  ORM rows (reviews.queries.board) dumped to JSON;
- closing the in-session meeting (reviews.services.close_meeting): time and query count.

Then, on the largest year, the import of a 5,000-row Excel task list beside its floor (openpyxl
reading the same file in read-only mode, every row's values); the delivery rate of
2,000 notifications by one real Celery worker over Redis (file e-mail backend) beside its
floor, the same e-mails written by the same backend in a plain loop; and the time one worker
takes to drain a backlog of 100,000 pending notifications.

Then a group of companies over two years (bench/group.py; by default 2x2x5 and 20x10x20:
subsidiaries x their departments x tasks, 4,000 tasks a year at the larger size): the report
pages at the group's level and at a subsidiary's (heat map, ranking, scorecard, early warning,
year on year, the cases), beside the group heat map's physical floor (one SQL statement through
a cursor, dumped with json.dumps).

Budgets (ratios, so that they hold on a noisy machine), reported as PASS or FAIL; the exit
status is 1 when any fails:

- every page runs the same number of queries at every size;
- the board at the largest size costs at most 3x its SQL floor;
- each page's time at the largest size is at most 1.2x the growth in tasks over the size
  before it (12x from 400 to 4,000 tasks: no worse than linear);
- closing a meeting runs the same number of queries at the two largest sizes;
- one worker delivers at least 0.2x the plain-loop floor;
- the 5,000-row import costs at most 3x its parse floor;
- every report page of the group runs the same number of queries at both group sizes.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench.run \
        [--sizes 2x20,20x20,200x20] [--groups 2x2x5,20x10x20] [--repeat 5] [--import-rows 5000]
        [--notifications 2000] [--backlog 100000]
        [--json FILE]

The throwaway database lightboard_bench (on DATABASE_URL's server) is created at the start
and dropped at the end.
"""

import argparse
import json
import platform
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database  # noqa: E402 - the project root goes on the path first

PAGES = ("board", "my_tasks", "confirmations", "followups", "overview")
FLOOR_BUDGET = 3.0  # the board at the largest size, over its SQL floor
GROWTH_SLACK = 1.2  # time may grow 1.2x the task count: 12x for 10x the tasks


def parse_groups(text):
    groups = [tuple(int(n) for n in item.strip().lower().split("x")) for item in text.split(",") if item.strip()]
    if any(len(group) != 3 for group in groups) or len(groups) not in (0, 2):
        raise argparse.ArgumentTypeError("give two group sizes, e.g. 2x2x5,20x10x20 (or none)")
    return groups


def measure_groups(sizes, repeat, log):
    """The group's report pages at each size (an empty database each time)."""
    from bench import group as group_bench

    measured = []
    for subsidiaries, departments, per_department in sizes:
        database.empty()
        group, build_seconds = group_bench.measure_timed(
            lambda s=subsidiaries, d=departments, p=per_department: group_bench.build_group(s, d, p)
        )
        log(f"group {group.label}: {group.tasks} tasks a year over two years, built in {build_seconds:.1f}s")
        pages, floor, ratio = group_bench.measure(group, repeat)
        for name, entry in pages.items():
            log(f"  {name:<22} {entry['seconds'] * 1000:8.1f} ms  {entry['queries']:3d} queries")
        log(f"  {'heat map floor':<22} {floor['seconds'] * 1000:8.1f} ms    1 query   (page / floor {ratio:.2f}x)")
        measured.append(
            {
                "group": group.label,
                "tasks_per_year": group.tasks,
                "build_seconds": round(build_seconds, 1),
                "pages": pages,
                "heat_map_floor": floor,
                "heat_map_to_floor": ratio,
            }
        )
    return measured


def group_budgets(groups):
    if len(groups) != 2:
        return []
    return [
        {
            "budget": f"group {name}: same query count at {groups[0]['group']} and {groups[1]['group']}",
            "measured": f"{groups[0]['pages'][name]['queries']} / {groups[1]['pages'][name]['queries']}",
            "pass": groups[0]["pages"][name]["queries"] == groups[1]["pages"][name]["queries"],
        }
        for name in groups[0]["pages"]
    ]


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        departments, _x, per_department = item.strip().lower().partition("x")
        sizes.append((int(departments), int(per_department)))
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError("give at least two sizes, e.g. 20x20,200x20")
    return sizes


def measure_size(departments, per_department, repeat, log):
    from bench import data, measure, probes

    database.empty()
    year, build_seconds = measure.timed(lambda: data.build(departments, per_department))
    measure.analyze()
    log(f"{year.tasks} tasks: built in {build_seconds:.1f}s")
    pages = {}
    for name, user, url in measure.pages(year):
        if name == "board":
            pages[name], floor, orm = measure.measure_board_and_floor(user, url, year.meeting, repeat)
            log(f"  {'board SQL floor':<14} {floor['seconds'] * 1000:8.1f} ms  {floor['queries']:3d} queries")
            log(f"  {'board ORM→JSON':<14} {orm['seconds'] * 1000:8.1f} ms  {orm['queries']:3d} queries")
        else:
            pages[name] = measure.measure_page(user, url, repeat)
        log(f"  {name:<14} {pages[name]['seconds'] * 1000:8.1f} ms  {pages[name]['queries']:3d} queries")
    close = probes.close_meeting(year)
    log(f"  {'close meeting':<14} {close['seconds'] * 1000:8.1f} ms  {close['queries']:3d} queries")
    size = {
        "tasks": year.tasks,
        "departments": departments,
        "tasks_per_department": per_department,
        "users": year.users,
        "build_seconds": round(build_seconds, 1),
        "pages": pages,
        "board_floor": floor,
        "board_orm_json": orm,
        "close_meeting": close,
    }
    return size, year


DELIVERY_BUDGET = 0.2  # one worker delivers at least this share of the plain-loop floor


def delivery_budgets(delivered):
    ratio = delivered["ratio_to_floor"]
    return [
        {
            "budget": f"outbox: one worker >= {DELIVERY_BUDGET:g} x the plain-loop floor of the same backend",
            "measured": f"{ratio:.2f}x",
            "ratio": ratio,
            "limit": DELIVERY_BUDGET,
            "pass": ratio >= DELIVERY_BUDGET,
        }
    ]


def budgets(sizes):
    """The pass/fail budgets over the measured sizes (the last two sizes for the growth ones)."""
    results = []
    before, last = sizes[-2], sizes[-1]
    for page in PAGES:
        counts = [size["pages"][page]["queries"] for size in sizes]
        results.append(
            {
                "budget": f"{page}: same query count at every size",
                "measured": " / ".join(str(c) for c in counts),
                "pass": len(set(counts)) == 1,
            }
        )
    ratio = last["pages"]["board"]["seconds"] / last["board_floor"]["seconds"]
    results.append(
        {
            "budget": f"board at {last['tasks']} tasks <= {FLOOR_BUDGET:g}x SQL floor",
            "measured": f"{ratio:.2f}x",
            "ratio": round(ratio, 2),
            "limit": FLOOR_BUDGET,
            "pass": ratio <= FLOOR_BUDGET,
        }
    )
    allowed = GROWTH_SLACK * last["tasks"] / before["tasks"]
    for page in PAGES:
        ratio = last["pages"][page]["seconds"] / before["pages"][page]["seconds"]
        results.append(
            {
                "budget": f"{page}: time at {last['tasks']} <= {allowed:g}x time at {before['tasks']}",
                "measured": f"{ratio:.2f}x",
                "ratio": round(ratio, 2),
                "limit": round(allowed, 2),
                "pass": ratio <= allowed,
            }
        )
    counts = [before["close_meeting"]["queries"], last["close_meeting"]["queries"]]
    results.append(
        {
            "budget": f"close meeting: same query count at {before['tasks']} and {last['tasks']} tasks",
            "measured": f"{counts[0]} / {counts[1]}",
            "pass": counts[0] == counts[1],
        }
    )
    return results


def table(result):
    sizes = result["sizes"]
    lines = []
    head = f"{'page':<16}" + "".join(f"{str(s['tasks']) + ' tasks':>22}" for s in sizes)
    growth = f"{sizes[-1]['tasks']}/{sizes[-2]['tasks']}"
    lines += ["Pages: median server time (ms) and SQL queries", head + f"{growth:>12}", "-" * (len(head) + 12)]

    def cell(entry):
        return f"{entry['seconds'] * 1000:>12.1f} ms {entry['queries']:>3d} q"

    for page in PAGES:
        entries = [s["pages"][page] for s in sizes]
        ratio = entries[-1]["seconds"] / entries[-2]["seconds"]
        lines.append(f"{page:<16}" + "".join(f"{cell(e):>22}" for e in entries) + f"{ratio:>11.2f}x")
    floors = [s["board_floor"] for s in sizes]
    lines.append(f"{'board SQL floor':<16}" + "".join(f"{cell(e):>22}" for e in floors))
    lines.append(
        f"{'board / floor':<16}"
        + "".join(f"{s['pages']['board']['seconds'] / s['board_floor']['seconds']:>21.2f}x" for s in sizes)
    )
    orms = [s["board_orm_json"] for s in sizes]
    lines.append(f"{'board ORM rows → JSON':<16}")
    lines.append(f"{'':<16}" + "".join(f"{cell(e):>22}" for e in orms))
    lines.append(
        f"{'ORM / floor':<16}"
        + "".join(f"{s['board_orm_json']['seconds'] / s['board_floor']['seconds']:>21.2f}x" for s in sizes)
    )
    closes = [s["close_meeting"] for s in sizes]
    lines.append(f"{'close meeting':<16}" + "".join(f"{cell(e):>22}" for e in closes))
    lines.append(f"  most run statements when closing at {sizes[-1]['tasks']} tasks ({sizes[-1]['users']} users):")
    for statement in closes[-1]["top_statements"][:3]:
        lines.append(f"  {statement['count']:>6} x {statement['sql'][:100]}")
    lines.append("")
    imported = result["excel_import"]
    lines.append(
        f"Excel import: {imported['rows']} rows in {imported['seconds']:.1f} s "
        f"({imported['rows_per_second']:.0f} rows/s, {imported['queries']} queries, "
        f"{imported['queries_per_row']} per row); floor (openpyxl reading the same file read-only) "
        f"{imported['floor']['seconds']:.2f} s; import / floor = {imported['ratio_to_floor']:.2f}x "
        f"(medians of {imported['repeat']})"
    )
    delivered = result["delivery"]
    floor = delivered["floor"]
    lines.append(
        f"Outbox delivery: {delivered['notifications']} notifications by one Celery worker ({delivered['pool']} pool, "
        f"file e-mail backend) in {delivered['seconds']:.2f} s = {delivered['per_second']:.0f}/s; floor (the same "
        f"e-mails by the same backend in a plain loop) {floor['seconds']:.2f} s = {floor['per_second']:.0f}/s; "
        f"worker / floor = {delivered['ratio_to_floor']:.2f}"
    )
    if result.get("backlog"):
        backlog = result["backlog"]
        lines.append(
            f"Outbox backlog: {backlog['rows']} pending rows drained by one worker from the sweep's signal in "
            f"{backlog['seconds']:.1f} s = {backlog['per_second']:.0f}/s"
        )
    groups = result.get("groups") or []
    if groups:
        lines += ["", "A group over two years: median server time (ms) and SQL queries"]
        head = f"{'page':<24}" + "".join(f"{g['group'] + ' (' + str(g['tasks_per_year']) + '/yr)':>24}" for g in groups)
        lines += [head, "-" * len(head)]
        for name in groups[0]["pages"]:
            lines.append(f"{name:<24}" + "".join(f"{cell(g['pages'][name]):>24}" for g in groups))
        lines.append(f"{'heat map floor (1 SQL)':<24}" + "".join(f"{cell(g['heat_map_floor']):>24}" for g in groups))
        lines.append(f"{'heat map / floor':<24}" + "".join(f"{g['heat_map_to_floor']:>23.2f}x" for g in groups))
    lines += ["", "Budgets"]
    for budget in result["budgets"]:
        lines.append(f"  {'PASS' if budget['pass'] else 'FAIL'}  {budget['budget']}: {budget['measured']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("2x20,20x20,200x20"))
    parser.add_argument("--groups", type=parse_groups, default=parse_groups("2x2x5,20x10x20"))
    parser.add_argument("--repeat", type=int, default=5, help="renders per page (the median is reported)")
    parser.add_argument("--import-rows", type=int, default=5000)
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--backlog", type=int, default=100_000, help="pending rows for the drain probe (0: skip)")
    parser.add_argument("--worker-pool", default="solo", help="the Celery worker's pool (solo: one process)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--keep-database", action="store_true", help="leave lightboard_bench for inspection")
    args = parser.parse_args(argv)

    database.require_services()
    started = time.monotonic()

    def log(message):
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    database.setup()
    log(f"database {database.BENCH_DATABASE} created and migrated")
    from django.db import connection

    from bench import probes
    from lightboard.celery import app as celery_app

    # Closing a meeting queues a commendation e-mail per user: onto a queue of this run's
    # own, removed at the end, so that no other worker on this Redis picks them up.
    stray_queue = f"lightboard-bench-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = stray_queue
    try:
        sizes = []
        for departments, per_department in args.sizes:
            size, year = measure_size(departments, per_department, args.repeat, log)
            sizes.append(size)
        excel_import = probes.excel_import(year, args.import_rows)
        log(f"excel import: {excel_import['rows']} rows in {excel_import['seconds']:.1f}s")
        delivery = probes.delivery(year, args.notifications, pool=args.worker_pool)
        log(f"delivery: {delivery['per_second']:.0f} notifications/s ({delivery['ratio_to_floor']:.2f} of the floor)")
        backlog = probes.backlog_drain(args.backlog, pool=args.worker_pool) if args.backlog else None
        if backlog:
            log(f"backlog: {backlog['rows']} rows drained in {backlog['seconds']:.1f}s")
        groups = measure_groups(args.groups, args.repeat, log)
        result = {
            "database": f"{connection.vendor} {connection.pg_version // 10000}",
            "python": platform.python_version(),
            "machine": platform.machine(),
            "repeat": args.repeat,
            "sizes": sizes,
            "excel_import": excel_import,
            "delivery": delivery,
            "backlog": backlog,
            "groups": groups,
        }
    finally:
        probes._forget_queue(stray_queue)
        if not args.keep_database:
            database.drop()
    result["budgets"] = budgets(sizes) + delivery_budgets(result["delivery"]) + group_budgets(result["groups"])
    result["budgets"] += probes.import_budgets(result["excel_import"])
    result["pass"] = all(budget["pass"] for budget in result["budgets"])
    result["seconds"] = round(time.monotonic() - started, 1)
    print()
    print(table(result))
    print(f"\n{'all budgets pass' if result['pass'] else 'BUDGETS FAILED'} ({result['seconds']:.0f} s in all)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        print(f"results written to {args.json}")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
