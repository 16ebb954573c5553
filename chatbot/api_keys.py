"""Personal API keys: created and shown once, stored as a SHA-256, revoked by their owner.

A key reads `lantern-<user id>-<secret>`: the user id lets the request find its tenant first, so the key is
then looked up inside that tenant's row-level security like every other row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from chatbot.models import ApiKey
from tenancy.context import tenant_context
from tenancy.middleware import tenant_id_for_user
from tenancy.models import Membership

KEY_PREFIX = "lantern"
MAX_USER_ID = 2**63 - 1  # PostgreSQL's bigint
# "Last used" is shown to the minute: a busy key writes it once a minute, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: the only moment its secret is known."""

    api_key: ApiKey
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, membership: Membership, name: str) -> NewApiKey:
    """Create a key for the member; the returned secret is never shown again."""
    secret = f"{KEY_PREFIX}-{membership.user_id}-{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant_id=membership.tenant_id,
        user_id=membership.user_id,
        name=(name.strip() or "API key")[:100],
        prefix=secret[: len(KEY_PREFIX) + len(str(membership.user_id)) + 8],
        secret_hash=_hash(secret),
    )
    return NewApiKey(api_key=api_key, secret=secret)


def revoke_api_key(*, membership: Membership, api_key_id: int) -> bool:
    """Revoke one of the member's own keys; False when there is no such key."""
    revoked = ApiKey.objects.filter(pk=api_key_id, user_id=membership.user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return bool(revoked)


def membership_for_api_key(secret: str) -> Membership | None:
    """The member a live key belongs to, or None; records when the key was last used."""
    parts = secret.split("-", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1].isdecimal():
        return None
    user_id = int(parts[1])
    if user_id > MAX_USER_ID:
        return None
    tenant_id = tenant_id_for_user(user_id)
    if tenant_id is None:
        return None
    with tenant_context(tenant_id):
        api_key = ApiKey.objects.filter(user_id=user_id, secret_hash=_hash(secret), revoked_at__isnull=True).first()
        if api_key is None:
            return None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return Membership.objects.select_related("tenant", "department", "user").get(user_id=user_id)
