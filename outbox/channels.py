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
- the recipient is unknown to the app, or the app refuses the content: that delivery fails for
  good with the app's answer;
- no answer, a timeout: the batch ends, its rows are retried with the e-mail's backoff.

DingTalk's "ok" only says it accepted the task (its task_id is kept on the delivery): whether the
person got it, or was an invalid id or over a per-person limit, DingTalk tells a while later.
`confirm_sent` asks it (getsendresult) at the start of each delivery run for deliveries sent more
than CONFIRM_AFTER ago and not yet confirmed; one DingTalk refused fails with its reason, and
administrators hear of it as of any failed delivery.

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

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from workapps import common, signin
from workapps.dingtalk import Client as DingTalkClient
from workapps.wecom import Client as WeComClient

from .models import ChannelDelivery, Notification
from .outcomes import REFUSED, RETRY, SENT_NOW, THROTTLED, UNSENT, Result, describe

log = logging.getLogger(__name__)

PENDING = Notification.State.PENDING
# A batch stops taking new messages after this long: the rest go back untried.
BATCH_SECONDS = 60.0
CLIENTS = {common.WECOM: WeComClient, common.DINGTALK: DingTalkClient}
# DingTalk's result of a task is asked for once it is this old, and can be asked for 24 hours.
CONFIRM_AFTER = datetime.timedelta(minutes=1)
CONFIRM_WITHIN = datetime.timedelta(hours=23)
# getsendresult's forbidden_list codes meaning "the same content went to this person today":
# with a token per notification in every message that is this notification, shown already.
ALREADY_SHOWN = {"143106", "143206"}


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


def message_token(notification):
    """A short token of the notification's idempotency key: the same notification always has
    the same one, two notifications (almost surely) different ones."""
    return hashlib.sha256(notification.idempotency_key.encode()).hexdigest()[:12]


def message(channel, notification):
    """What the app shows: the subject, the body and a button to the page, through the app's
    sign-in when it is on (a tap inside the app signs the person in). The button's address
    carries the notification's token, so that the app's duplicate rules drop only re-sends."""
    with override(settings.LANGUAGE_CODE):
        button = _("Open in lightboard")
    return {
        "title": notification.subject,
        "text": notification.body or notification.subject,
        "url": signin.message_url(channel, notification.link, message_token(notification)),
        "button": button,
    }


def _send_one(channel, client, row):
    recipient = row.notification.recipient
    userid = getattr(recipient, common.USERID_FIELD[channel])
    if not userid:
        raise common.UnknownUser("-", f"{recipient} has no {channel} user id any more")
    content = message(channel, row.notification)
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


def _verdict(userid, result):
    """(confirmed, error) for one person of a DingTalk task's send_result; (False, "") while
    DingTalk does not say yet."""
    listed = {name: {str(u) for u in result.get(name) or []} for name in (
        "invalid_user_id_list", "forbidden_user_id_list", "failed_user_id_list",
        "read_user_id_list", "unread_user_id_list",
    )}  # fmt: skip
    if userid in listed["invalid_user_id_list"]:
        return False, f"DingTalk getsendresult: {userid} is in invalid_user_id_list (not a user of the app)"
    if userid in listed["forbidden_user_id_list"]:
        codes = {
            str(entry.get("code", "")) for entry in result.get("forbidden_list") or [] if entry.get("userid") == userid
        }
        if codes and codes <= ALREADY_SHOWN:
            return True, ""  # this very message (same token) reached the person earlier today
        detail = ", ".join(sorted(code for code in codes if code)) or "no code"
        return (
            False,
            f"DingTalk getsendresult: {userid} is in forbidden_user_id_list ({detail}: over a per-person limit)",
        )
    if userid in listed["failed_user_id_list"]:
        return False, f"DingTalk getsendresult: {userid} is in failed_user_id_list"
    if userid in listed["read_user_id_list"] | listed["unread_user_id_list"]:
        return True, ""
    return False, ""


def confirm_sent(*, now=None, limit=None, seconds=None):
    """Ask DingTalk what became of the work notifications it accepted more than CONFIRM_AFTER ago
    and has not confirmed (within the 24 hours it answers for): delivered ones are marked
    confirmed, refused ones failed with the reason. Stops at the first answer that is not about
    the task (no answer, a rate limit) or after `seconds`. Returns {"confirmed": n, "failed": n}."""
    counts = {"confirmed": 0, "failed": 0}
    if not common.is_configured(common.DINGTALK):
        return counts
    now = now or timezone.now()
    limit = limit or settings.OUTBOX_BATCH_SIZE
    seconds = BATCH_SECONDS if seconds is None else min(seconds, BATCH_SECONDS)
    rows = list(
        ChannelDelivery.objects.filter(
            channel=common.DINGTALK,
            state=ChannelDelivery.State.SENT,
            confirmed_at=None,
            sent_at__lte=now - CONFIRM_AFTER,
            sent_at__gt=now - CONFIRM_WITHIN,
        )
        .exclude(task_id="")
        .select_related("notification__recipient")
        .order_by("sent_at", "id")[:limit]
    )
    if not rows:
        return counts
    started = time.monotonic()
    client = DingTalkClient()
    for row in rows:
        if time.monotonic() - started > seconds:
            break
        try:
            result = client.send_result(row.task_id)
        except (common.Transport, common.RateLimited, common.TokenRejected) as error:
            log.warning("outbox: DingTalk results not read this run: %s", describe(error))
            break
        except common.WorkAppError as error:  # about this task: asked again next run, while DingTalk keeps it
            log.warning("outbox: DingTalk result of task %s not read: %s", row.task_id, describe(error))
            continue
        userid = getattr(row.notification.recipient, common.USERID_FIELD[common.DINGTALK])
        confirmed, error = _verdict(userid, result)
        # Only a row still as it was read (not re-queued meanwhile) is written.
        mine = ChannelDelivery.objects.filter(pk=row.pk, state=ChannelDelivery.State.SENT, task_id=row.task_id)
        if confirmed:
            counts["confirmed"] += mine.update(confirmed_at=now)
        elif error:
            counts["failed"] += mine.update(state=ChannelDelivery.State.FAILED, last_error=error)
    return counts
