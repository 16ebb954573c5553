"""Signed checkpoints: keys kept outside the database, rotation, and an auditor's offline verification."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import GENESIS_HASH, BreakKind, event_json_line, link_hash, verify_chain
from audit.signing import (
    SigningKeyError,
    checkpoint_json_lines,
    key_id,
    load_signing_key,
    private_key_pem,
    public_key_pem,
    read_checkpoints,
    sign_checkpoint,
    signing_key_from_environment,
    verify_checkpoint,
    verify_export,
)

ACME = 1


def build_chain(count: int) -> list[dict[str, Any]]:
    """A valid chain of small question events for acme."""
    events: list[dict[str, Any]] = []
    prev_hash = GENESIS_HASH
    for seq in range(1, count + 1):
        event = {
            "tenant_id": ACME,
            "seq": seq,
            "prev_hash": prev_hash,
            "occurred_at": datetime(2025, 3, 1, 9, seq, tzinfo=UTC),
            "kind": "question",
            "payload": {"question_redacted": f"特休假 #{seq}", "reasons": ["faq_match:0.91"]},
        }
        event["hash"] = prev_hash = link_hash(event, prev_hash)
        events.append(event)
    return events


def sign_head(private_key: Ed25519PrivateKey, events: list[dict[str, Any]], seq: int):
    """A checkpoint of acme's chain at seq."""
    return sign_checkpoint(
        private_key=private_key,
        tenant_id=ACME,
        tenant_slug="acme",
        seq=seq,
        head_hash=events[seq - 1]["hash"],
    )


def test_a_signed_checkpoint_verifies_with_its_public_key():
    private_key = Ed25519PrivateKey.generate()

    checkpoint = sign_head(private_key, build_chain(3), 3)

    assert verify_checkpoint(checkpoint, [private_key.public_key()])
    assert checkpoint.key_id == key_id(private_key.public_key())


def test_a_key_id_is_the_first_16_hex_of_sha256_of_the_raw_public_key():
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    assert key_id(private_key.public_key()) == hashlib.sha256(raw).hexdigest()[:16]


def test_any_change_to_a_checkpoint_breaks_its_signature():
    private_key = Ed25519PrivateKey.generate()
    checkpoint = sign_head(private_key, build_chain(3), 3)
    trusted = [private_key.public_key()]

    assert not verify_checkpoint(replace(checkpoint, seq=2), trusted)
    assert not verify_checkpoint(replace(checkpoint, head_hash="0" * 64), trusted)
    assert not verify_checkpoint(replace(checkpoint, tenant_id=2), trusted)
    assert not verify_checkpoint(replace(checkpoint, signature="not base64!"), trusted)


def test_a_checkpoint_from_an_untrusted_key_does_not_verify():
    checkpoint = sign_head(Ed25519PrivateKey.generate(), build_chain(3), 3)

    assert not verify_checkpoint(checkpoint, [Ed25519PrivateKey.generate().public_key()])
    assert not verify_checkpoint(checkpoint, [])


def test_after_a_key_rotation_old_checkpoints_verify_while_the_old_public_key_stays_trusted():
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    events = build_chain(20)
    checkpoints = [sign_head(old_key, events, 10), sign_head(new_key, events, 20)]

    both_trusted = verify_chain(
        events, checkpoints=checkpoints, trusted_keys=[new_key.public_key(), old_key.public_key()]
    )
    old_retired = verify_chain(events, checkpoints=checkpoints, trusted_keys=[new_key.public_key()])

    assert both_trusted.ok and both_trusted.checkpoints_matched == 2
    assert (old_retired.first_break.kind, old_retired.first_break.seq) == (
        BreakKind.CHECKPOINT_BAD_SIGNATURE,
        10,
    )


def test_an_auditor_can_check_a_signature_from_the_documented_format_alone():
    private_key = Ed25519PrivateKey.generate()
    line = next(checkpoint_json_lines([sign_head(private_key, build_chain(2), 2)]))
    exported = json.loads(line)
    signed = {key: value for key, value in exported.items() if key != "signature"}
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    private_key.public_key().verify(base64.b64decode(exported["signature"]), message)
    with pytest.raises(InvalidSignature):
        private_key.public_key().verify(
            base64.b64decode(exported["signature"]), message.replace(b'"seq":2', b'"seq":3')
        )


