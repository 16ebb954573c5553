"""Re-encrypting stored raw questions with the newest encryption key."""

from __future__ import annotations

from django.db import connections, transaction

from audit.encryption import rotate
from audit.log import encryption_keys
from audit.models import AuditEvent

# Only the table owner may take the trigger's rotation path, and only raw_question_encrypted may change.
ROTATION_DATABASE = "owner"


def rotate_raw_question_keys(*, batch_size: int = 1000) -> int:
    """Re-encrypt every stored raw question with the newest key; returns how many were rewritten."""
    keys = encryption_keys()
    rewritten = 0
    last_id = 0
    while True:
        with transaction.atomic(using=ROTATION_DATABASE):
            batch = list(
                AuditEvent.unscoped.using(ROTATION_DATABASE)
                .filter(id__gt=last_id)
                .exclude(raw_question_encrypted="")
                .order_by("id")
                .values_list("id", "raw_question_encrypted")[:batch_size]
            )
            if not batch:
                return rewritten
            with connections[ROTATION_DATABASE].cursor() as cursor:
                cursor.execute("SELECT set_config('lantern.audit_rotate', 'on', true)")
                cursor.executemany(
                    "UPDATE audit_auditevent SET raw_question_encrypted = %s WHERE id = %s",
                    [(rotate(token, keys=keys), event_id) for event_id, token in batch],
                )
                cursor.execute("SELECT set_config('lantern.audit_rotate', 'off', true)")
            rewritten += len(batch)
            last_id = batch[-1][0]
