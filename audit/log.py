"""Appending events to a tenant's audit chain."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, link_hash
from audit.encryption import encrypt, load_encryption_keys
from audit.models import AuditEvent, ChainHead


def encryption_keys() -> tuple[str, ...]:
    """The configured Fernet keys, newest first (a key generated under var/keys/ on a laptop)."""
    return load_encryption_keys(settings.LANTERN_AUDIT_ENCRYPTION_KEYS, key_dir=settings.LANTERN_KEY_DIR)


def _locked_head(tenant_id: int) -> ChainHead:
    """The tenant's chain head, locked until the transaction ends so sequence numbers never collide or skip."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_chainhead (tenant_id, seq, hash) VALUES (%s, 0, %s) ON CONFLICT (tenant_id) DO NOTHING",
            [tenant_id, GENESIS_HASH],
        )
    return ChainHead.unscoped.select_for_update().get(tenant_id=tenant_id)


def record(
    *,
    tenant_id: int,
    kind: str,
    payload: Mapping[str, Any],
    actor_user_id: int | None = None,
    actor_username: str = "",
    department_code: str = "",
    channel: str = "",
    correlation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    raw_question: str = "",
) -> AuditEvent:
    """Append one event to the tenant's chain, inside the caller's transaction."""
    with transaction.atomic():
        head = _locked_head(tenant_id)
        event = AuditEvent(
            tenant_id=tenant_id,
            seq=head.seq + 1,
            prev_hash=head.hash,
            occurred_at=occurred_at or timezone.now(),
            kind=kind,
            correlation_id=correlation_id or uuid.uuid4(),
            actor_user_id=actor_user_id,
            actor_username=actor_username,
            department_code=department_code,
            channel=channel,
            payload=dict(payload),
            raw_question_encrypted=encrypt(raw_question, keys=encryption_keys()) if raw_question else "",
        )
        event.hash = link_hash(event.chain_fields(), event.prev_hash)
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event
