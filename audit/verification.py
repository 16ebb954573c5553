"""Walking a tenant's chain against its signed checkpoints and remembering the outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, F, Func, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from audit.chain import BreakKind, ChainBreak, ChainPosition, VerificationResult, canonical_timestamp, verify_chain
from audit.checkpoints import stored_checkpoints, trusted_public_keys
from audit.models import AuditEvent, ChainHead, CheckpointReason, SignedCheckpoint, VerificationRun
from tenancy.models import Tenant

CHAIN_COLUMNS = (
    "tenant_id",
    "seq",
    "prev_hash",
    "hash",
    "occurred_at",
    "kind",
    "correlation_id",
    "actor_user_id",
    "actor_username",
    "department_code",
    "channel",
    "payload",
)


# The time and the correlation id travel as an integer and as text, and are handed over as the canonical
# strings audit.chain writes for them: parsing them into datetime and UUID objects first (Django parses
# timestamps in Python) took more time than hashing the event.
_UNPARSED_COLUMNS = {
    "occurred_us": Func(
        F("occurred_at"),
        template="(extract(epoch FROM %(expressions)s) * 1000000)::bigint",
        output_field=BigIntegerField(),
    ),
    "correlation_text": Cast("correlation_id", TextField()),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def chain_rows(*, tenant_id: int, after_seq: int = 0, using: str = "default") -> Iterator[Mapping[str, Any]]:
    """The tenant's events in sequence order as plain mappings of the chained fields, read in chunks."""
    rows = AuditEvent.unscoped.using(using).filter(tenant_id=tenant_id, seq__gt=after_seq).order_by("seq")
    columns = [column for column in CHAIN_COLUMNS if column not in ("occurred_at", "correlation_id")]
    for row in rows.annotate(**_UNPARSED_COLUMNS).values(*columns, *_UNPARSED_COLUMNS).iterator(chunk_size=5000):
        occurred_us = row.pop("occurred_us")
        row["occurred_at"] = (
            None if occurred_us is None else canonical_timestamp(_EPOCH + timedelta(microseconds=occurred_us))
        )
        row["correlation_id"] = row.pop("correlation_text")
        yield row


def _anchor(*, tenant: Tenant, since: datetime | None) -> ChainPosition | None:
    """Where the walk starts: after the last purge, or after the last checkpoint before `since`."""
    purge = (
        SignedCheckpoint.unscoped.filter(tenant_id=tenant.pk, reason=CheckpointReason.PURGE).order_by("-seq").first()
    )
    anchor = ChainPosition(purge.seq, purge.head_hash) if purge else None
    if since is not None:
        before = AuditEvent.unscoped.filter(tenant_id=tenant.pk, occurred_at__lt=since).order_by("-seq").first()
        if before is not None:
            checkpoint = (
                SignedCheckpoint.unscoped.filter(tenant_id=tenant.pk, seq__lte=before.seq).order_by("-seq").first()
            )
            if checkpoint is not None and (anchor is None or checkpoint.seq > anchor.seq):
                anchor = ChainPosition(checkpoint.seq, checkpoint.head_hash)
    return anchor


def verify_tenant_chain(*, tenant: Tenant, since: datetime | None = None) -> VerificationResult:
    """Verify one tenant's chain (from the last checkpoint before `since` when given) and store the result."""
    started = time.perf_counter()
    with transaction.atomic():
        anchor = _anchor(tenant=tenant, since=since)
        checkpoints = stored_checkpoints(tenant=tenant)
        if anchor is not None:
            checkpoints = [checkpoint for checkpoint in checkpoints if checkpoint.seq >= anchor.seq]
        result = verify_chain(
            chain_rows(tenant_id=tenant.pk, after_seq=anchor.seq if anchor else 0),
            checkpoints=checkpoints,
            trusted_keys=trusted_public_keys(),
            start_after=anchor,
        )
        result = _compare_with_head(result, tenant=tenant)
    record_verification(tenant=tenant, result=result, elapsed_seconds=time.perf_counter() - started)
    return result


def _compare_with_head(result: VerificationResult, *, tenant: Tenant) -> VerificationResult:
    """A chain that verifies must end exactly at the recorded head: short of it lost events, past it gained some."""
    head = ChainHead.unscoped.filter(tenant_id=tenant.pk).first()
    head_seq = head.seq if head else 0
    if not result.ok or head_seq == result.last_seq:
        return result
    if head_seq > result.last_seq:
        problem = ChainBreak(
            result.last_seq + 1,
            BreakKind.TRUNCATED,
            f"the chain ends at seq {result.last_seq} but its head records seq {head_seq}: events "
            f"{result.last_seq + 1} to {head_seq} were removed",
        )
    else:
        problem = ChainBreak(
            head_seq + 1,
            BreakKind.INSERTED,
            f"events {head_seq + 1} to {result.last_seq} were added past the recorded head (seq {head_seq}) "
            "without going through the log",
        )
    return VerificationResult(
        ok=False,
        events_checked=result.events_checked,
        last_seq=result.last_seq,
        last_hash=result.last_hash,
        checkpoints_matched=result.checkpoints_matched,
        first_break=problem,
    )


def record_verification(*, tenant: Tenant, result: VerificationResult, elapsed_seconds: float) -> VerificationRun:
    """Store a verification outcome for the tenant's status page."""
    problem = result.first_break
    return VerificationRun.unscoped.create(
        tenant_id=tenant.pk,
        finished_at=timezone.now(),
        ok=result.ok,
        events_checked=result.events_checked,
        last_seq=result.last_seq,
        checkpoints_matched=result.checkpoints_matched,
        break_seq=problem.seq if problem else None,
        break_kind=str(problem.kind) if problem else "",
        break_message=problem.message if problem else "",
        elapsed_seconds=elapsed_seconds,
    )


def latest_verification(*, tenant_id: int) -> VerificationRun | None:
    """The last stored verification of the tenant's chain."""
    return VerificationRun.unscoped.filter(tenant_id=tenant_id).order_by("-finished_at").first()
