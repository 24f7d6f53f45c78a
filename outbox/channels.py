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
- the recipient is unknown to the app: that delivery fails for good with the app's answer;
- no answer, a timeout: the batch ends, its rows are retried with the e-mail's backoff.

A message is re-sent only if it was in flight when its worker died (the app may have taken it):
the copy is the same request, and both apps show the same message to the same person once
(WeCom's duplicate check over `duplicate_check_interval`, 4 hours; DingTalk's rule of one
identical work notification per person and day)."""

import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import override

from workapps import common, signin
from workapps.dingtalk import Client as DingTalkClient
from workapps.wecom import Client as WeComClient

from .models import ChannelDelivery, Notification
from .outcomes import REFUSED, RETRY, SENT_NOW, THROTTLED, UNSENT, Result, describe

PENDING = Notification.State.PENDING
# A batch stops taking new messages after this long: the rest go back untried.
BATCH_SECONDS = 60.0
CLIENTS = {common.WECOM: WeComClient, common.DINGTALK: DingTalkClient}


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


def message(channel, notification):
    """What the app shows: the subject, the body and a button to the page, through the app's
    sign-in when it is on (a tap inside the app signs the person in)."""
    with override(settings.LANGUAGE_CODE):
        button = _("Open in lightboard")
    return {
        "title": notification.subject,
        "text": notification.body or notification.subject,
        "url": signin.message_url(channel, notification.link),
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
    else:
        client.send_notification(
            userid=userid, title=content["title"], text=content["text"], url=content["url"],
            button=content["button"],
        )  # fmt: skip


def send(channel, rows, seconds=None):
    """Send the rows through the channel's app, outside any transaction. Returns ({pk: Result},
    interrupted), as outbox.delivery.send does for e-mail."""
    seconds = BATCH_SECONDS if seconds is None else seconds
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
                _send_one(channel, client, row)
            except SoftTimeLimitExceeded:
                raise
            except common.RateLimited as error:
                ended = (THROTTLED, describe(error))
                results[row.pk] = Result(*ended)
            except common.UnknownUser as error:
                results[row.pk] = Result(REFUSED, describe(error))
            except common.Transport as error:
                ended = (RETRY, describe(error))
                results[row.pk] = Result(*ended)
            except common.WorkAppError as error:  # an error about this message: the next may go
                results[row.pk] = Result(RETRY, describe(error))
            else:
                results[row.pk] = Result(SENT_NOW)
    except SoftTimeLimitExceeded:
        interrupted = True
        for row in rows:
            results.setdefault(row.pk, Result(UNSENT))
    return results, interrupted
