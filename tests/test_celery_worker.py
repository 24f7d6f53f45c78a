"""Celery runs tasks: eagerly in the embedded default, on a real worker over Redis."""

import time
import uuid

from django.conf import settings

from lightboard.tasks import heartbeat, heartbeat_seen


def test_a_queued_task_is_run(celery_worker_process):
    token = uuid.uuid4().hex
    heartbeat.delay(token)
    deadline = time.monotonic() + 30
    while not heartbeat_seen(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert heartbeat_seen(token)
    if settings.REDIS_URL:
        assert celery_worker_process is not None and celery_worker_process.poll() is None
