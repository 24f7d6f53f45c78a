"""Delivering the outbox in three steps, none of which holds a lock while talking to the mail
server:

1. claim: one short transaction takes up to OUTBOX_BATCH_SIZE due rows (`SKIP LOCKED`, so
   workers never wait for each other), counts the attempt and leases the rows to this worker
   (their next_attempt_at moves LEASE ahead, so a dead worker's rows come back by themselves);
   its commit does not wait for the disk (the record's does, and flushes it too);
2. send: the e-mails go over one connection, each with a Message-ID derived from the row's
   idempotency key, outside any transaction;
3. record: another short transaction marks each row sent, or due again after a backoff, or
   failed (refused for good by the mail server, or still failing when its retry time is over).

Duplicates happen in two ways only, each carrying the same Message-ID as the first copy: a
worker that dies (or loses its database) between 2 and 3 leaves the messages of its batch that
had gone out to be sent again when the lease ends; and a connection that breaks after the mail
server took a message but before it answered makes that one message count as not sent. A row
whose delivery was cut short POISON_LIMIT times is set aside as failed. The in-app inbox is the
row itself, so it exists once whatever happens to the e-mail.

The same engine delivers the work-app messages (WeCom, DingTalk): each is a ChannelDelivery row
of its own, a "line" beside the e-mail line, claimed, leased, sent (outbox.channels) and recorded
by the same three steps with the same rules. A channel that answers "too many calls" ends its
batch: its rows go back untried for THROTTLE_WAIT, without counting an attempt, and that channel
rests until the next run. Each run first asks DingTalk what became of the work notifications it
accepted a while ago (outbox.channels.confirm_sent); should that break (an answer it cannot
read), the error is logged and the run delivers all the same.

A run given `seconds` looks at the clock after every batch and gives each batch only the time
left (at most BATCH_SECONDS, at least MIN_BATCH_SECONDS): it ends within its seconds, plus
MIN_BATCH_SECONDS when it had less left, plus one call's timeout."""

import contextlib
import datetime
import hashlib
import logging
import smtplib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from lightboard import clock
from lightboard.roles import Role
from lightboard.text import one_line

from . import channels, kinds
from .models import ChannelDelivery, Notification
from .outcomes import (  # noqa: F401 - BACKOFF_CAP, give_up_after: part of this module's interface
    BACKOFF_CAP,
    REFUSED,
    RETRY,
    SENT_NOW,
    THROTTLE_WAIT,
    THROTTLED,
    UNSENT,
    Result,
    backoff,
    describe,
    give_up_after,
    retry_deadline,
)

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = Notification.State.PENDING, Notification.State.SENT, Notification.State.FAILED
# How long a claimed row stays with its worker: longer than the longest delivery run can last
# (CELERY_TASK_TIME_LIMIT), so a live worker's rows are never taken from it.
LEASE = datetime.timedelta(minutes=5)
# A row whose delivery was cut short this many times (its worker died each time) is failed.
POISON_LIMIT = 3


def message_id(notification):
    """The same notification always carries the same Message-ID, so a copy re-sent after a
    crash between sending and recording is recognisable as the same message."""
    digest = hashlib.sha256(notification.idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.LIGHTBOARD_MAIL_DOMAIN}>"


@dataclass(frozen=True)
class Line:
    """One kind of outbox row the workers deliver: the e-mail of the notifications themselves,
    or the deliveries of one work-app channel. The rows share the delivery fields (state,
    attempts, next_attempt_at, claimed_at, claim_token, crashes, retry_until, sent_at, last_error)."""

    name: str
    model: type
    due: object  # () -> the line's queryset, with what the sender reads
    send: object  # (rows, seconds or None) -> ({pk: Result}, interrupted)
    changelist: str  # where administrators find the failed rows


@dataclass
class Batch:
    token: str
    rows: list
    poisoned: list = field(default_factory=list)
    line: Line = None


