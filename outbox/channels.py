"""Work-app channels of the outbox: WeCom application messages and DingTalk work notifications.

A notification that is sent at once (not held for the digest, not switched off) gets one
ChannelDelivery row per configured app in which its recipient has a user id, written in the same
transaction; outbox.delivery claims, leases and records those rows like the e-mail, and `send`
below talks to the app. What each answer means for the delivery:

- sent: the app took the message;
- a token the app calls invalid or expired is replaced once by the client and the message sent
  again (the app refused it, so nothing went out twice); refused again: retried later;
- "too many calls" (rate limit): the batch ends, its rows go back untried for a minute, and the
  attempt is not counted;
- the recipient is unknown to the app, or the app refuses the content (WeCom's content errors,
  DingTalk's 34016 "too long"): that delivery fails for good with the app's answer;
- any other error code (DingTalk's "invalid parameter" included, which a wrong agent id gives
  too): retried with the e-mail's backoff until the retry time is over;
- no answer, a timeout: the batch ends, its rows are retried with the e-mail's backoff.

DingTalk's "ok" only says it accepted the task (its task_id is kept on the delivery): whether the
person got it, or was an invalid id or over a per-person limit, DingTalk tells a while later.
`confirm_sent` asks it (getsendresult) at the start of each delivery run, for each delivery when
its next check is due (CONFIRM_AFTER after the send, then ever less often while DingTalk has no
answer, for CONFIRM_WITHIN: after that it stays unconfirmed). An invalid user id fails the
delivery (administrators hear of it as of any failed delivery); a person DingTalk did not show it
to because of a per-minute limit gets it again after THROTTLE_WAIT (the attempt not counted),
over the daily cap the next day, in failed_user_id_list after the backoff, each while the
delivery's retry time lasts.

A message is re-sent only if it was in flight when its worker died (the app may have taken it):
the copy is the same request, and both apps show the same message to the same person once
(WeCom's duplicate check over `duplicate_check_interval`, 4 hours; DingTalk's rule of one
identical work notification per person and day). Both compare content, so every message carries
its notification's own token in its link (`message_token`): two notifications that say the same
thing are two messages, one notification re-sent is the same message."""

import datetime
import hashlib
import logging
import time
import zoneinfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from workapps import common, signin
from workapps.dingtalk import Client as DingTalkClient
from workapps.wecom import Client as WeComClient

from .models import ChannelDelivery, Notification
from .outcomes import (
    REFUSED,
    RETRY,
    SENT_NOW,
    THROTTLE_WAIT,
    THROTTLED,
    UNSENT,
    Result,
    backoff,
    describe,
    retry_deadline,
)

log = logging.getLogger(__name__)

PENDING = Notification.State.PENDING
# A batch stops taking new messages after this long: the rest go back untried.
BATCH_SECONDS = 60.0
CLIENTS = {common.WECOM: WeComClient, common.DINGTALK: DingTalkClient}
# DingTalk's result of a task is asked for once it is this old, and can be asked for 24 hours.
CONFIRM_AFTER = datetime.timedelta(minutes=1)
CONFIRM_WITHIN = datetime.timedelta(hours=23)
# A task DingTalk has not reported on is asked about again after the longest of these that is at
# most half its age: a minute apart at first, then 2, 5, 10, 30 minutes, then hourly (about 35
# questions in its 23 hours, where a question every run would be over a thousand).
CONFIRM_STEPS = [datetime.timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60)]
# getsendresult's forbidden_list codes (its documentation's error codes; 1431xx for an internal
# app, 1432xx for an ISV's). "The same content went to this person today": with a token per
# notification in every message, that is this notification, shown already.
ALREADY_SHOWN = {"143106", "143206"}
# Over a per-minute limit of the app or the company: not shown, sent again after THROTTLE_WAIT.
PER_MINUTE = {"143103", "143104", "143203", "143204"}
# Over the daily limit per person (500 work notifications a day for an internal app): not
# shown, sent again shortly after midnight (China time) while the retry time lasts.
DAILY_CAP = {"143105", "143205"}
NEXT_DAY_MARGIN = datetime.timedelta(minutes=5)
# What a task's result means for its delivery (besides THROTTLED).
CONFIRMED, FAILED, NEXT_DAY, LATER = "confirmed", "failed", "next_day", "later"
CHINA = zoneinfo.ZoneInfo("Asia/Shanghai")


