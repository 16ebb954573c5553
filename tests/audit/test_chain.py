"""The hash chain: canonical JSON, link hashes, and verification naming the first broken link.

The attacker in these stories is someone with database owner rights: they can change, delete, insert and
reorder rows, and recompute every hash. Only the signed checkpoints stop the last of those.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import (
    GENESIS_HASH,
    BreakKind,
    ChainPosition,
    VerificationResult,
    canonical_json,
    chain_position_tail,
    event_json_line,
    link_hash,
    positioned_hash,
    positionless_prefix,
    verify_chain,
)
from audit.signing import Checkpoint, sign_checkpoint

ACME = 1
SIGNING_KEY = Ed25519PrivateKey.generate()


def question_event(seq: int, prev_hash: str, *, tenant_id: int = ACME) -> dict[str, Any]:
    """The hashed fields of a question event, shaped like AuditEvent.chain_fields()."""
    return {
        "tenant_id": tenant_id,
        "seq": seq,
        "prev_hash": prev_hash,
        "occurred_at": datetime(2025, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=seq),
        "kind": "question",
        "correlation_id": uuid.UUID(int=seq),
        "actor_user_id": 2,
        "actor_username": "bob",
        "department_code": "IT",
        "channel": "web",
        "payload": {
            "question_redacted": f"我的特休假還剩幾天？ #{seq}",
            "entities": [{"type": "TW_NATIONAL_ID", "start": 3, "end": 13}],
            "reasons": ["pii:TW_NATIONAL_ID", "faq_match:0.91"],
            "route": "local",
            "confidence": 0.91,
            "tokens_in": 120,
            "cost": "0.000210",
        },
    }


def build_chain(count: int, *, tenant_id: int = ACME) -> list[dict[str, Any]]:
    """A valid chain of count question events, hashes included."""
    events: list[dict[str, Any]] = []
    prev_hash = GENESIS_HASH
    for seq in range(1, count + 1):
        event = question_event(seq, prev_hash, tenant_id=tenant_id)
        event["hash"] = prev_hash = link_hash(event, prev_hash)
        events.append(event)
    return events


def rewrite_from(events: list[dict[str, Any]], seq: int) -> list[dict[str, Any]]:
    """What a database owner does to hide a change: recompute every link from seq to the end."""
    rewritten = [dict(event) for event in events]
    for index in range(seq - 1, len(rewritten)):
        event = rewritten[index]
        event["prev_hash"] = rewritten[index - 1]["hash"] if index else GENESIS_HASH
        event["hash"] = link_hash({key: value for key, value in event.items() if key != "hash"}, event["prev_hash"])
    return rewritten


def checkpoint_at(events: list[dict[str, Any]], seq: int) -> Checkpoint:
    """A checkpoint signed when the chain's event seq was its head."""
    return sign_checkpoint(
        private_key=SIGNING_KEY,
        tenant_id=ACME,
        tenant_slug="acme",
        seq=seq,
        head_hash=events[seq - 1]["hash"],
    )


def verify(events: list[dict[str, Any]], checkpoints: Sequence[Checkpoint] = (), **options: Any) -> VerificationResult:
    """verify_chain trusting the test signing key."""
    return verify_chain(events, checkpoints=checkpoints, trusted_keys=[SIGNING_KEY.public_key()], **options)


def test_canonical_json_does_not_depend_on_key_order():
    first = {"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": None}}
    second = {"a": {"x": None, "y": [1, {"c": 3, "d": 2}]}, "b": 1}

    assert canonical_json(first) == canonical_json(second) == b'{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}'


def test_canonical_json_writes_unicode_as_utf8_not_escapes():
    assert canonical_json({"q": "特休假 é", "tab": "a\tb"}) == '{"q":"特休假 é","tab":"a\\tb"}'.encode()


