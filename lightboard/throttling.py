"""Sign-in throttling: django-axes, with waits that grow instead of one long lock.

django-axes counts wrong passwords per (username, address) pair within AXES_COOLOFF_TIME.
ThrottlingHandler decides what they cost:

- After AXES_FAILURE_LIMIT wrong passwords for a username from an address, that pair waits a
  minute after its last failure, then two, four... up to the cool-off time: a colleague who
  types someone's name wrongly a few times costs them a minute, not a quarter of an hour, and
  from another address they sign in at once.
- After AXES_ADDRESS_FAILURE_LIMIT wrong passwords from one address, whatever the usernames
  (password spraying), every sign-in from that address waits a few seconds after the address's
  last failure, doubling with each further failure up to ADDRESS_WAIT_LIMIT: the sprayer is
  slowed to a crawl, while a colleague behind the same NAT who types the right password is
  turned away for seconds, not locked out.

Attempts made while waiting are refused and not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
is off), so retrying never prolongs a wait.
"""

import datetime
import ipaddress
import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone


def client_address(request):
    """The address a request comes from (django-axes' AXES_CLIENT_IP_CALLABLE).

    Without a proxy in front it is REMOTE_ADDR, and X-Forwarded-For is ignored: the client
    could have written anything there. Behind TRUSTED_PROXY_COUNT proxies (one with BEHIND_TLS_PROXY=1)
    each proxy appends the address it was reached from, so the client's address is that
    many entries from the right; what the client put further left is ignored for the same
    reason. A header that is missing, too short or not an address gives REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if not hops:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < hops:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-hops]))
    except ValueError:
        return remote


PAIR_WAIT = datetime.timedelta(minutes=1)
ADDRESS_WAIT = datetime.timedelta(seconds=5)
ADDRESS_WAIT_LIMIT = datetime.timedelta(minutes=5)


def _recent(attempts, request):
    """(failures, time of the last one) among attempts within the cool-off time."""
    attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    found = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    return found["failures"] or 0, found["last"]


def wait_after(failures, limit, first_wait, longest):
    """How long to wait after the last failure: nothing below the limit, then `first_wait`
    doubling with each further failure, at most `longest`."""
    if not limit or failures < limit:
        return datetime.timedelta(0)
    return min(first_wait * 2 ** min(failures - limit, 20), longest)


class ThrottlingHandler(AxesDatabaseHandler):
    """django-axes' database handler, deciding a lock by the waits described above."""

    def is_locked(self, request, credentials=None):
        now = timezone.now()
        username = get_client_username(request, credentials)
        address = request.axes_ip_address
        failures, last = _recent(AccessAttempt.objects.filter(username=username, ip_address=address), request)
        wait = wait_after(failures, get_failure_limit(request, credentials), PAIR_WAIT, get_cool_off(request))
        if last is not None and now < last + wait:
            _say_wait(request, last + wait - now)
            return True
        failures, last = _recent(AccessAttempt.objects.filter(ip_address=address), request)
        wait = wait_after(failures, settings.AXES_ADDRESS_FAILURE_LIMIT, ADDRESS_WAIT, ADDRESS_WAIT_LIMIT)
        if last is not None and now < last + wait:
            request.lightboard_address_locked = True
            _say_wait(request, last + wait - now)
            return True
        return False


def _say_wait(request, wait):
    """For the page that turns the sign-in away: how long to wait, in whole minutes or seconds."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    request.lightboard_wait_seconds = seconds
    request.lightboard_wait_minutes = math.ceil(seconds / 60)