def claim(batch_size=None, now=None, line=None):
    """Take up to `batch_size` due rows of the line (e-mail unless told) for this worker, in one
    short transaction. A row left claimed by a worker that died is claimed alone, so that a
    message which kills its worker cannot take the rest of a batch down with it a second time."""
    line = line or EMAIL
    now = now or timezone.now()
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    token = uuid.uuid4().hex
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        due = list(
            line.due()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(state=PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:batch_size]
        )
        cut_short = [row for row in due if row.claimed_at is not None]
        poisoned = [row for row in cut_short if row.crashes + 1 >= POISON_LIMIT]
        if poisoned:
            _set_aside(line, poisoned, now)
            return Batch(token, [], poisoned, line)
        rows = cut_short[:1] or due
        if rows:
            line.model.objects.filter(pk__in=[row.pk for row in rows]).update(
                attempts=F("attempts") + 1,
                claimed_at=now,
                claim_token=token,
                next_attempt_at=now + LEASE,
                crashes=F("crashes") + (1 if cut_short else 0),
            )
            for row in rows:
                row.attempts += 1
    return Batch(token, rows, line=line)


def _commit_without_waiting_for_disk():
    """The claim's commit does not wait for its WAL to reach the disk (PostgreSQL's
    synchronous_commit off, for this transaction only): a flush costs 5-30 ms here, two per batch
    were most of a worker's time beside the sending itself. Nothing is weakened: only a crash of
    the database server can lose such a commit (never a worker's death), and that crash also
    takes the worker's connection before it records anything, the case the module's docstring
    already allows (its batch is sent again); the record's commit, which waits, flushes the
    claim's WAL with its own."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _set_aside(line, rows, now):
    for row in rows:
        row.last_error = (
            f"Set aside: its delivery stopped the worker {row.crashes + 1} times "
            f"(last at {row.claimed_at:%Y-%m-%d %H:%M:%S %Z}); it is not tried again until re-queued."
        )
        row.state, row.crashes, row.claimed_at, row.claim_token = FAILED, row.crashes + 1, None, ""
    line.model.objects.bulk_update(rows, ["state", "crashes", "claimed_at", "claim_token", "last_error"])
    pks = [row.pk for row in rows]
    log.error("outbox: %s %s row(s) set aside after stopping their worker: %s", len(rows), line.name, pks)
    tell_administrators(now, line)


def _email(notification):
    body = notification.body
    if notification.link:
        body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{notification.link}"
    return EmailMessage(
        subject=one_line(notification.subject),
        body=body,
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
    )


def _close_quietly(connection):
    with contextlib.suppress(Exception):  # a connection that broke mid-message may not close cleanly
        connection.close()


# A batch stops taking new messages after this long (a slow or hanging mail server): the rest
# go back to the queue unattempted, well within LEASE and the task's soft time limit.
BATCH_SECONDS = 60.0
# A batch started near the end of a run still gets this long, so that every run moves more than
# one message when the service is quick.
MIN_BATCH_SECONDS = 1.0

# Errors about one message, after which the connection is still good for the next one.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


_describe = describe


def _is_permanent(error):
    """The server refused this message for good (5xx), e.g. an address that does not exist."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _message in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def send(rows, seconds=None):
    """E-mail the rows over one connection, outside any transaction. Returns ({pk: Result},
    interrupted). A message the server refuses is that message's result; a failing or hanging
    connection ends the batch, and the rows not yet tried carry its error. After `seconds` (at
    most BATCH_SECONDS) the rows not yet tried are left unsent; so are they when the task's soft
    time limit strikes (interrupted: the caller records, then stops)."""
    seconds = BATCH_SECONDS if seconds is None else min(seconds, BATCH_SECONDS)
    started = time.monotonic()
    results = {}
    connection = None
    broken = None  # the error that ended the connection
    interrupted = False
    try:
        for row in rows:
            if broken is not None:
                results[row.pk] = Result(RETRY, broken)
                continue
            if results and time.monotonic() - started > seconds:  # at least one per batch: progress
                results[row.pk] = Result(UNSENT)
                continue
            if not row.recipient.email:
                results[row.pk] = Result(SENT_NOW)  # the inbox row is the message
                continue
            try:
                if connection is None:
                    connection = get_connection()
                    connection.open()
                connection.send_messages([_email(row)])
            except SoftTimeLimitExceeded:
                raise
            except MESSAGE_ERRORS as error:
                results[row.pk] = Result(REFUSED if _is_permanent(error) else RETRY, _describe(error))
            except Exception as error:  # the connection failed, timed out or went away
                broken = _describe(error)
                results[row.pk] = Result(RETRY, broken)
            else:
                results[row.pk] = Result(SENT_NOW)
    except SoftTimeLimitExceeded:
        interrupted = True
        for row in rows:
            results.setdefault(row.pk, Result(UNSENT))
    finally:
        if connection is not None:
            _close_quietly(connection)
    return results, interrupted