def test_datetimes_become_utc_iso_8601_with_microseconds():
    taipei = timezone(timedelta(hours=8))

    assert (
        canonical_json({"at": datetime(2025, 3, 1, 17, 30, tzinfo=taipei)}) == b'{"at":"2025-03-01T09:30:00.000000Z"}'
    )
    assert (
        canonical_json({"at": datetime(2025, 3, 1, 9, 30, 0, 7, tzinfo=UTC)}) == b'{"at":"2025-03-01T09:30:00.000007Z"}'
    )


def test_a_naive_datetime_is_refused_as_ambiguous():
    with pytest.raises(ValueError, match="naive"):
        canonical_json({"at": datetime(2025, 3, 1, 9, 30)})


def test_decimals_and_uuids_become_strings_written_exactly():
    fields = {"cost": Decimal("0.000210"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")}

    assert canonical_json(fields) == b'{"cost":"0.000210","id":"12345678-1234-5678-1234-567812345678"}'


def test_non_string_keys_are_refused_because_json_would_reorder_them():
    with pytest.raises(TypeError, match="keys must be strings"):
        canonical_json({"payload": {10: "a", 9: "b"}})


def test_floats_the_database_would_turn_into_integers_are_refused():
    with pytest.raises(ValueError, match="cannot be stored and hashed faithfully"):
        canonical_json({"payload": {"tokens": 1e16}})
    with pytest.raises(ValueError, match="cannot be stored and hashed faithfully"):
        canonical_json({"payload": {"score": float("nan")}})


def test_an_exported_event_serializes_to_the_same_bytes_as_the_original():
    event = build_chain(1)[0]

    exported = json.loads(event_json_line(event))

    assert canonical_json(exported) == canonical_json(event)
    assert exported["occurred_at"] == "2025-03-01T09:01:00.000000Z"


def test_canonical_json_matches_plain_json_dumps_as_a_third_party_would_write_it():
    exported = json.loads(event_json_line(build_chain(1)[0]))

    assert canonical_json(exported) == json.dumps(
        exported, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def test_a_third_party_can_check_a_link_with_hashlib_alone():
    first, second = (json.loads(event_json_line(event)) for event in build_chain(2))

    def recompute(event: dict[str, Any]) -> str:
        fields = {key: value for key, value in event.items() if key != "hash"}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8") + event["prev_hash"].encode("ascii")).hexdigest()

    assert first["prev_hash"] == GENESIS_HASH == "0" * 64
    assert recompute(first) == first["hash"]
    assert second["prev_hash"] == first["hash"]
    assert recompute(second) == second["hash"]


def test_the_positionless_prefix_and_the_tail_make_up_the_canonical_json():
    event = question_event(7, "ab" * 32)
    prefix = positionless_prefix({**event, "seq": None, "prev_hash": None})
    tail = chain_position_tail("ab" * 32, 7, ACME).encode("utf-8")

    assert prefix + tail == canonical_json(event)
    assert hashlib.sha256(prefix + tail + b"ab" * 32).hexdigest() == link_hash(event, "ab" * 32)
    assert positioned_hash(prefix, "ab" * 32, 7, ACME) == link_hash(event, "ab" * 32)


def test_a_field_sorting_after_the_chain_position_has_no_positionless_prefix():
    with pytest.raises(ValueError, match="sort before"):
        positionless_prefix({**question_event(1, GENESIS_HASH), "version": 2})


def test_a_good_chain_verifies():
    events = build_chain(20)

    result = verify(events, [checkpoint_at(events, 10), checkpoint_at(events, 20)])

    assert result.ok
    assert result.first_break is None
    assert (result.events_checked, result.last_seq, result.last_hash) == (20, 20, events[-1]["hash"])
    assert result.checkpoints_matched == 2


def test_an_empty_chain_verifies():
    result = verify_chain([])

    assert result.ok
    assert (result.events_checked, result.last_seq, result.last_hash) == (0, 0, GENESIS_HASH)


def test_a_changed_payload_is_named_modified_at_its_seq():
    events = build_chain(10)
    events[6]["payload"]["route"] = "cloud"

    result = verify(events)

    assert not result.ok
    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.MODIFIED, 7)
    assert result.last_seq == 6


def test_a_changed_stored_hash_is_named_modified():
    events = build_chain(10)
    events[3]["hash"] = "f" * 64

    assert verify(events).first_break.kind == BreakKind.MODIFIED
    assert verify(events).first_break.seq == 4


def test_a_change_with_its_own_hash_recomputed_is_caught_by_the_next_link():
    events = build_chain(10)
    events[4]["actor_username"] = "mallory"
    events[4]["hash"] = link_hash({key: value for key, value in events[4].items() if key != "hash"}, events[3]["hash"])

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.MODIFIED, 5)
    assert "recomputed" in result.first_break.message
    assert (result.last_seq, result.last_hash) == (4, events[3]["hash"])


def test_a_deleted_row_is_named_deleted_at_the_missing_seq():
    events = build_chain(10)
    del events[4]

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.DELETED, 5)
    assert "event 5 is missing" in result.first_break.message
    assert result.last_seq == 4