def create_for(notifications):
    """Write the channel deliveries of these notifications: those waiting to go out at once, to
    recipients with a user id in a configured app (a fixed number of queries; a delivery that
    exists already is not written again). Returns how many rows it wrote."""
    channels = common.configured_channels()
    pending = [n for n in notifications if n.state == PENDING]
    if not channels or not pending:
        return 0
    ids = {
        row["pk"]: row
        for row in get_user_model()
        .objects.filter(pk__in={n.recipient_id for n in pending})
        .values("pk", *(common.USERID_FIELD[channel] for channel in channels))
    }
    rows = [
        ChannelDelivery(notification_id=n.pk, channel=channel)
        for n in pending
        for channel in channels
        if ids.get(n.recipient_id, {}).get(common.USERID_FIELD[channel])
    ]
    return len(ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True))


def message_token(notification, resends=0):
    """A short token of the notification's idempotency key: the same notification always has
    the same one, two notifications (almost surely) different ones. A message the app reported
    not shown and that goes again (`resends`) gets a token of its own."""
    key = notification.idempotency_key + (f"#{resends}" if resends else "")
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def message(channel, notification, resends=0):
    """What the app shows: the subject, the body and a button to the page, through the app's
    sign-in when it is on (a tap inside the app signs the person in). The button's address
    carries the notification's token, so that the app's duplicate rules drop only re-sends."""
    with override(settings.LANGUAGE_CODE):
        button = _("Open in lightboard")
    return {
        "title": notification.subject,
        "text": notification.body or notification.subject,
        "url": signin.message_url(channel, notification.link, message_token(notification, resends)),
        "button": button,
    }


def _send_one(channel, client, row):
    recipient = row.notification.recipient
    userid = getattr(recipient, common.USERID_FIELD[channel])
    if not userid:
        raise common.UnknownUser("-", f"{recipient} has no {channel} user id any more")
    content = message(channel, row.notification, row.resends)
    if channel == common.WECOM:
        client.send_card(
            userid=userid, title=content["title"], description=content["text"], url=content["url"],
            button=content["button"],
        )  # fmt: skip
        return ""
    answer = client.send_notification(
        userid=userid, title=content["title"], text=content["text"], url=content["url"],
        button=content["button"],
    )  # fmt: skip
    return str(answer.get("task_id") or "")


def send(channel, rows, seconds=None):
    """Send the rows through the channel's app, outside any transaction. Returns ({pk: Result},
    interrupted), as outbox.delivery.send does for e-mail. After `seconds` (at most
    BATCH_SECONDS) the rows not yet tried are left unsent."""
    seconds = BATCH_SECONDS if seconds is None else min(seconds, BATCH_SECONDS)
    started = time.monotonic()
    results = {}
    ended = None  # (outcome, error) that ended the batch: the rows not yet tried carry it
    interrupted = False
    try:
        try:
            client = CLIENTS[channel]()
        except common.NotConfigured as error:
            ended = (RETRY, describe(error))
        for row in rows:
            if ended is not None:
                results[row.pk] = Result(*ended)
                continue
            if results and time.monotonic() - started > seconds:
                results[row.pk] = Result(UNSENT)
                continue
            try:
                receipt = _send_one(channel, client, row)
            except SoftTimeLimitExceeded:
                raise
            except common.RateLimited as error:
                ended = (THROTTLED, describe(error))
                results[row.pk] = Result(*ended)
            except (common.UnknownUser, common.ContentRefused) as error:
                results[row.pk] = Result(REFUSED, describe(error))
            except common.Transport as error:
                ended = (RETRY, describe(error))
                results[row.pk] = Result(*ended)
            except common.WorkAppError as error:  # an error about this message: the next may go
                results[row.pk] = Result(RETRY, describe(error))
            else:
                results[row.pk] = Result(SENT_NOW, receipt=receipt)
    except SoftTimeLimitExceeded:
        interrupted = True
        for row in rows:
            results.setdefault(row.pk, Result(UNSENT))
    return results, interrupted


