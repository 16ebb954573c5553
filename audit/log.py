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
from audit.models import AuditEvent


def encryption_keys() -> tuple[str, ...]:
    """The configured Fernet keys, newest first (a key generated under var/keys/ on a laptop)."""
    return load_encryption_keys(settings.LANTERN_AUDIT_ENCRYPTION_KEYS, key_dir=settings.LANTERN_KEY_DIR)


_ADVANCE_HEAD = "UPDATE audit_chainhead SET seq = seq + 1 WHERE tenant_id = %s RETURNING seq, hash"
_START_CHAIN = (
    "INSERT INTO audit_chainhead (tenant_id, seq, hash) VALUES (%s, 0, %s) ON CONFLICT (tenant_id) DO NOTHING"
)
_SET_HEAD_HASH = "UPDATE audit_chainhead SET hash = %s WHERE tenant_id = %s"


def _advance_head(tenant_id: int) -> tuple[int, str]:
    """The next sequence number and the previous hash, with the tenant's chain head locked until the
    transaction ends, so sequence numbers never collide or skip."""
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE_HEAD, [tenant_id])
        row = cursor.fetchone()
        if row is None:  # the tenant's first event
            cursor.execute(_START_CHAIN, [tenant_id, GENESIS_HASH])
            cursor.execute(_ADVANCE_HEAD, [tenant_id])
            row = cursor.fetchone()
    return row[0], row[1]


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
    """Append one event to the tenant's chain, inside the caller's transaction.

    Everything that does not depend on the previous event (encryption above all) is done before the chain
    head is locked: concurrent writers of one tenant wait on that lock, so it is held for three statements."""
    event = AuditEvent(
        tenant_id=tenant_id,
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
    # No savepoint: an event that cannot be written must fail the whole transaction it belongs to.
    with transaction.atomic(savepoint=False):
        event.seq, event.prev_hash = _advance_head(tenant_id)
        event.hash = link_hash(event.chain_fields(), event.prev_hash)
        event.save(force_insert=True)
        with connection.cursor() as cursor:
            cursor.execute(_SET_HEAD_HASH, [event.hash, tenant_id])
    return event
