"""Signing the head of a tenant's chain and keeping the signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction

from audit.chain import GENESIS_HASH
from audit.models import ChainHead, CheckpointReason, SignedCheckpoint
from audit.signing import Checkpoint, checkpoint_json_lines, load_signing_key, public_key_pem, sign_checkpoint
from tenancy.models import Tenant


def signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key checkpoints are signed with, kept outside the database."""
    return load_signing_key(
        key=getattr(settings, "LANTERN_AUDIT_SIGNING_KEY", ""),
        key_file=getattr(settings, "LANTERN_AUDIT_SIGNING_KEY_FILE", ""),
        key_dir=settings.LANTERN_KEY_DIR,
    )


def trusted_public_keys() -> list[Ed25519PublicKey]:
    """The public keys checkpoints are checked against."""
    return [signing_key().public_key()]


def signing_public_key_pem() -> str:
    """The public key auditors verify checkpoints with, as PEM."""
    return public_key_pem(signing_key())


def as_checkpoint(stored: SignedCheckpoint, *, tenant_slug: str) -> Checkpoint:
    """The signing module's value for a stored checkpoint row."""
    return Checkpoint(
        tenant_id=stored.tenant_id,
        tenant_slug=tenant_slug,
        seq=stored.seq,
        head_hash=stored.head_hash,
        created_at=stored.created_at,
        key_id=stored.key_id,
        signature=stored.signature,
    )


def store_checkpoint(
    *, tenant: Tenant, seq: int, head_hash: str, reason: str, using: str = "default"
) -> SignedCheckpoint:
    """Sign a chain position and store the checkpoint."""
    signed = sign_checkpoint(
        private_key=signing_key(), tenant_id=tenant.pk, tenant_slug=tenant.slug, seq=seq, head_hash=head_hash
    )
    stored = SignedCheckpoint(
        tenant_id=tenant.pk,
        seq=signed.seq,
        head_hash=signed.head_hash,
        created_at=signed.created_at,
        key_id=signed.key_id,
        signature=signed.signature,
        reason=reason,
    )
    stored.save(using=using, force_insert=True)
    return stored


def checkpoint_head(*, tenant: Tenant, reason: str = CheckpointReason.ON_DEMAND) -> SignedCheckpoint | None:
    """Sign the tenant's current chain head; None when the chain is empty or already checkpointed there."""
    with transaction.atomic():
        head = ChainHead.unscoped.filter(tenant_id=tenant.pk).first()
        if head is None or head.seq == 0 or head.hash == GENESIS_HASH:
            return None
        latest = SignedCheckpoint.unscoped.filter(tenant_id=tenant.pk).order_by("-seq").first()
        if latest is not None and latest.seq == head.seq and reason == CheckpointReason.SCHEDULED:
            return None
        return store_checkpoint(tenant=tenant, seq=head.seq, head_hash=head.hash, reason=reason)


def stored_checkpoints(*, tenant: Tenant, using: str = "default") -> list[Checkpoint]:
    """Every checkpoint of the tenant, oldest first."""
    rows = SignedCheckpoint.unscoped.using(using).filter(tenant_id=tenant.pk).order_by("seq", "created_at")
    return [as_checkpoint(row, tenant_slug=tenant.slug) for row in rows]


def checkpoint_export_lines(*, tenant: Tenant) -> Iterator[str]:
    """The tenant's checkpoints as JSON Lines for offline verification."""
    return checkpoint_json_lines(stored_checkpoints(tenant=tenant))
