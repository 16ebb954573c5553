"""The append-only, hash-chained audit log: one chain per tenant."""

from __future__ import annotations

import uuid

from django.db import models

from tenancy.models import Tenant, TenantOwnedModel


class EventKind(models.TextChoices):
    QUESTION = "question", "Question"
    FAQ_PUBLISHED = "faq_published", "FAQ entry published"
    FAQ_ARCHIVED = "faq_archived", "FAQ entry archived"
    POLICY_CHANGED = "policy_changed", "Policy changed"
    BUDGET_EXCEEDED = "budget_exceeded", "Budget exceeded"
    RAW_QUESTION_READ = "raw_question_read", "Raw question read"
    EXPORT_MADE = "export_made", "Export made"
    MEMBER_ROLE_CHANGED = "member_role_changed", "Member role changed"
    LOGIN_FAILED = "login_failed", "Login failed"


class AuditEvent(TenantOwnedModel):
    """One event; `hash` = sha256(canonical fields || prev_hash). Rows cannot be updated or deleted."""

    # Every index here starts with the tenant: one on the tenant alone would only slow each append down.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    correlation_id = models.UUIDField(default=uuid.uuid4)
    actor_user_id = models.BigIntegerField(null=True)
    actor_username = models.CharField(max_length=150, blank=True)
    department_code = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(default=dict)
    # Outside the hash, so the encryption key can be rotated without rewriting the chain.
    raw_question_encrypted = models.TextField(blank=True)

    class Meta:
        ordering = ["tenant_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["tenant", "seq"], name="audit_seq_unique_per_tenant")]
        indexes = [
            models.Index(fields=["tenant", "occurred_at"], name="audit_tenant_time"),
            models.Index(fields=["correlation_id"], name="audit_correlation"),
            # The auditor's usual filters: one department or one user over a time range.
            models.Index(fields=["tenant", "department_code", "occurred_at"], name="audit_tenant_dept_time"),
            models.Index(fields=["tenant", "actor_username", "occurred_at"], name="audit_tenant_user_time"),
            models.Index(fields=["tenant", "kind", "occurred_at"], name="audit_tenant_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq}"

    @property
    def route(self) -> str:
        return self.payload.get("route", "") if isinstance(self.payload, dict) else ""

    def chain_fields(self) -> dict:
        """Everything the hash covers: every stored field but the hash itself and the row id."""
        return {
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "occurred_at": self.occurred_at,
            "kind": self.kind,
            "correlation_id": self.correlation_id,
            "actor_user_id": self.actor_user_id,
            "actor_username": self.actor_username,
            "department_code": self.department_code,
            "channel": self.channel,
            "payload": self.payload,
        }


class ChainHead(TenantOwnedModel):
    """The last sequence number and hash of a tenant's chain; locked while an event is appended."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    # The hash before the last append: an UPDATE returns only new values, and the appended event needs it.
    prev_hash = models.CharField(max_length=64, db_default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="audit_one_head_per_tenant")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class CheckpointReason(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ON_DEMAND = "on_demand", "On demand"
    PURGE = "purge", "Before a retention purge"


class SignedCheckpoint(TenantOwnedModel):
    """A signed statement of the chain head, kept so verification and offline exports can check against it."""

    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.TextField()
    reason = models.CharField(max_length=20, choices=CheckpointReason.choices, default=CheckpointReason.ON_DEMAND)

    class Meta:
        ordering = ["tenant_id", "seq", "created_at"]
        indexes = [models.Index(fields=["tenant", "seq"], name="audit_checkpoint_seq")]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


class VerificationRun(TenantOwnedModel):
    """The outcome of one walk of a tenant's chain; the latest is shown to auditors."""

    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    events_checked = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    checkpoints_matched = models.IntegerField()
    break_seq = models.BigIntegerField(null=True)
    break_kind = models.CharField(max_length=40, blank=True)
    break_message = models.TextField(blank=True)
    elapsed_seconds = models.FloatField()

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["tenant", "finished_at"], name="audit_verification_time")]

    def __str__(self) -> str:
        return f"verification {'ok' if self.ok else self.break_kind} at {self.finished_at:%Y-%m-%d %H:%M}"


class RetentionPolicy(TenantOwnedModel):
    """How long a tenant keeps audit events before the purge command may remove them (0 keeps them forever)."""

    retention_days = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="audit_one_retention_per_tenant")]

    def __str__(self) -> str:
        return f"keep {self.retention_days} days"
