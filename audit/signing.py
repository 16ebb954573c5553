"""Signed checkpoints of audit chains, with a key kept outside the database, and offline verification.

A checkpoint says "tenant T's chain had hash H at seq N", signed with Ed25519, like CloudTrail digest
files: someone who can rewrite the database and recompute every hash still cannot forge a checkpoint, so
a rewritten tail shows up as a checkpoint mismatch.

The signed bytes are ``canonical_json`` (see ``audit.chain``) of::

    {"format": "lantern-audit-checkpoint/1", "tenant_id": …, "tenant_slug": …, "seq": …,
     "head_hash": …, "created_at": "…Z", "key_id": …}

A key id is the first 16 hex characters of sha256 over the raw 32-byte public key. Checkpoint exports are
JSON Lines of exactly those fields plus ``signature`` (standard base64 of the 64-byte signature); with the
public key PEM that is everything an auditor needs to verify offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.chain import ChainPosition, VerificationResult, canonical_json, canonical_timestamp, verify_chain

CHECKPOINT_FORMAT = "lantern-audit-checkpoint/1"
DEFAULT_SIGNING_KEY_FILENAME = "audit-signing.key"


class SigningKeyError(ValueError):
    """A signing or public key that cannot be read."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of a tenant's chain head: at seq, the chain's hash was head_hash."""

    tenant_id: int
    tenant_slug: str
    seq: int
    head_hash: str
    created_at: datetime
    key_id: str
    signature: str  # standard base64 of the Ed25519 signature over signed_bytes()

    @property
    def position(self) -> ChainPosition:
        """The chain position this checkpoint vouches for, e.g. as start_after past a purge."""
        return ChainPosition(self.seq, self.head_hash)

    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers."""
        return canonical_json(
            {
                "format": CHECKPOINT_FORMAT,
                "tenant_id": self.tenant_id,
                "tenant_slug": self.tenant_slug,
                "seq": self.seq,
                "head_hash": self.head_hash,
                "created_at": self.created_at,
                "key_id": self.key_id,
            }
        )

    def signature_problem(self, public_keys: Iterable[Ed25519PublicKey]) -> str | None:
        """Why this checkpoint cannot be trusted with these public keys, or None when it can."""
        trusted = {key_id(public_key): public_key for public_key in public_keys}
        public_key = trusted.get(self.key_id)
        if public_key is None:
            return (
                f"the checkpoint for seq {self.seq} is signed with key {self.key_id}, which is not trusted "
                f"(trusted: {', '.join(sorted(trusted)) or 'none'})"
            )
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), self.signed_bytes())
        except (InvalidSignature, binascii.Error, ValueError):
            return (
                f"the checkpoint for seq {self.seq} does not match its signature by key {self.key_id}: "
                "it was altered after signing"
            )
        return None

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as plain JSON values, for an export line."""
        return {
            "format": CHECKPOINT_FORMAT,
            "tenant_id": self.tenant_id,
            "tenant_slug": self.tenant_slug,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "created_at": canonical_timestamp(self.created_at),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> Checkpoint:
        """A checkpoint read back from to_json()."""
        if values.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a {CHECKPOINT_FORMAT} checkpoint: format {values.get('format')!r}")
        return cls(
            tenant_id=values["tenant_id"],
            tenant_slug=values["tenant_slug"],
            seq=values["seq"],
            head_hash=values["head_hash"],
            created_at=datetime.fromisoformat(values["created_at"]),
            key_id=values["key_id"],
            signature=values["signature"],
        )


def key_id(public_key: Ed25519PublicKey) -> str:
    """The short name of a public key: the first 16 hex characters of sha256 over its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_checkpoint(
    *,
    private_key: Ed25519PrivateKey,
    tenant_id: int,
    tenant_slug: str,
    seq: int,
    head_hash: str,
    created_at: datetime | None = None,
) -> Checkpoint:
    """Sign the head of a tenant's chain."""
    unsigned = Checkpoint(
        tenant_id=tenant_id,
        tenant_slug=tenant_slug,
        seq=seq,
        head_hash=head_hash,
        created_at=created_at or datetime.now(UTC),
        key_id=key_id(private_key.public_key()),
        signature="",
    )
    signature = private_key.sign(unsigned.signed_bytes())
    return replace(unsigned, signature=base64.b64encode(signature).decode("ascii"))


def verify_checkpoint(checkpoint: Checkpoint, public_keys: Iterable[Ed25519PublicKey]) -> bool:
    """Whether the checkpoint is signed by one of the trusted public keys and unaltered."""
    return checkpoint.signature_problem(public_keys) is None


def read_or_create_key_file(path: Path, create_key: Callable[[], bytes]) -> bytes:
    """The contents of a key file, first created with 0600 permissions if missing; safe when racing."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(create_key())
            key_file.flush()
            os.fsync(key_file.fileno())
        # link() never replaces an existing file: when two processes race, both end up with the winner's key.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def load_private_key(text: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PKCS#8 PEM or from base64 of its raw 32 bytes."""
    text = text.encode("ascii", "replace") if isinstance(text, str) else text
    text = text.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as error:
            raise SigningKeyError(f"the audit signing key PEM cannot be read: {error}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"the audit signing key must be Ed25519, not {type(key).__name__}")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw_key_bytes(text, "private"))


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM or from base64 of its raw 32 bytes."""
    text = text.encode("ascii", "replace") if isinstance(text, str) else text
    text = text.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError as error:
            raise SigningKeyError(f"the audit public key PEM cannot be read: {error}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"the audit public key must be Ed25519, not {type(key).__name__}")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw_key_bytes(text, "public"))


def _raw_key_bytes(text: bytes, which: str) -> bytes:
    """The 32 raw key bytes behind standard or URL-safe base64."""
    try:
        raw = base64.b64decode(text.replace(b"-", b"+").replace(b"_", b"/"), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise SigningKeyError(
            f"the audit {which} key must be a PEM or base64 of 32 raw Ed25519 bytes (got {len(text)} characters)"
        )
    return raw


def load_signing_key(
    *, key: str = "", key_file: str | os.PathLike[str] = "", key_dir: Path | None = None
) -> Ed25519PrivateKey:
    """The checkpoint signing key: given directly, read from a file, or generated once under key_dir."""
    if key:
        return load_private_key(key)
    if key_file:
        try:
            return load_private_key(Path(key_file).read_bytes())
        except OSError as error:
            raise SigningKeyError(f"the audit signing key file cannot be read: {error}") from None
    if key_dir is None:
        raise SigningKeyError("no audit signing key: set LANTERN_AUDIT_SIGNING_KEY or LANTERN_AUDIT_SIGNING_KEY_FILE")
    return load_private_key(read_or_create_key_file(Path(key_dir) / DEFAULT_SIGNING_KEY_FILENAME, _new_key_pem))


def signing_key_from_environment(environ: Mapping[str, str], *, key_dir: Path | None = None) -> Ed25519PrivateKey:
    """The key named by LANTERN_AUDIT_SIGNING_KEY or LANTERN_AUDIT_SIGNING_KEY_FILE, else the default."""
    return load_signing_key(
        key=environ.get("LANTERN_AUDIT_SIGNING_KEY", ""),
        key_file=environ.get("LANTERN_AUDIT_SIGNING_KEY_FILE", ""),
        key_dir=key_dir,
    )


def _new_key_pem() -> bytes:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM."""
    return private_key_pem(Ed25519PrivateKey.generate()).encode("ascii")


def private_key_pem(private_key: Ed25519PrivateKey) -> str:
    """A private key as unencrypted PKCS#8 PEM, the form LANTERN_AUDIT_SIGNING_KEY accepts."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half of a key as PEM, to hand to auditors."""
    public_key = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def checkpoint_json_lines(checkpoints: Iterable[Checkpoint]) -> Iterator[str]:
    """Checkpoints as JSON Lines, each line self-contained for offline verification."""
    for checkpoint in checkpoints:
        yield canonical_json(checkpoint.to_json()).decode("utf-8") + "\n"


def read_checkpoints(source: str | os.PathLike[str] | Iterable[str]) -> list[Checkpoint]:
    """Checkpoints from a JSON Lines file path or from its lines."""
    lines = _lines(source) if isinstance(source, str | os.PathLike) else source
    return [Checkpoint.from_json(json.loads(line)) for line in lines if line.strip()]


def _lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """The lines of a UTF-8 text file, read lazily."""
    with open(path, encoding="utf-8") as text_file:
        yield from text_file


def verify_export(
    events: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    checkpoints: str | os.PathLike[str] | Iterable[Checkpoint],
    public_key_pems: str | Iterable[str],
) -> VerificationResult:
    """Verify an exported chain offline: events JSON Lines (or mappings), checkpoints, trusted public keys.

    An export that starts after a purged prefix is anchored on the checkpoint just before its first event.
    """
    if isinstance(events, str | os.PathLike):
        events = (json.loads(line) for line in _lines(events) if line.strip())
    if isinstance(checkpoints, str | os.PathLike):
        checkpoints = read_checkpoints(checkpoints)
    checkpoints = list(checkpoints)
    pems = [public_key_pems] if isinstance(public_key_pems, str) else list(public_key_pems)
    trusted_keys = [load_public_key(pem) for pem in pems]

    stream = iter(events)
    first = next(stream, None)
    start_after = None
    if first is not None and isinstance(first.get("seq"), int) and first["seq"] > 1:
        start_after = next(
            (checkpoint.position for checkpoint in checkpoints if checkpoint.seq == first["seq"] - 1), None
        )
    remaining = stream if first is None else _prepend(first, stream)
    return verify_chain(remaining, checkpoints=checkpoints, trusted_keys=trusted_keys, start_after=start_after)


def _prepend(first: Mapping[str, Any], rest: Iterator[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """The stream again with its first item put back."""
    yield first
    yield from rest
