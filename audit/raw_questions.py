"""Reading the encrypted raw question of an event: auditors only, with a reason, and itself audited."""

from __future__ import annotations

from django.db import transaction

from audit.encryption import decrypt
from audit.log import encryption_keys, record
from audit.models import AuditEvent, EventKind
from tenancy.models import Membership, Role


class RawQuestionDenied(Exception):
    """The reader may not see the raw question, or gave no reason."""


def read_raw_question(*, event: AuditEvent, reader: Membership, reason: str) -> str:
    """Decrypt an event's raw question for an auditor, recording who read it and why first."""
    # Tenant admins pass every other role check; raw questions are for auditors alone.
    if reader.role != Role.AUDITOR or reader.tenant_id != event.tenant_id:
        raise RawQuestionDenied("Only an auditor of this tenant may read raw questions.")
    if not reason.strip():
        raise RawQuestionDenied("Give a reason for reading the raw question.")
    if not event.raw_question_encrypted:
        return ""
    with transaction.atomic():
        record(
            tenant_id=event.tenant_id,
            kind=EventKind.RAW_QUESTION_READ,
            payload={
                "event_seq": event.seq,
                "event_correlation_id": str(event.correlation_id),
                "reason": reason.strip(),
            },
            actor_user_id=reader.user_id,
            actor_username=reader.user.get_username(),
            department_code=reader.department.code,
            channel="web",
        )
        return decrypt(event.raw_question_encrypted, keys=encryption_keys())
