"""The rate limit per token: API_RATE_LIMIT requests a minute, counted in Django's cache (Redis in
production, so every web node counts together). Over the limit the API answers 429 with
Retry-After: the seconds until the minute is over."""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from ninja.throttling import BaseThrottle

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


class TokenRateThrottle(BaseThrottle):
    """A fixed one-minute window per token: an atomic counter (cache.add, then cache.incr). The
    wait is kept per thread, because ninja asks for it after allow_request on one shared instance."""

    _waits = threading.local()

    def allow_request(self, request):
        integration = getattr(request, "auth", None)
        if integration is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"api-rate:{integration.token_hash[:24]}:{window}"
        try:
            cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
            used = 1
        except Exception:  # the cache is down: serve rather than refuse every integration
            logger.warning("API rate limit not counted: the cache did not answer", exc_info=True)
            return True
        self._waits.seconds = (window + 1) * WINDOW_SECONDS - now
        return used <= settings.API_RATE_LIMIT

    def wait(self):
        return max(1, getattr(self._waits, "seconds", WINDOW_SECONDS))