def test_several_deleted_rows_are_named_as_a_range():
    events = build_chain(10)
    del events[3:6]

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.DELETED, 4)
    assert "events 4 to 6 are missing" in result.first_break.message


def test_a_swapped_pair_is_named_reordered():
    events = build_chain(10)
    events[4], events[5] = events[5], events[4]

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.REORDERED, 5)


def test_a_row_moved_further_down_is_named_reordered_not_deleted():
    events = build_chain(10)
    events.insert(8, events.pop(2))

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.REORDERED, 3)


def test_a_forged_row_linking_to_its_predecessor_is_named_inserted():
    events = build_chain(10)
    forged = question_event(5, events[3]["hash"])
    forged["payload"]["question_redacted"] = "a question nobody asked"
    forged["hash"] = link_hash(forged, forged["prev_hash"])
    events.insert(4, forged)

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.INSERTED, 5)
    assert f"so {forged['hash'][:12]}… was inserted" in result.first_break.message
    assert result.last_seq == 4


def test_a_forged_row_with_a_made_up_link_is_named_inserted():
    events = build_chain(10)
    forged = question_event(5, "a" * 64)
    forged["hash"] = link_hash(forged, forged["prev_hash"])
    events.insert(4, forged)

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.INSERTED, 5)
    assert result.last_seq == 4


def test_a_changed_seq_is_named_modified_where_the_row_sits():
    events = build_chain(10)
    events[4]["seq"] = 50

    result = verify(events)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.MODIFIED, 5)
    assert "claims seq 50" in result.first_break.message


def test_a_row_without_a_hash_or_with_a_nonsense_link_is_named_modified():
    events = build_chain(5)
    del events[2]["hash"]
    nonsense = build_chain(5)
    nonsense[3]["prev_hash"] = None

    assert (verify(events).first_break.kind, verify(events).first_break.seq) == (BreakKind.MODIFIED, 3)
    assert (verify(nonsense).first_break.kind, verify(nonsense).first_break.seq) == (BreakKind.MODIFIED, 4)


def test_a_rewritten_tail_with_recomputed_hashes_passes_without_checkpoints():
    events = build_chain(20)
    events[11]["payload"]["route"] = "cloud"

    assert verify(rewrite_from(events, 12)).ok


def test_a_rewritten_tail_is_caught_by_the_checkpoint_that_covered_it():
    events = build_chain(20)
    checkpoints = [checkpoint_at(events, 10), checkpoint_at(events, 15)]
    events[11]["payload"]["route"] = "cloud"

    result = verify(rewrite_from(events, 12), checkpoints)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.CHECKPOINT_MISMATCH, 15)
    assert "after seq 10" in result.first_break.message
    assert result.checkpoints_matched == 1