def _ids(value):
    """The user ids of one of send_result's lists, as strings; anything that is not a list of ids
    (DingTalk's documentation shows a JSON list; a comma-separated string is read too) is none."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return set()
    ids = {str(item).strip() for item in value if isinstance(item, str | int) and not isinstance(item, bool)}
    return ids - {""}


def _forbidden_codes(userid, result):
    """The codes of the person's forbidden_list entries (entries that are not objects are skipped)."""
    entries = result.get("forbidden_list")
    if not isinstance(entries, list | tuple):
        return set()
    return {
        str(entry.get("code") or "")
        for entry in entries
        if isinstance(entry, dict) and str(entry.get("userid") or "") == userid
    } - {""}


def _verdict(userid, result):
    """(what to do, error) for one person of a DingTalk task's send_result: CONFIRMED, FAILED (for
    good), THROTTLED (again after THROTTLE_WAIT, the attempt not counted), NEXT_DAY (over the
    daily cap: again tomorrow), LATER (again after the backoff); ("", "") while DingTalk does not
    say yet. Read defensively: a list that is not a list counts as empty."""
    if not isinstance(result, dict):
        return "", ""
    listed = {name: _ids(result.get(name)) for name in (
        "invalid_user_id_list", "forbidden_user_id_list", "failed_user_id_list",
        "read_user_id_list", "unread_user_id_list",
    )}  # fmt: skip
    if userid in listed["invalid_user_id_list"]:
        return FAILED, f"DingTalk getsendresult: {userid} is in invalid_user_id_list (not a user of the app)"
    if userid in listed["forbidden_user_id_list"]:
        codes = _forbidden_codes(userid, result)
        detail = ", ".join(sorted(codes)) or "no code"
        error = f"DingTalk getsendresult: {userid} is in forbidden_user_id_list ({detail}), not shown"
        if codes & DAILY_CAP:
            return NEXT_DAY, error + ": over the daily limit per person, sent again tomorrow"
        if codes & PER_MINUTE:
            return THROTTLED, error + ": over a per-minute limit, sent again in a minute"
        if codes and codes <= ALREADY_SHOWN:
            return CONFIRMED, ""  # this very message (same token) reached the person earlier today
        return LATER, error
    if userid in listed["failed_user_id_list"]:
        return LATER, f"DingTalk getsendresult: {userid} is in failed_user_id_list, sent again later"
    if userid in listed["read_user_id_list"] | listed["unread_user_id_list"]:
        return CONFIRMED, ""
    return "", ""


def next_check(sent_at, now):
    """When to ask again about a task DingTalk has no answer on yet: after the longest of
    CONFIRM_STEPS that is at most half its age (at least the first)."""
    half_age = (now - sent_at) / 2
    return now + max((step for step in CONFIRM_STEPS if step <= half_age), default=CONFIRM_STEPS[0])


def _next_day(now):
    """Shortly after the next midnight of DingTalk's day (China time)."""
    local = now.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=1) + NEXT_DAY_MARGIN


