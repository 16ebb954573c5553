"""The retention purge: old events leave the database only behind a signed checkpoint covering them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile

from django.db import connections, transaction
from django.utils import timezone

from audit.chain import ChainPosition, verify_chain
from audit.checkpoints import store_checkpoint, trusted_public_keys
from audit.models import AuditEvent, CheckpointReason, RetentionPolicy, SignedCheckpoint
from audit.verification import chain_rows
from tenancy.models import Tenant

# The purge deletes as the table owner: the application role can never pass the trigger's purge path.
PURGE_DATABASE = "owner"


class PurgeRefusedError(Exception):
    """The purge would hide a broken chain, so nothing was deleted."""


@dataclass(frozen=True)
class PurgeOutcome:
    """What a purge removed, and the checkpoint that now anchors the chain."""

    tenant_slug: str
    events_deleted: int
    through_seq: int
    checkpoint_id: int | None


def retention_cutoff(*, tenant: Tenant, now: datetime | None = None) -> datetime | None:
    """The moment before which the tenant's events may be purged, or None when it keeps them forever."""
    policy = RetentionPolicy.unscoped.using(PURGE_DATABASE).filter(tenant_id=tenant.pk).first()
    if policy is None or policy.retention_days == 0:
        return None
    return (now or timezone.now()) - timedelta(days=policy.retention_days)


def set_retention(*, tenant: Tenant, retention_days: int) -> RetentionPolicy:
    """Set how many days the tenant keeps audit events (0 for ever)."""
    policy, _ = RetentionPolicy.unscoped.update_or_create(
        tenant_id=tenant.pk, defaults={"retention_days": retention_days}
    )
    return policy


def purge_expired_events(*, tenant: Tenant, before: datetime) -> PurgeOutcome:
    """Checkpoint, then delete the tenant's oldest events up to the first one recorded at or after `before`."""
    with transaction.atomic(using=PURGE_DATABASE):
        events = AuditEvent.unscoped.using(PURGE_DATABASE).filter(tenant_id=tenant.pk)
        last_purge = (
            SignedCheckpoint.unscoped.using(PURGE_DATABASE)
            .filter(tenant_id=tenant.pk, reason=CheckpointReason.PURGE)
            .order_by("-seq")
            .first()
        )
        anchor = ChainPosition(last_purge.seq, last_purge.head_hash) if last_purge else None
        first_kept = events.filter(occurred_at__gte=before).order_by("seq").values_list("seq", flat=True).first()
        through_seq = (
            first_kept - 1 if first_kept is not None else events.order_by("-seq").values_list("seq", flat=True).first()
        )
        if through_seq is None or through_seq <= (anchor.seq if anchor else 0):
            return PurgeOutcome(tenant.slug, 0, anchor.seq if anchor else 0, None)
        prefix = takewhile(
            lambda row: row["seq"] <= through_seq,
            chain_rows(tenant_id=tenant.pk, after_seq=anchor.seq if anchor else 0, using=PURGE_DATABASE),
        )
        result = verify_chain(prefix, trusted_keys=trusted_public_keys(), start_after=anchor)
        if not result.ok or result.last_seq != through_seq:
            problem = result.first_break.message if result.first_break else f"the chain stops at {result.last_seq}"
            raise PurgeRefusedError(f"{tenant.slug}: the events to purge do not verify: {problem}")
        checkpoint = store_checkpoint(
            tenant=tenant,
            seq=through_seq,
            head_hash=result.last_hash,
            reason=CheckpointReason.PURGE,
            using=PURGE_DATABASE,
        )
        with connections[PURGE_DATABASE].cursor() as cursor:
            cursor.execute("SELECT set_config('lantern.audit_purge', 'on', true)")
            cursor.execute("DELETE FROM audit_auditevent WHERE tenant_id = %s AND seq <= %s", [tenant.pk, through_seq])
            deleted = cursor.rowcount
            cursor.execute("SELECT set_config('lantern.audit_purge', 'off', true)")
    return PurgeOutcome(tenant.slug, deleted, through_seq, checkpoint.pk)
