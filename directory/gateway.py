"""The SSO gateway: a reverse proxy in front of lightboard signs people in (against the
directory, a CAS or a portal) and names them in a header (SSO_HEADER). The header is believed
only on requests that come straight from one of SSO_TRUSTED_PROXIES; from any other address it
is removed before anything reads it.

The person named must already be an active user, unless directory sign-in is configured
(LDAP_SERVER_URI): then they are read from the directory as at a password sign-in (created on
first visit, roles following their groups; refused when the directory has disabled them), and
a local account is never signed in: the gateway asserts a directory person, who never takes
over a local account of the same username. Without the directory, local accounts named by the
gateway sign in as they are, except administrators (superusers, staff, the Administrator
role): they sign in with their password."""

import ipaddress
import logging
from functools import cached_property

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.middleware import RemoteUserMiddleware

from lightboard.roles import Role, has_role
from tasks.backends import user_with_roles_and_departments
from tasks.models import User

logger = logging.getLogger(__name__)

BACKEND = "directory.gateway.GatewayBackend"


class GatewayBackend(RemoteUserBackend):
    create_unknown_user = False

    def clean_username(self, username):
        return (username or "").strip()

    def authenticate(self, request, remote_user):
        username = self.clean_username(remote_user)
        if not username:
            return None
        if settings.LDAP_SERVER_URI:
            # The directory's rule (existing_user): usernames compare without case.
            if User.objects.filter(username__iexact=username, directory_id="").exists():
                logger.warning("the gateway named %s, a local account: refused (password sign-in only)", username)
                return None
            from .backends import DirectoryBackend  # python-ldap only when the directory is configured

            user = DirectoryBackend().populate_user(username)
        else:
            user = User.objects.filter(username=username).first()
            if user is not None and (user.is_staff or has_role(user, Role.ADMINISTRATOR)):
                logger.warning("the gateway named %s, an administrator: refused (password sign-in only)", username)
                return None
        return user if self.user_can_authenticate(user) else None

    def get_user(self, user_id):
        user = user_with_roles_and_departments(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class GatewayMiddleware(RemoteUserMiddleware):
    """Django's RemoteUserMiddleware, believing the header only from the trusted proxies."""

    @cached_property
    def header(self):
        return settings.SSO_HEADER

    @cached_property
    def proxies(self):
        return [ipaddress.ip_network(proxy, strict=False) for proxy in settings.SSO_TRUSTED_PROXIES]

    def from_proxy(self, request):
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def process_request(self, request):
        if self.header in request.META and not self.from_proxy(request):
            logger.warning("ignored %s from %s, not a trusted proxy", self.header, request.META.get("REMOTE_ADDR"))
            del request.META[self.header]
        # Unlike the parent, the gateway's sign-in does not pass through auth.authenticate and
        # its failure signal: the proxy asserted who this is, nobody guessed a password, and
        # django-axes counting a header for someone not (yet) allowed in would throttle the
        # proxy's address, that is everybody.
        username = request.META.get(self.header)
        if not username:
            if self.force_logout_if_no_header and request.user.is_authenticated:
                self._remove_invalid_user(request)
            return
        if request.user.is_authenticated:
            if request.user.get_username() == GatewayBackend().clean_username(username):
                return
            self._remove_invalid_user(request)
        user = GatewayBackend().authenticate(request, remote_user=username)
        if user is not None:
            request.user = user
            auth.login(request, user, backend=BACKEND)