def record(batch, results, now=None):
    """Write what happened to a claimed batch, in one short transaction. Rows that another
    worker claimed since (this one outlived its lease) are left to that worker. Returns the
    counts of rows written."""
    now = now or timezone.now()
    line = batch.line or EMAIL
    by_outcome = defaultdict(list)
    for row in batch.rows:
        by_outcome[results[row.pk].outcome].append(row)
    counts = {"sent": 0, "retry": 0, "failed": 0, "unsent": 0, "throttled": 0}
    mine = line.model.objects.filter(claim_token=batch.token)
    released = {"claimed_at": None, "claim_token": ""}
    with transaction.atomic():
        for row in by_outcome[SENT_NOW]:  # DingTalk's task ids, to ask about them later
            if results[row.pk].receipt:
                first_check = now + channels.CONFIRM_AFTER
                mine.filter(pk=row.pk).update(
                    task_id=results[row.pk].receipt, confirmed_at=None, next_check_at=first_check
                )
        counts["sent"] = mine.filter(pk__in=[row.pk for row in by_outcome[SENT_NOW]]).update(
            state=SENT, sent_at=now, last_error="", **released
        )
        counts["unsent"] = mine.filter(pk__in=[row.pk for row in by_outcome[UNSENT]]).update(
            attempts=F("attempts") - 1, next_attempt_at=now, **released
        )
        changes = defaultdict(list)  # one UPDATE per distinct change: few, even in an outage
        for row in by_outcome[RETRY] + by_outcome[REFUSED] + by_outcome[THROTTLED]:
            result = results[row.pk]
            deadline = retry_deadline(row)
            if result.outcome == REFUSED or now >= deadline:
                changes[("failed", ("state", FAILED), ("last_error", result.error))].append(row.pk)
            elif result.outcome == THROTTLED:  # the service's limit, not this message's failure
                due = min(now + THROTTLE_WAIT, deadline)
                change = ("throttled", ("next_attempt_at", due), ("last_error", result.error))
                changes[change].append(row.pk)
            else:
                due = min(now + backoff(row.attempts), deadline)
                changes[("retry", ("next_attempt_at", due), ("last_error", result.error))].append(row.pk)
        for (name, *change), pks in changes.items():
            fields = dict(change) | ({"attempts": F("attempts") - 1} if name == "throttled" else {})
            counts[name] += mine.filter(pk__in=pks).update(**fields, **released)
        if counts["failed"]:
            failed, name = counts["failed"], line.name
            log.error("outbox: %s %s row(s) failed for good: refused, or past their retry time", failed, name)
            tell_administrators(now, line)
    return counts


def tell_administrators(now, line=None):
    """One inbox notice per administrator, day and line that some messages could not be
    delivered (its e-mail goes with the next batch this worker claims)."""
    line = line or EMAIL
    administrators = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMINISTRATOR))
    )
    day = clock.today().isoformat()
    with override(settings.LANGUAGE_CODE):
        if line is EMAIL:
            subject = _("Messages could not be delivered")
            body = _(
                "Some e-mails could not be delivered in the time allowed, or stopped the worker that sent them. "
                "The outbox in the administration lists them with the error; re-queue them once the cause is fixed."
            )
        else:
            subject = _("Work-app messages could not be delivered")
            body = _(
                "Some WeCom or DingTalk messages could not be delivered: the recipient is unknown to the app, "
                "or the service kept failing in the time allowed. The work-app deliveries in the administration "
                "list them with the error; re-queue them once the cause is fixed."
            )
    link = reverse(line.changelist) + f"?state__exact={FAILED}"
    key = "outbox-failed" if line is EMAIL else f"outbox-failed-{line.name}"
    notices = [
        Notification(
            recipient=admin,
            kind=kinds.DELIVERY_FAILED,
            subject=subject,
            body=body,
            link=link,
            idempotency_key=f"{key}:{admin.pk}:{day}",
            next_attempt_at=now,
        )
        for admin in administrators.distinct()
    ]
    Notification.objects.bulk_create(notices, ignore_conflicts=True)
    channels.create_for(Notification.objects.filter(idempotency_key__in=[n.idempotency_key for n in notices]))


