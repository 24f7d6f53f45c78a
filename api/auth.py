"""Token authentication: `Authorization: Bearer <token>` names an active integration account."""

import datetime

from django.utils import timezone
from ninja.security import HttpBearer

from .models import IntegrationAccount, hash_token

# "Last used" is written at most this often per account, not on every request.
LAST_USED_EVERY = datetime.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        if not token or len(token) > 200:
            return None
        integration = IntegrationAccount.objects.filter(token_hash=hash_token(token), is_active=True).first()
        if integration is None:
            return None
        now = timezone.now()
        if integration.last_used_at is None or now - integration.last_used_at >= LAST_USED_EVERY:
            IntegrationAccount.objects.filter(pk=integration.pk).update(last_used_at=now)
            integration.last_used_at = now
        return integration
