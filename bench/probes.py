"""The write-side probes: closing a meeting, importing an Excel task list, and the delivery
rate of the outbox by one real Celery worker over Redis."""

import datetime
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import openpyxl
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from lightboard.celery import app as celery_app
from lightboard.roles import Role
from outbox.models import Notification
from reviews import services as review_services
from reviews.models import FollowUp, ReviewMeeting
from tasks import excel
from tasks.models import Department, TaskList, User

from .measure import counting, query_shapes, timed

ROOT = Path(__file__).resolve().parent.parent
SUCCEEDED = re.compile(r"succeeded in ([0-9.]+)s")


# --- closing a meeting -----------------------------------------------------------------


def close_meeting(year):
    """services.close_meeting on the in-session meeting whose ratings are all scored."""
    meeting = ReviewMeeting.objects.get(pk=year.meeting.pk)
    with counting() as executed:
        _closed, seconds = timed(lambda: review_services.close_meeting(meeting=meeting, by=year.leadership))
    meeting.refresh_from_db()
    assert meeting.state == ReviewMeeting.State.CLOSED, meeting.state
    return {
        "tasks": year.tasks,
        "users": year.users,
        "seconds": round(seconds, 3),
        "queries": len(executed),
        "follow_ups_opened": FollowUp.objects.filter(rating__meeting=meeting).count(),
        "top_statements": query_shapes(executed),
    }


# --- Excel import ----------------------------------------------------------------------


