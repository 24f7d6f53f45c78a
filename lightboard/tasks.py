"""Project-level Celery tasks."""

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_SECONDS = 60


@shared_task
def heartbeat(token):
    """Leave a mark in the shared cache: proof that a worker picked up and ran a task."""
    cache.set(f"lightboard:heartbeat:{token}", "alive", timeout=HEARTBEAT_SECONDS)


def heartbeat_seen(token):
    return cache.get(f"lightboard:heartbeat:{token}") == "alive"
