"""Directory sign-in (LDAP / Active Directory) through django-auth-ldap.

django-auth-ldap finds the person with the service account, checks their password by binding
as them and reads their groups; lightboard then makes the user what the directory says
(directory.services.follow_directory): roles, departments and unit by the administrators' group
mappings, at every sign-in. Configured by the LDAP_* settings (lightboard/settings.py); listed in
AUTHENTICATION_BACKENDS only when LDAP_SERVER_URI is set."""

import logging

import ldap
from django.conf import settings
from django.utils.translation import gettext as _
from django_auth_ldap.backend import LDAPBackend, _LDAPUser
from django_auth_ldap.config import (
    ActiveDirectoryGroupType,
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPSearch,
    LDAPSettings,
    PosixGroupType,
)

from tasks.backends import user_with_roles_and_departments

from . import reader, services

logger = logging.getLogger(__name__)

GROUP_TYPES = {
    "groupOfNames": GroupOfNamesType,
    "groupOfUniqueNames": GroupOfUniqueNamesType,
    "posixGroup": PosixGroupType,
    "activeDirectory": ActiveDirectoryGroupType,
}


def ldap_settings():
    """django-auth-ldap's settings, from lightboard's LDAP_* settings."""
    attributes = reader.person_attributes()
    group_base = settings.LDAP_GROUP_SEARCH_BASE
    return {
        "SERVER_URI": settings.LDAP_SERVER_URI,
        "BIND_DN": settings.LDAP_BIND_DN,
        "BIND_PASSWORD": settings.LDAP_BIND_PASSWORD,
        "START_TLS": settings.LDAP_START_TLS,
        "CONNECTION_OPTIONS": reader.connection_options(),
        "USER_SEARCH": LDAPSearch(
            settings.LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_FILTER, attributes
        ),
        "USER_ATTRLIST": attributes,
        "GROUP_SEARCH": LDAPSearch(group_base, ldap.SCOPE_SUBTREE, reader.group_filter()) if group_base else None,
        "GROUP_TYPE": GROUP_TYPES[settings.LDAP_GROUP_TYPE]() if group_base else None,
        # follow_directory sets every field; django-auth-ldap only finds, binds and saves.
        "USER_ATTR_MAP": {},
        "ALWAYS_UPDATE_USER": True,
        "CACHE_TIMEOUT": 0,
    }


class DirectoryBackend(LDAPBackend):
    """Signs people in with their directory password. Local accounts (no directory id) are left
    to Django's ModelBackend, before this one: a directory entry with the same username never
    takes them over, nor another directory entry's user. A disabled directory account is refused
    and its user made inactive; a user an administrator made inactive stays so and is refused."""

    @property
    def settings(self):
        if self._settings is None:
            # The prefix names no setting of ours: only ldap_settings() configures the backend.
            self._settings = LDAPSettings("LIGHTBOARD_DIRECTORY_", ldap_settings())
        return self._settings

    def get_user(self, user_id):
        # As LDAPBackend.get_user, with the roles and departments read with the user.
        user = user_with_roles_and_departments(user_id)
        # A user the directory disabled or the sync deactivated loses their session too.
        if user is None or not user.is_active:
            return None
        _LDAPUser(self, user=user)  # sets user.ldap_user
        return user

    def _person(self, ldap_user):
        person = getattr(ldap_user, "lightboard_person", None)
        if person is None:
            person = ldap_user.lightboard_person = reader.person_at_sign_in(ldap_user)
        return person

    def authenticate_ldap_user(self, ldap_user, password):
        try:
            if ldap_user.dn is None:
                return None
            # Before the password: a locked account may not even bind (password policy), and
            # its lightboard user must be made inactive all the same.
            person = self._person(ldap_user)
            if person.disabled:
                services.refuse_disabled(person=person)
                return None
            user = super().authenticate_ldap_user(ldap_user, password)
        except ldap.LDAPError as error:
            logger.warning("directory sign-in failed for %s: %s", ldap_user._username, error)
            return None
        return user

    def populate_user(self, username):
        """The user the directory has under `username`, created or brought up to date without
        their password (the SSO gateway has signed them in); None when the directory has no
        such active person or the name is a local account's."""
        try:
            return super().populate_user(username)
        except ldap.LDAPError as error:
            logger.warning("reading %s from the directory failed: %s", username, error)
            return None

    def get_or_build_user(self, username, ldap_user):
        """Called once the password is right (or, for the gateway, without one): the user of the
        person's directory entry, made what the directory says of them now."""
        person = self._person(ldap_user)
        if person.disabled:
            services.refuse_disabled(person=person)
            raise ldap_user.AuthenticationFailed("the directory has disabled this account")
        if not person.directory_id or not person.username:
            raise ldap_user.AuthenticationFailed(f"the entry has no {settings.LDAP_ID_ATTRIBUTE} or username")
        user, problem = services.existing_user(person)
        if problem:
            # For the administrators: the person is refused until they sort it out (or, for an
            # entry re-created since the last sync, until the sync relinks the user).
            logger.warning("directory sign-in of %s (%s) refused: %s", person.username, person.dn, problem)
            raise ldap_user.AuthenticationFailed(problem)
        if services.suspended_here(user):
            raise ldap_user.AuthenticationFailed("deactivated in lightboard by an administrator")
        user = services.follow_directory(person=person, user=user, reason=_("directory sign-in")).user
        return _saved_already(user), False


def _saved_already(user):
    """`user`, which follow_directory has saved, made so that django-auth-ldap's own save of it
    writes nothing. django-auth-ldap saves the whole user once more after get_or_build_user
    (ALWAYS_UPDATE_USER, and always in populate_user), outside follow_directory's transaction:
    that save would write back the "active" read before an administrator's deactivation
    committed in between, and lift it. Only that next whole save is skipped; saves naming their
    fields (the sign-in's last_login) go through."""

    def save(*args, **kwargs):
        del user.save  # the model's own save again
        if kwargs.get("update_fields") is None:
            return None
        return user.save(*args, **kwargs)

    user.save = save
    return user