def _workbook(rows, usernames, year, cooperating):
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(excel.TASK_SHEET)
    sheet.append(excel.COLUMNS)
    for n in range(rows):
        values = {
            excel.COL_TITLE: f"导入任务{n:05d}",
            excel.COL_STANDARD: f"完成第{n}项建设内容，形成验收报告",
            excel.COL_OWNER: usernames[n % len(usernames)],
            excel.COL_DEADLINE: datetime.date(year, 1 + n % 12, 1 + n % 28),
            excel.COL_WEIGHT: 1 + n % 3,
            excel.COL_COOPERATING: cooperating if n % 10 == 0 else "",
            **{excel.target_column(s): f"第{s}阶段完成{s * 16}%" for s in range(1, 7)},
        }
        sheet.append([values[column] for column in excel.COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


IMPORT_FLOOR_BUDGET = 3.0


def parse_floor(data):
    """The least an import of `data` can cost: openpyxl reading the file in read-only mode,
    every row's values, and nothing else (not the import's code path)."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return sum(1 for _values in workbook[excel.TASK_SHEET].iter_rows(values_only=True))
    finally:
        workbook.close()


def excel_import(year, rows, members=50, repeat=3):
    """tasks.excel.import_task_list of `rows` new tasks into the draft list of a department
    with `members` members (the owners the rows name), `repeat` times (each into a department
    of its own), timed in turns with the parse floor so that load on the machine falls on both."""
    from django.contrib.auth.models import Group

    users = User.objects.bulk_create(
        User(username=f"import{i:02d}", name=f"导入成员{i:02d}", password="!") for i in range(members)
    )
    staff = Group.objects.get(name=Role.STAFF.value)
    User.groups.through.objects.bulk_create(User.groups.through(user_id=u.pk, group_id=staff.pk) for u in users)
    others = Department.objects.order_by("code")
    cooperating = "、".join(others.values_list("code", flat=True)[:2])
    data = _workbook(rows, [u.username for u in users], year.year.year, cooperating)
    parse_floor(data)  # warm: openpyxl's modules loaded
    import_times, floor_times, query_counts = [], [], []
    for turn in range(repeat):
        department = Department.objects.create(
            code=f"IMPORT{turn}", name=f"导入测试部门{turn}", division_leader=year.leader
        )
        User.departments.through.objects.bulk_create(
            User.departments.through(user_id=u.pk, department_id=department.pk) for u in users
        )
        task_list = TaskList.objects.create(year=year.year, department=department)
        importer = User.objects.get(pk=users[0].pk)  # fresh, as a request loads the user
        with counting() as executed:
            result, seconds = timed(
                lambda task_list=task_list, importer=importer: excel.import_task_list(
                    task_list=task_list, file=io.BytesIO(data), by=importer
                )
            )
        assert result.created == rows, result
        import_times.append(seconds)
        query_counts.append(len(executed))
        parsed, floor_seconds = timed(lambda: parse_floor(data))
        assert parsed == rows + 1, parsed  # the header and every row
        floor_times.append(floor_seconds)
    seconds, floor = statistics.median(import_times), statistics.median(floor_times)
    return {
        "rows": rows,
        "file_bytes": len(data),
        "repeat": repeat,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds, 1),
        # Statements through Django's cursor; the stage targets and audit entries go as two more,
        # COPY on PostgreSQL (tasks.services._insert_rows), which the counting wrapper does not see.
        "queries": query_counts[-1],
        "queries_per_row": round(query_counts[-1] / rows, 3),
        "floor": {"what": "openpyxl read-only, every row's values", "seconds": round(floor, 3)},
        "ratio_to_floor": round(seconds / floor, 2),
    }


def import_budgets(imported):
    ratio = imported["ratio_to_floor"]
    return [
        {
            "budget": f"import of {imported['rows']} rows <= {IMPORT_FLOOR_BUDGET:g}x its parse floor",
            "measured": f"{ratio:.2f}x",
            "ratio": ratio,
            "limit": IMPORT_FLOOR_BUDGET,
            "pass": ratio <= IMPORT_FLOOR_BUDGET,
        }
    ]


# --- outbox delivery -------------------------------------------------------------------


def _forget_queue(queue):
    with celery_app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


class Worker:
    """One Celery worker process consuming only `queue`, on the benchmark database, writing
    its e-mail to files under `sink`."""

    def __init__(self, queue, sink, log_path, pool):
        self.queue, self.sink, self.log_path, self.pool = queue, sink, log_path, pool
        self.process = None

    def start(self, timeout=60):
        env = dict(
            os.environ,
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(self.sink),
        )
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "lightboard", "worker", f"--pool={self.pool}",
                "--queues", self.queue, "--hostname", f"{self.queue}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        destination = [f"{self.queue}@{socket.gethostname()}"]
        deadline = time.monotonic() + timeout
        while not celery_app.control.ping(destination=destination, timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Celery worker did not start:\n{self.tail()}")

    def task_seconds(self):
        """How long each task ran inside the worker, from its log ("succeeded in 0.0071s")."""
        text = Path(self.log_path).read_text(errors="replace")
        return [float(seconds) for seconds in SUCCEEDED.findall(text)]

    def tail(self, lines=30):
        return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


def _write_pending(count, prefix):
    recipients = list(User.objects.exclude(email="").order_by("pk"))
    Notification.objects.bulk_create(
        (
            Notification(
                recipient=recipients[n % len(recipients)], kind="letter_supervision", subject=f"督办函 {n}",
                body="请于十个工作日内报送整改情况。", link="/reviews/letters/1/", idempotency_key=f"{prefix}:{n}",
            )
            for n in range(count)
        ),
        batch_size=5000,
    )  # fmt: skip
    # What autovacuum does within a minute of such a write: without statistics the planner
    # takes the freshly filled table for a small one and sorts every pending row at each claim.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Notification._meta.db_table}")
    return Notification.objects.filter(idempotency_key__startswith=f"{prefix}:")


def _count_emails(sink):
    return sum(1 for path in sink.iterdir() for line in path.open("rb") if line.lower().startswith(b"message-id:"))


def delivery_floor(rows):
    """The physical floor of delivery: the same e-mails (built beforehand, not timed) written by
    the same file backend in a plain loop over one open connection, one call per message."""
    from django.core.mail import get_connection

    from outbox.delivery import _email

    messages = [_email(row) for row in rows.select_related("recipient")]
    sink = Path(tempfile.mkdtemp(prefix="lightboard-bench-floor-"))
    backend = get_connection("django.core.mail.backends.filebased.EmailBackend", file_path=str(sink))

    def write_all():
        backend.open()
        for message in messages:
            backend.send_messages([message])
        backend.close()

    _none, seconds = timed(write_all)
    assert _count_emails(sink) == len(messages)
    return {"emails": len(messages), "seconds": round(seconds, 3), "per_second": round(len(messages) / seconds, 1)}


@contextmanager
def _running_worker(pool):
    """One worker started and ready on a queue of its own: yields (worker, queue, sink)."""
    queue = f"lightboard-bench-delivery-{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="lightboard-bench-"))
    sink = work / "mail"
    sink.mkdir()
    worker = Worker(queue, sink, work / "worker.log", pool)
    worker.start()
    try:
        yield worker, queue, sink
    finally:
        worker.stop()
        _forget_queue(queue)


def _until_sent(worker, queue, rows, count, timeout, kick, settled=False):
    """Queue the signal `kick`, wait until `count` of the rows are sent (or failed, when
    `settled`): seconds from the signal to the last row marked sent."""
    started = timezone.now()
    kick.apply_async(queue=queue)
    deadline = time.monotonic() + timeout
    done = (Notification.State.SENT, Notification.State.FAILED) if settled else (Notification.State.SENT,)
    while (sent := rows.filter(state__in=done).count()) < count:
        if worker.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{sent} of {count} notifications sent; worker log:\n{worker.tail()}")
        time.sleep(0.2)
    last = rows.aggregate(last=Max("sent_at"))["last"]
    return (last - started).total_seconds()


def _run_worker_until_sent(rows, count, pool, timeout, kick):
    with _running_worker(pool) as (worker, queue, sink):
        seconds = _until_sent(worker, queue, rows, count, timeout, kick)
    return seconds, worker, sink


def _deliver_earlier_rows(worker, queue, timeout):
    """Deliver, untimed, what the earlier probes left pending: closing the in-session meeting
    queues a light notice per task (4,000 at 4,000 tasks), older than the probe's rows and so
    claimed before them. Left in place they made the worker send 6,000 e-mails in the time the
    probe counted 2,000, and the ratio fall with the size of the year. Returns how many."""
    from outbox.tasks import deliver_outbox

    pending = list(Notification.objects.filter(state=Notification.State.PENDING).values_list("pk", flat=True))
    if pending:
        rows = Notification.objects.filter(pk__in=pending)
        _until_sent(worker, queue, rows, len(pending), timeout, deliver_outbox, settled=True)
    return len(pending)


def delivery(year, count, pool="solo", timeout=240, rounds=3):
    """Deliver `count` notifications with one worker (file e-mail backend), `rounds` times: each
    round writes its rows, measures the floor on them (the same e-mails written by the same backend
    in a plain loop), then queues the one signal a commit sends; the worker's clock runs from that
    signal to the last row marked sent. The medians are reported: floor and worker are timed in
    turns, so that a burst of load on this shared machine falls on both (timed once each, seconds
    apart, their ratio swung from 0.13 to 0.47 between two runs of the same code). The worker is
    started and ready first and delivers, untimed, what the earlier probes left pending, so its
    clock runs over the probe's rows alone, as a long-running worker's would."""
    from outbox.tasks import deliver_outbox

    worker_times, floors = [], []
    with _running_worker(pool) as (worker, queue, sink):
        delivered_before = _deliver_earlier_rows(worker, queue, timeout)
        emails_before = _count_emails(sink)
        for turn in range(rounds):
            rows = _write_pending(count, f"bench{turn}")
            floors.append(delivery_floor(rows))
            worker_times.append(_until_sent(worker, queue, rows, count, timeout, deliver_outbox))
        emails_written = _count_emails(sink) - emails_before
    seconds = statistics.median(worker_times)
    floor_seconds = statistics.median(floor["seconds"] for floor in floors)
    floor = {"emails": count, "seconds": round(floor_seconds, 3), "per_second": round(count / floor_seconds, 1)}
    per_second = count / seconds
    return {
        "notifications": count,
        "pool": pool,
        "rounds": rounds,
        "seconds": round(seconds, 2),
        "per_second": round(per_second, 1),
        "emails_written": emails_written,
        "earlier_rows_delivered_first": delivered_before,
        "floor": floor,
        "ratio_to_floor": round(per_second / floor["per_second"], 3),
        "each_round": [
            {"seconds": round(w, 2), "floor_seconds": f["seconds"], "ratio": round(f["seconds"] / w, 3)}
            for w, f in zip(worker_times, floors, strict=True)
        ],
    }


def backlog_drain(count, pool="solo", timeout=900):
    """A backlog of `count` pending rows (a long outage of the workers) drained by one worker
    from the beat sweep's signal: seconds until the last is sent."""
    from outbox.tasks import sweep_outbox

    rows = _write_pending(count, "backlog")
    seconds, _worker, sink = _run_worker_until_sent(rows, count, pool, timeout, sweep_outbox)
    emails = _count_emails(sink)
    rows.delete()
    return {
        "rows": count,
        "pool": pool,
        "seconds": round(seconds, 1),
        "per_second": round(count / seconds, 1),
        "emails_written": emails,
    }