def test_a_tail_rewritten_past_the_last_checkpoint_goes_unnoticed_until_a_checkpoint_covers_it():
    events = build_chain(20)
    checkpoints = [checkpoint_at(events, 10)]
    events[14]["payload"]["route"] = "cloud"
    rewritten = rewrite_from(events, 15)

    assert verify(rewritten, checkpoints).ok
    assert verify(rewritten, [*checkpoints, checkpoint_at(events, 20)]).first_break.kind == (
        BreakKind.CHECKPOINT_MISMATCH
    )


def test_a_tail_cut_before_the_last_checkpoint_is_named_truncated():
    events = build_chain(20)
    checkpoints = [checkpoint_at(events, 18)]

    result = verify(events[:15], checkpoints)

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.TRUNCATED, 16)
    assert result.last_seq == 15
    assert verify(events[:15]).ok, "without a checkpoint a cut tail is indistinguishable from a short chain"


def test_a_purged_prefix_with_a_covering_checkpoint_still_verifies():
    events = build_chain(20)
    boundary = checkpoint_at(events, 8)

    result = verify(events[8:], [boundary, checkpoint_at(events, 20)], start_after=boundary.position)

    assert result.ok
    assert (result.events_checked, result.last_seq) == (12, 20)


def test_a_purged_prefix_needs_a_signed_checkpoint_at_its_boundary():
    events = build_chain(20)

    result = verify(events[8:], [checkpoint_at(events, 20)], start_after=ChainPosition(8, events[7]["hash"]))

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.CHECKPOINT_MISMATCH, 8)


def test_a_purged_prefix_is_not_a_way_around_the_chain():
    events = build_chain(20)
    boundary = checkpoint_at(events, 8)

    tampered = [dict(event) for event in events]
    tampered[2]["payload"] = {"route": "cloud"}

    missing_more = verify(events[10:], [boundary], start_after=boundary.position)
    rewritten = verify(rewrite_from(tampered, 3)[8:], [boundary], start_after=boundary.position)

    assert (missing_more.first_break.kind, missing_more.first_break.seq) == (BreakKind.DELETED, 9)
    assert (rewritten.first_break.kind, rewritten.first_break.seq) == (BreakKind.CHECKPOINT_MISMATCH, 9)


def test_a_prefix_purged_without_saying_so_is_named_deleted():
    events = build_chain(20)

    result = verify(events[8:])

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.DELETED, 1)


def test_a_checkpoint_with_a_bad_signature_fails_verification():
    events = build_chain(10)
    genuine = checkpoint_at(events, 5)
    forged = replace(genuine, head_hash=events[6]["hash"])

    result = verify(events, [forged])

    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.CHECKPOINT_BAD_SIGNATURE, 5)
    assert "altered" in result.first_break.message


def test_a_checkpoint_signed_by_an_untrusted_key_fails_verification():
    events = build_chain(10)
    stranger = sign_checkpoint(
        private_key=Ed25519PrivateKey.generate(),
        tenant_id=ACME,
        tenant_slug="acme",
        seq=5,
        head_hash="b" * 64,
    )

    result = verify(events, [stranger])

    assert result.first_break.kind == BreakKind.CHECKPOINT_BAD_SIGNATURE
    assert "not trusted" in result.first_break.message


def test_checkpoints_of_another_tenant_do_not_vouch_for_this_chain():
    globex_events = build_chain(10, tenant_id=2)
    acme_checkpoint = checkpoint_at(build_chain(10), 5)

    result = verify(globex_events, [acme_checkpoint])

    assert result.first_break.kind == BreakKind.CHECKPOINT_MISMATCH


def test_verification_streams_a_long_chain_in_constant_memory():
    def generated(count: int) -> Iterator[dict[str, Any]]:
        prev_hash = GENESIS_HASH
        for seq in range(1, count + 1):
            event = question_event(seq, prev_hash)
            event["hash"] = prev_hash = link_hash(event, prev_hash)
            yield event

    tracemalloc.start()
    result = verify_chain(generated(2_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert result.ok and result.events_checked == 2_000
    assert peak < 200_000, "a materialized chain of 2,000 events takes several megabytes"
