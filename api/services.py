"""Writes of the API: setting up an integration account and issuing its token (from the admin),
and a self-assessment written through an integration for a person, by the same service the
self-assessment page calls (every rule of it holds). Each is one transaction with its audit entry."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tasks import access as task_access
from tasks import services as task_services
from tasks.audit import changes, record_audit
from tasks.models import SelfAssessment, User

from .models import IntegrationAccount, hash_token, new_token


@transaction.atomic
def issue_token(*, integration, by):
    """Give the account a new token (any earlier one stops working) and return it: it is stored
    only as its hash, so this is the one time anyone sees it."""
    token = new_token()
    integration.token_hash = hash_token(token)
    integration.token_prefix = token[:8]
    integration.token_issued_at = timezone.now()
    integration.save(update_fields=["token_hash", "token_prefix", "token_issued_at"])
    record_audit(actor=by, action="issue api token", subject=integration, after={"token": f"{token[:8]}…"})
    return token


def _what_it_may_do(integration, units):
    """What the audit trail keeps of an account: its access, what it reads, whether it is active
    (never its token nor the token's hash)."""
    return {
        "name": integration.name,
        "access": integration.access,
        "whole_group": integration.whole_group,
        "units": sorted(f"{unit.code} {unit.name}" for unit in units),
        "is_active": integration.is_active,
    }


@transaction.atomic
def create_integration(*, integration, units, by):
    """Save a new account (its fields set as the admin's form filled them) with the units it reads,
    record who created it and what it may do, and issue its first token, which is returned."""
    integration.save()
    integration.units.set(units)
    record_audit(
        actor=by, action="create api integration", subject=integration, after=_what_it_may_do(integration, units)
    )
    return issue_token(integration=integration, by=by)


@transaction.atomic
def change_integration(*, integration, units, by):
    """Save an account's changed fields (set on it as the admin's form filled them) and the units it
    reads, recording who changed its access, scope or state, from what to what."""
    stored = IntegrationAccount.objects.select_for_update().get(pk=integration.pk)
    before = _what_it_may_do(stored, stored.units.all())
    integration.save()
    integration.units.set(units)
    changed_before, changed_after = changes(before, _what_it_may_do(integration, units))
    if changed_after:
        record_audit(
            actor=by, action="change api integration", subject=integration, before=changed_before, after=changed_after
        )


def through(integration):
    """What the history says of a change an integration made."""
    return _("Through the integration “%(name)s”") % {"name": integration.name}


def person_for(*, integration, task, username):
    """The person a write is for: an active member of staff of the task's department (who may
    self-assess it on the page). Anyone else, or no such person: PermissionDenied naming the field."""
    person = User.objects.filter(username=username, is_active=True).first()
    if person is None or not task_access.can_work_on(person, task.department):
        raise PermissionDenied({"acting_for": [_("This person is not a member of staff of the task's department.")]})
    return person


def _refuse_unless_writable(*, task, stage, version):
    """The two refusals an integration meets most, worded for a program that reads and writes
    again, not for a person at the page (who is asked to reload it): the self-assessment changed
    since the version sent, or it waits for a leader. The self-assessment service checks both
    again under the same row lock, which this takes first, so the rules stay the service's."""
    assessment = (
        SelfAssessment.objects.select_for_update(of=("self",))
        .select_related("updated_by")
        .filter(task=task, stage=stage)
        .first()
    )
    current = assessment.version if assessment is not None else 0
    if version != current:
        if assessment is None or assessment.updated_at is None or assessment.updated_by is None:
            raise ValidationError(
                _("This self-assessment is at version %(version)s; read it again, then write.") % {"version": current}
            )
        when = formats.date_format(timezone.localtime(assessment.updated_at), "SHORT_DATETIME_FORMAT")
        raise ValidationError(
            _(
                "This self-assessment was changed by %(who)s at %(when)s (version %(version)s); "
                "read it again, then write."
            )
            % {"who": assessment.updated_by, "when": when, "version": current}
        )
    if assessment is not None and not assessment.is_editable:
        raise ValidationError(
            _("This self-assessment stands as “%(state)s”: it cannot be written until a leader returns it.")
            % {"state": assessment.get_state_display()}
        )


@transaction.atomic
def write_self_assessment(*, integration, task, stage, username, version, completion, account, submit):
    """Save (or submit) the self-assessment of `task` for `stage` for the person named, through
    tasks.services.save_self_assessment; the audit entry it writes names the integration as its
    reason. Bad input raises ValidationError and nothing is saved."""
    if not integration.may_write:
        raise PermissionDenied({"": [_("This integration may only read.")]})
    person = person_for(integration=integration, task=task, username=username)
    _refuse_unless_writable(task=task, stage=stage, version=version)
    if completion is not None:
        completion = Decimal(str(round(completion, 1)))
    return task_services.save_self_assessment(
        task=task, stage=stage, by=person, version=version, completion=completion, account=account, submit=submit,
        reason=through(integration),
    )  # fmt: skip
