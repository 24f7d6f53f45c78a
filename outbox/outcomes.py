"""What sending one outbox row came to, as the senders report it to outbox.delivery.record, and
the timing rules that follow from it (shared by outbox.delivery and outbox.channels, which also
puts DingTalk deliveries back in the queue when DingTalk reports them not shown)."""

import datetime
from dataclasses import dataclass

from django.conf import settings

# sent: delivered (or nothing to deliver); retry: a transport or temporary error, tried again after
# a backoff until the retry time is over; refused: refused for good; unsent: not tried (the batch
# ran out of time), due again at once; throttled: the service asked us to slow down, due again
# after THROTTLE_WAIT without counting the attempt.
SENT_NOW, RETRY, REFUSED, UNSENT, THROTTLED = "sent", "retry", "refused", "unsent", "throttled"

# Backoff between attempts: 1, 2, 4, 8, 16, then every 30 minutes until the retry time is over.
BACKOFF_CAP = datetime.timedelta(minutes=30)
# A channel that answered "too many calls" is tried again after this long.
THROTTLE_WAIT = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class Result:
    outcome: str
    error: str = ""
    receipt: str = ""  # what the service gave back to ask about the message later (DingTalk's task_id)


def describe(error):
    return f"{type(error).__name__}: {error}"[:2000]


def backoff(attempts):
    """Wait before the next attempt: 1, 2, 4, 8, 16, 30, 30 … minutes."""
    return min(datetime.timedelta(minutes=2 ** min(max(attempts - 1, 0), 10)), BACKOFF_CAP)


def give_up_after():
    return datetime.timedelta(hours=settings.OUTBOX_GIVE_UP_HOURS)


def retry_deadline(row):
    """Until when a transport error means "try again later" for this row (a notification or a
    work-app delivery)."""
    return row.retry_until or row.created_at + give_up_after()
