"""Writes of the API: issuing a token, and a self-assessment written through an integration for a
person, by the same service the self-assessment page calls (every rule of it holds)."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tasks import access as task_access
from tasks import services as task_services
from tasks.audit import record_audit
from tasks.models import AuditEntry, SelfAssessment, User

from .models import hash_token, new_token


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


@transaction.atomic
def write_self_assessment(*, integration, task, stage, username, version, completion, account, submit):
    """Save (or submit) the self-assessment of `task` for `stage` for the person named, through
    tasks.services.save_self_assessment; the audit entry it writes names the integration. Bad
    input raises ValidationError and nothing is saved."""
    if not integration.may_write:
        raise PermissionDenied({"": [_("This integration may only read.")]})
    person = person_for(integration=integration, task=task, username=username)
    # Lock the assessment first: then the entries written for it after `last` are this write's.
    list(SelfAssessment.objects.select_for_update().filter(task=task, stage=stage).values_list("pk", flat=True))
    last = AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0
    if completion is not None:
        completion = Decimal(str(round(completion, 1)))
    assessment = task_services.save_self_assessment(
        task=task, stage=stage, by=person, version=version, completion=completion, account=account, submit=submit
    )
    AuditEntry.objects.filter(pk__gt=last, subject_type="selfassessment", subject_id=assessment.pk).update(
        reason=through(integration)
    )
    return assessment
