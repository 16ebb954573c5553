"""Appending events to a tenant's audit chain."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, positioned_hash, positionless_prefix
from audit.encryption import encrypt, load_encryption_keys
from audit.models import AuditEvent


def encryption_keys() -> tuple[str, ...]:
    """The configured Fernet keys, newest first (a key generated under var/keys/ on a laptop)."""
    return _loaded_keys(tuple(settings.LANTERN_AUDIT_ENCRYPTION_KEYS), settings.LANTERN_KEY_DIR)


@functools.lru_cache(maxsize=8)
def _loaded_keys(configured: tuple[str, ...], key_dir: Path | None) -> tuple[str, ...]:
    """Keys read once per process, as settings are: a changed key takes a restart either way."""
    return load_encryption_keys(configured, key_dir=key_dir)


_START_CHAIN = (
    "INSERT INTO audit_chainhead (tenant_id, seq, hash) VALUES (%s, 0, %s) ON CONFLICT (tenant_id) DO NOTHING"
)

# One statement takes the tenant's chain head (its row lock serializes the writers until they commit),
# advances it, finishes the hash and inserts the event. The database appends the position tail exactly as
# audit.chain.chain_position_tail writes it, then prev_hash (see audit.chain for the definition); every
# SET expression reads the head as it was, so prev_hash takes the old hash.
_APPEND = """
    WITH head AS (
        UPDATE audit_chainhead
        SET seq = seq + 1,
            prev_hash = hash,
            hash = encode(sha256(%(prefix)s || convert_to(
                ',"prev_hash":"' || hash || '","seq":' || (seq + 1) || ',"tenant_id":' || tenant_id || '}' || hash,
                'UTF8')), 'hex')
        WHERE tenant_id = %(tenant_id)s
        RETURNING seq, prev_hash, hash
    )
    INSERT INTO audit_auditevent (tenant_id, seq, prev_hash, hash, occurred_at, kind, correlation_id, actor_user_id,
        actor_username, department_code, channel, payload, raw_question_encrypted)
    SELECT %(tenant_id)s, head.seq, head.prev_hash, head.hash, %(occurred_at)s, %(kind)s, %(correlation_id)s,
        %(actor_user_id)s, %(actor_username)s, %(department_code)s, %(channel)s, %(payload)s::jsonb,
        %(raw_question_encrypted)s
    FROM head
    RETURNING id, seq, prev_hash, hash
"""


def _server_bound_cursor() -> psycopg.Cursor:
    """A cursor on Django's connection that sends parameters apart from the statement, so psycopg prepares the
    append once a connection has run it a few times and PostgreSQL stops planning it for every event."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _append(event: AuditEvent) -> None:
    """Give the event its place in the chain and insert it, holding the chain head until the transaction ends."""
    prefix = positionless_prefix(event.chain_fields())
    parameters = {
        "prefix": prefix,
        "tenant_id": event.tenant_id,
        "occurred_at": event.occurred_at,
        "kind": event.kind,
        "correlation_id": event.correlation_id,
        "actor_user_id": event.actor_user_id,
        "actor_username": event.actor_username,
        "department_code": event.department_code,
        "channel": event.channel,
        "payload": json.dumps(event.payload),
        "raw_question_encrypted": event.raw_question_encrypted,
    }
    with _server_bound_cursor() as cursor:
        cursor.execute(_APPEND, parameters)
        row = cursor.fetchone()
        if row is None:  # the tenant's first event
            cursor.execute(_START_CHAIN, [event.tenant_id, GENESIS_HASH])
            cursor.execute(_APPEND, parameters)
            row = cursor.fetchone()
    event.pk, event.seq, event.prev_hash, event.hash = row
    if event.hash != positioned_hash(prefix, event.prev_hash, event.seq, event.tenant_id):
        raise RuntimeError("the database hashed an audit event differently from audit.chain")


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

    Everything that does not depend on the previous event (encryption, serialization) is done before the
    chain head is locked: concurrent writers of one tenant wait on that lock, which is taken by the one
    statement that appends the event and held until the caller's transaction ends."""
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
        _append(event)
    event._state.adding = False
    return event
