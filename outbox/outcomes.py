"""What sending one outbox row came to, as the senders report it to outbox.delivery.record."""

from dataclasses import dataclass

# sent: delivered (or nothing to deliver); retry: a transport or temporary error, tried again after
# a backoff until the retry time is over; refused: refused for good; unsent: not tried (the batch
# ran out of time), due again at once; throttled: the service asked us to slow down, due again
# after THROTTLE_WAIT without counting the attempt.
SENT_NOW, RETRY, REFUSED, UNSENT, THROTTLED = "sent", "retry", "refused", "unsent", "throttled"


@dataclass(frozen=True)
class Result:
    outcome: str
    error: str = ""
    receipt: str = ""  # what the service gave back to ask about the message later (DingTalk's task_id)


def describe(error):
    return f"{type(error).__name__}: {error}"[:2000]
