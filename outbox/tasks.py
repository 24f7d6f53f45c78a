"""The Celery tasks that deliver the outbox, and handing a new row to them after commit."""

import logging
import time

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from . import delivery, digests

log = logging.getLogger(__name__)


# One run delivers for at most this long, then queues the next run: the worker stays
# responsive to other tasks, and no task outlives the broker's visibility timeout.
RUN_SECONDS = 20.0


# A delivery task is only a signal that rows may be due: the rows themselves are the queue.
# So it is acknowledged when it starts, and a worker that dies loses nothing but the signal:
# its claimed rows come back when their lease ends and the beat sweep finds them.
def _deliver_for(request):
    """One run of deliveries; while a backlog remains, the next run is queued where this one
    came from (a worker serving its own queue keeps the work there)."""
    totals = delivery.deliver_due(seconds=RUN_SECONDS)
    if totals.pop("more"):
        queue = (request.delivery_info or {}).get("routing_key")
        deliver_outbox.apply_async(queue=queue) if queue else deliver_outbox.delay()
    return totals


@shared_task(bind=True, ignore_result=True, acks_late=False)
def deliver_outbox(self):
    """Deliver due notifications in batches, run after run while a backlog remains."""
    return _deliver_for(self.request)


@shared_task(bind=True, ignore_result=True, acks_late=False)
def deliver_notification(self, notification_id=None):
    """Tasks queued by earlier versions name one row; delivering what is due covers it."""
    return _deliver_for(self.request)


@shared_task(bind=True, ignore_result=True, acks_late=False)
def sweep_outbox(self):
    """Beat: deliver whatever is due (retries, rows whose signal was lost, a dead worker's
    rows after their lease), at the worker's full rate."""
    return _deliver_for(self.request)


@shared_task(ignore_result=True, acks_late=False)
def send_daily_digests():
    """Beat, hourly: from DIGEST_HOUR on, each person's held messages go in one e-mail a day."""
    written = digests.send_daily_digests(timezone.now())
    if written:
        _signal_workers()
    return written


class BrokerCircuit:
    """After a publish fails, later ones in this process are not tried for a while: every
    request that commits a message would otherwise wait for the unreachable broker again."""

    def __init__(self, retry_after=30.0):
        self.retry_after = retry_after  # seconds
        self._down_until = 0.0

    @property
    def is_open(self):
        return time.monotonic() < self._down_until

    def trip(self):
        self._down_until = time.monotonic() + self.retry_after

    def reset(self):
        self._down_until = 0.0


broker_circuit = BrokerCircuit()


def _signal_workers():
    if broker_circuit.is_open:
        return  # the broker failed moments ago: the sweep will pick the rows up
    try:
        deliver_outbox.delay()
    except OperationalError as error:  # broker unreachable: the sweep will pick the rows up
        broker_circuit.trip()
        log.warning("could not signal the outbox workers: %s", error)
    except Exception as error:
        log.warning("could not signal the outbox workers: %s", error)


def queue_delivery():
    """After the surrounding transaction commits, signal a worker that rows are due: once per
    transaction, however many messages it wrote. If the broker is down the rows stay pending
    and the beat sweep delivers them later."""
    pending = transaction.get_connection().run_on_commit
    if any(callback is _signal_workers for _savepoints, callback, _robust in pending):
        return
    transaction.on_commit(_signal_workers)