def _requeue(mine, row, now, what, error):
    """Put a delivery DingTalk did not show back in the queue (what: THROTTLED, NEXT_DAY, LATER),
    or fail it when its next chance is past its retry time. Returns "requeued" or "failed"."""
    deadline = retry_deadline(row)
    due = {THROTTLED: now + THROTTLE_WAIT, NEXT_DAY: _next_day(now), LATER: now + backoff(row.attempts)}[what]
    if now >= deadline or (what == NEXT_DAY and due > deadline):
        written = mine.update(state=ChannelDelivery.State.FAILED, last_error=f"{error} (past its retry time)")
        return "failed" if written else ""
    counted = {"attempts": Greatest(F("attempts") - 1, 0)} if what == THROTTLED else {}
    written = mine.update(
        state=ChannelDelivery.State.PENDING, next_attempt_at=min(due, deadline), last_error=error,
        task_id="", confirmed_at=None, next_check_at=None, sent_at=None, resends=F("resends") + 1, **counted,
    )  # fmt: skip
    return "requeued" if written else ""


def confirm_sent(*, now=None, limit=None, seconds=None):
    """Ask DingTalk what became of the work notifications it accepted and has not confirmed, those
    whose next check is due (within the CONFIRM_WITHIN it answers for; after that they stay
    unconfirmed): delivered ones are marked confirmed; one not shown over a per-minute limit goes
    back to the queue for THROTTLE_WAIT (its attempt not counted), over the daily cap until
    tomorrow, failed for another reason after the backoff, each until its retry time, then it
    fails; an invalid user id fails at once. A task without an answer yet is asked again later
    (next_check). Stops at the first answer that is not about the task (no answer, a rate limit)
    or after `seconds`. Returns {"confirmed": n, "failed": n, "requeued": n}."""
    counts = {"confirmed": 0, "failed": 0, "requeued": 0}
    if not common.is_configured(common.DINGTALK):
        return counts
    now = now or timezone.now()
    limit = limit or settings.OUTBOX_BATCH_SIZE
    seconds = BATCH_SECONDS if seconds is None else min(seconds, BATCH_SECONDS)
    due = Q(next_check_at__lte=now) | Q(next_check_at=None, sent_at__lte=now - CONFIRM_AFTER)
    rows = list(
        ChannelDelivery.objects.filter(
            due,
            channel=common.DINGTALK,
            state=ChannelDelivery.State.SENT,
            confirmed_at=None,
            sent_at__gt=now - CONFIRM_WITHIN,
        )  # fmt: skip
        .exclude(task_id="")
        .select_related("notification__recipient")
        .order_by(Coalesce("next_check_at", "sent_at"), "id")[:limit]
    )
    if not rows:
        return counts
    started = time.monotonic()
    client = DingTalkClient()
    for row in rows:
        if time.monotonic() - started > seconds:
            break
        # Only a row still as it was read (not re-queued or confirmed by another run meanwhile) is written.
        mine = ChannelDelivery.objects.filter(
            pk=row.pk, state=ChannelDelivery.State.SENT, task_id=row.task_id, confirmed_at__isnull=True
        )
        try:
            result = client.send_result(row.task_id)
            userid = getattr(row.notification.recipient, common.USERID_FIELD[common.DINGTALK]) or ""
            what, error = _verdict(userid, result)
        except SoftTimeLimitExceeded:
            raise
        except (common.Transport, common.RateLimited, common.TokenRejected) as problem:
            log.warning("outbox: DingTalk results not read this run: %s", describe(problem))
            break
        except common.WorkAppError as problem:  # about this task: asked again later, while DingTalk keeps it
            log.warning("outbox: DingTalk result of task %s not read: %s", row.task_id, describe(problem))
            what, error = "", ""
        except Exception:  # an answer this code cannot read: the other tasks are still asked
            log.exception("outbox: DingTalk result of task %s could not be read", row.task_id)
            what, error = "", ""
        if what == CONFIRMED:
            counts["confirmed"] += mine.update(confirmed_at=now)
        elif what == FAILED:
            counts["failed"] += mine.update(state=ChannelDelivery.State.FAILED, last_error=error)
        elif what:
            outcome = _requeue(mine, row, now, what, error)
            if outcome:
                counts[outcome] += 1
        else:
            mine.update(next_check_at=next_check(row.sent_at, now))
    return counts
