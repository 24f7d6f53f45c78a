"""Signing in through WeCom or DingTalk asks the directory too (workapps.signin.signing_in): a
directory person is read again, as at a password sign-in, so someone the directory disabled since
the last sync cannot come in through an app; their user is made inactive as the password sign-in
makes it. Local accounts (no directory id), and everyone while directory sign-in is not
configured, are left to workapps' own rules.

The person is read under their lightboard username (DirectoryBackend.populate_user, as the SSO
gateway does): brought up to date (roles, departments, unit) when the directory has them active;
refused when it has disabled them, has no entry of that name, has that name on another entry, or
cannot be read just now."""

from django.conf import settings
from django.utils.translation import gettext as _

from workapps.signin import SignInRefused


def check_directory_person(sender, *, user, **kwargs):
    if not settings.LDAP_SERVER_URI or not user.directory_id:
        return
    from .backends import DirectoryBackend  # python-ldap only when the directory is configured

    current = DirectoryBackend().populate_user(user.get_username())
    if current is not None and current.pk == user.pk and current.is_active:
        return
    # A disabled person's user was made inactive by populate_user (services.refuse_disabled).
    raise SignInRefused(
        _(
            "The directory does not list you as an active person (or could not be asked just now). "
            "Sign in with your username and password, or ask an administrator."
        )
    )