def test_checkpoints_survive_a_json_lines_round_trip(tmp_path: Path):
    private_key = Ed25519PrivateKey.generate()
    events = build_chain(4)
    checkpoints = [sign_head(private_key, events, 2), sign_head(private_key, events, 4)]
    path = tmp_path / "checkpoints.jsonl"
    path.write_text("".join(checkpoint_json_lines(checkpoints)), encoding="utf-8")

    read_back = read_checkpoints(path)

    assert read_back == checkpoints
    assert all(verify_checkpoint(checkpoint, [private_key.public_key()]) for checkpoint in read_back)


def test_the_signing_key_can_be_a_pem_or_base64_of_its_raw_bytes():
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )

    from_pem = load_signing_key(key=private_key_pem(private_key))
    from_base64 = load_signing_key(key=base64.b64encode(raw).decode())

    assert key_id(from_pem.public_key()) == key_id(from_base64.public_key()) == key_id(private_key.public_key())


def test_the_signing_key_can_come_from_a_file_named_in_the_environment(tmp_path: Path):
    private_key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing.pem"
    key_file.write_text(private_key_pem(private_key))

    loaded = signing_key_from_environment({"LANTERN_AUDIT_SIGNING_KEY_FILE": str(key_file)}, key_dir=tmp_path)

    assert key_id(loaded.public_key()) == key_id(private_key.public_key())
    assert not (tmp_path / "audit-signing.key").exists()


def test_a_malformed_signing_key_gives_a_clear_error():
    with pytest.raises(SigningKeyError, match="PEM or base64 of 32 raw Ed25519 bytes"):
        load_signing_key(key="not a key")
    with pytest.raises(SigningKeyError, match="no audit signing key"):
        load_signing_key()


def test_the_laptop_default_key_is_generated_once_and_readable_only_by_its_owner(tmp_path: Path):
    key_dir = tmp_path / "var" / "keys"

    first = load_signing_key(key_dir=key_dir)
    second = signing_key_from_environment({}, key_dir=key_dir)

    key_file = key_dir / "audit-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_id(first.public_key()) == key_id(second.public_key())
    assert [path.name for path in key_dir.iterdir()] == ["audit-signing.key"]


def test_an_export_verifies_offline_with_only_the_public_key(tmp_path: Path):
    private_key = Ed25519PrivateKey.generate()
    events = build_chain(30)
    checkpoints = [sign_head(private_key, events, 10), sign_head(private_key, events, 30)]
    events_path, checkpoints_path = tmp_path / "events.jsonl", tmp_path / "checkpoints.jsonl"
    events_path.write_text("".join(event_json_line(event) for event in events), encoding="utf-8")
    checkpoints_path.write_text("".join(checkpoint_json_lines(checkpoints)), encoding="utf-8")
    public_pem = public_key_pem(private_key)

    result = verify_export(events_path, checkpoints_path, public_pem)

    assert result.ok
    assert (result.events_checked, result.last_seq, result.checkpoints_matched) == (30, 30, 2)


def test_a_tampered_export_fails_offline_verification(tmp_path: Path):
    private_key = Ed25519PrivateKey.generate()
    events = build_chain(30)
    checkpoints = [sign_head(private_key, events, 30)]
    lines = [event_json_line(event) for event in events]
    lines[11] = lines[11].replace("特休假", "加班費")
    events_path = tmp_path / "events.jsonl"
    events_path.write_text("".join(lines), encoding="utf-8")

    result = verify_export(events_path, checkpoints, public_key_pem(private_key))

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.MODIFIED, 12)


def test_an_export_after_a_purge_is_anchored_on_the_checkpoint_before_it():
    private_key = Ed25519PrivateKey.generate()
    events = build_chain(30)
    checkpoints = [sign_head(private_key, events, 10), sign_head(private_key, events, 30)]
    exported = [json.loads(event_json_line(event)) for event in events[10:]]

    result = verify_export(exported, checkpoints, [public_key_pem(private_key)])
    without_anchor = verify_export(exported, checkpoints[1:], [public_key_pem(private_key)])

    assert result.ok and result.events_checked == 20
    assert (without_anchor.first_break.kind, without_anchor.first_break.seq) == (BreakKind.DELETED, 1)


def test_an_export_checked_against_another_key_fails():
    events = build_chain(5)
    checkpoints = [sign_head(Ed25519PrivateKey.generate(), events, 5)]

    result = verify_export(events, checkpoints, public_key_pem(Ed25519PrivateKey.generate()))

    assert result.first_break.kind == BreakKind.CHECKPOINT_BAD_SIGNATURE
