"""The Celery tasks that deliver the outbox, and handing a new row to them after commit."""

import logging
import time

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from . import delivery

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=3, ignore_result=True)
def deliver_notification(notification_id):
    """Deliver one notification (idempotent: a row is claimed before it is sent)."""
    return delivery.deliver(notification_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_outbox():
    """Beat: deliver whatever is still pending after a minute, or due for a retry."""
    outcomes = [delivery.deliver(pk) for pk in delivery.due_for_sweep()]
    return {outcome: outcomes.count(outcome) for outcome in set(outcomes)}


class BrokerCircuit:
    """After a publish fails, later ones in this process are not tried for a while: a meeting's
    close queues one message per user after its commit, and each would wait for the broker."""

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


def queue_delivery(notification):
    """After the surrounding transaction commits, hand the row to a Celery worker. If the
    broker is down the row stays pending and the beat sweep delivers it later."""

    def enqueue():
        if broker_circuit.is_open:
            return  # the broker failed moments ago: the sweep will pick it up
        try:
            deliver_notification.delay(notification.pk)
        except OperationalError as error:  # broker unreachable: the sweep will pick it up
            broker_circuit.trip()
            log.warning("could not queue notification %s: %s", notification.pk, error)
        except Exception as error:
            log.warning("could not queue notification %s: %s", notification.pk, error)

    transaction.on_commit(enqueue)
