"""The append-only, hash-chained audit log: one chain per tenant."""

from __future__ import annotations

import uuid

from django.db import models

from tenancy.models import TenantOwnedModel


class EventKind(models.TextChoices):
    QUESTION = "question", "Question"


class AuditEvent(TenantOwnedModel):
    """One event; `hash` = sha256(canonical fields || prev_hash). Rows cannot be updated or deleted."""

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
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq}"

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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="audit_one_head_per_tenant")]

    def __str__(self) -> str:
        return f"head #{self.seq}"
