"""Sign-in throttling: django-axes with a second limit, per address, against password spraying.

django-axes counts wrong passwords per (username, address) pair (AXES_LOCKOUT_PARAMETERS) and
compares the largest count with one limit (AXES_FAILURE_LIMIT). A spray of a few guesses at
each of many usernames stays under that limit for every pair, so ThrottlingHandler also adds
up the failures of all usernames from the address and locks the address at
AXES_ADDRESS_FAILURE_LIMIT. A lock by pair stays a lock of that pair only: someone at another
address cannot lock a colleague out by typing the colleague's username.
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def client_address(request):
    """The address a request comes from (django-axes' AXES_CLIENT_IP_CALLABLE).

    Without a proxy in front it is REMOTE_ADDR, and X-Forwarded-For is ignored: the client
    could have written anything there. Behind TRUSTED_PROXY_COUNT proxies (BEHIND_TLS_PROXY=1)
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


def address_failures(request):
    """Wrong passwords from the request's address, for any username, within the cool-off time."""
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class ThrottlingHandler(AxesDatabaseHandler):
    """django-axes' database handler, with the address limit on top of the pair limit.

    django-axes asks get_failures() both before checking a password (is the client locked?)
    and after a wrong one (does this failure lock it?), and compares the answer with
    AXES_FAILURE_LIMIT. When the address has reached its own limit, the answer is raised to
    AXES_FAILURE_LIMIT, so both checks see the lock; the lockout page reads
    request.lightboard_address_locked to say that the address, not the account, is locked.
    """

    def get_failures(self, request, credentials=None):
        failures = super().get_failures(request, credentials)
        limit = settings.AXES_ADDRESS_FAILURE_LIMIT
        if limit and address_failures(request) >= limit:
            request.lightboard_address_locked = True
            return max(failures, get_failure_limit(request, credentials))
        return failures