# What claiming, sending and recording an e-mail read of a row and its recipient: the rest
# (the recipient's other fields above all) is not loaded for every message.
EMAIL_FIELDS = (
    "recipient__email", "subject", "body", "link", "idempotency_key", "state", "attempts", "created_at",
    "claimed_at", "crashes", "retry_until",
)  # fmt: skip

EMAIL = Line(
    "email",
    Notification,
    lambda: Notification.objects.select_related("recipient").only(*EMAIL_FIELDS),
    lambda rows, seconds=None: send(rows, seconds),
    "admin:outbox_notification_changelist",
)
CHANNEL_LINES = [
    Line(
        channel,
        ChannelDelivery,
        lambda channel=channel: ChannelDelivery.objects.filter(channel=channel).select_related(
            "notification__recipient"
        ),
        lambda rows, seconds=None, channel=channel: channels.send(channel, rows, seconds),
        "admin:outbox_channeldelivery_changelist",
    )
    for channel in ChannelDelivery.Channel.values
]


def _confirm_dingtalk(totals, left):
    """Ask DingTalk about the work notifications it accepted a while ago (see outbox.channels)."""
    line = next(line for line in CHANNEL_LINES if line.name == ChannelDelivery.Channel.DINGTALK)
    now = timezone.now()
    counts = channels.confirm_sent(now=now, seconds=left())
    for name in ("confirmed", "failed", "requeued"):
        totals[name] += counts[name]
    if counts["failed"]:
        log.error(
            "outbox: %s dingtalk row(s) failed for good: refused by DingTalk after it took them", counts["failed"]
        )
        tell_administrators(now, line)


def deliver_due(*, batch_size=None, seconds=None):
    """Claim, send and record batches, a batch of each line in turn (e-mail, then each work-app
    channel), until nothing is due or `seconds` have passed: the clock is read after every
    batch, and each batch gets only the time left. A line with nothing due, or whose service
    asked us to slow down, rests until the next run. Returns the counts and whether due rows
    may be left (the caller then runs again)."""
    started = time.monotonic()
    totals = {
        "sent": 0, "retry": 0, "failed": 0, "unsent": 0, "throttled": 0, "set_aside": 0, "confirmed": 0,
        "requeued": 0, "more": False,
    }  # fmt: skip

    def left():
        """The time the next batch may take: what is left of the run, but MIN_BATCH_SECONDS at least."""
        return None if seconds is None else max(seconds - (time.monotonic() - started), MIN_BATCH_SECONDS)

    def over():
        return seconds is not None and time.monotonic() - started >= seconds

    try:
        _confirm_dingtalk(totals, left)
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # what DingTalk says of its tasks must never hold up the e-mail and the sends
        log.exception("outbox: asking DingTalk what became of its tasks failed; delivering all the same")
    active = [EMAIL, *CHANNEL_LINES]
    while active:
        for line in list(active):
            batch = claim(batch_size, line=line)
            totals["set_aside"] += len(batch.poisoned)
            if not batch.rows and not batch.poisoned:
                active.remove(line)
                continue
            if batch.rows:
                results, interrupted = line.send(batch.rows, left())
                written = record(batch, results)
                for name, count in written.items():
                    totals[name] += count
                if interrupted:
                    raise SoftTimeLimitExceeded("the outbox run was stopped at its time limit; its batch is recorded")
                if written["throttled"]:
                    active.remove(line)
            if active and over():  # after every batch, not after a round of every line
                totals["more"] = True
                return totals
    return totals
