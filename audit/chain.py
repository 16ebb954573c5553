"""Hash chains of audit events: canonical serialization, link hashing and verification.

Pure: no Django, no database. Each tenant has one chain. Event n stores ``seq`` (1, 2, 3… without gaps),
``prev_hash`` (the hash of event n-1, or ``GENESIS_HASH`` for event 1) and

    hash = sha256(canonical_json(every field of the event except "hash") + prev_hash).hexdigest()

where ``prev_hash`` is appended as its 64 ASCII hex characters (so it is hashed twice: once inside the JSON,
once appended). The hashed fields are exactly the event's fields minus ``hash``; for Lantern's
``AuditEvent`` that is tenant_id, seq, prev_hash, occurred_at, kind, correlation_id, actor_user_id,
actor_username, department_code, channel and payload (the row id is not part of the chain).

Canonical JSON, enough to reimplement it in any language:

- UTF-8, no whitespace (``,`` and ``:`` separators), object keys sorted by code point at every depth,
  non-ASCII characters written as themselves (not ``\\uXXXX``), the control characters escaped as JSON
  requires; this is ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
  in Python and ``JSON.stringify`` with recursively sorted keys in JavaScript.
- Object keys are strings; NaN, infinities and floats of 1e16 or more (PostgreSQL's jsonb would hand them
  back as integers) are refused when an event is recorded.
- Datetimes (which must carry a time zone) become ISO 8601 UTC strings with microseconds:
  ``"2025-03-01T09:30:00.000000Z"``; dates become ``"2025-03-01"``; UUIDs their lower-case hyphenated
  form; Decimals ``str(decimal)`` (``"0.00015"``). An exported event therefore holds plain JSON whose
  canonical form is the same bytes as the original's.
- Integers as decimal digits; floats as Python's shortest round-trip ``repr`` (``0.91``, ``5.0``,
  ``1e-05``). Numbers are hashed exactly as they are written in an export line, so a verifier must
  re-emit each number's text unchanged (Python's json and Go's json.Number do; JavaScript's JSON.parse
  loses ``5.0`` and ``1e-05``). Keep money in Decimals, which become strings.

A third party checks an exported event with: parse the line, remove ``hash``, serialize as above, append
``prev_hash``, sha256, compare with ``hash``; then check ``seq`` rises by one and ``prev_hash`` equals the
previous event's ``hash``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from audit.signing import Checkpoint

GENESIS_HASH = "0" * 64

# Python writes floats from 1e16 up as "1e+16"; PostgreSQL's jsonb gives them back as integers.
_LARGEST_STABLE_FLOAT = 1e16

# How far past a sequence gap verification reads to tell a moved event (reordered) from a missing one.
REORDER_LOOKAHEAD = 10_000


class BreakKind(StrEnum):
    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    CHECKPOINT_BAD_SIGNATURE = "checkpoint_bad_signature"


@dataclass(frozen=True)
class ChainPosition:
    """A point in a chain: the sequence number of an event and its hash (seq 0 is the genesis)."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    """The first place where a chain stops being trustworthy, and what happened there."""

    seq: int
    kind: BreakKind
    message: str


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of walking a chain."""

    ok: bool
    events_checked: int
    last_seq: int  # the last event that verified (or the starting position)
    last_hash: str
    checkpoints_matched: int
    first_break: ChainBreak | None


def canonical_timestamp(moment: datetime) -> str:
    """A datetime as canonical JSON writes it: ISO 8601 in UTC with microseconds and a Z."""
    if moment.tzinfo is UTC:  # what the database hands back: the fast path
        return moment.isoformat()[:-6] + ("Z" if moment.microsecond else ".000000Z")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} is ambiguous in an audit event")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# The non-JSON types an event may hold, and their canonical strings; datetime before its parent date.
_CONVERTERS: dict[type, Callable[[Any], str]] = {
    datetime: canonical_timestamp,
    date: date.isoformat,
    uuid.UUID: str,
    Decimal: str,
}


def _json_value(value: Any) -> str:
    """The canonical JSON string for a value of one of the non-JSON types above."""
    convert = _CONVERTERS.get(type(value))
    if convert is not None:
        return convert(value)
    for kind, convert in _CONVERTERS.items():
        if isinstance(value, kind):
            return convert(value)
    raise TypeError(f"{type(value).__name__} cannot be part of an audit event")


def _one_shot_encoder() -> Callable[[Any], str]:
    """The canonical encoder, built once; json.dumps would rebuild one on every call."""
    encoder = json.JSONEncoder(
        ensure_ascii=False,
        allow_nan=False,
        sort_keys=True,
        separators=(",", ":"),
        check_circular=False,
        default=_json_value,
    )
    if c_make_encoder is None:
        return encoder.encode
    # Keep the C encoder JSONEncoder.encode builds on each call (same arguments): about 5% of the time.
    try:
        encode_chunks = c_make_encoder(
            None,
            encoder.default,
            encode_basestring_ascii if encoder.ensure_ascii else encode_basestring,
            encoder.indent,
            encoder.key_separator,
            encoder.item_separator,
            encoder.sort_keys,
            encoder.skipkeys,
            encoder.allow_nan,
        )
    except TypeError:  # another Python's private signature
        return encoder.encode
    return lambda value: "".join(encode_chunks(value, 0))


_encode = _one_shot_encoder()


def _refuse_unstable_values(value: Any) -> None:
    """Raise on what would hash differently once stored: non-string keys, floats PostgreSQL makes integers."""
    kind = type(value)  # exact types first: this walks every value of every event appended
    if kind is str or kind is int or kind is bool or value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit event keys must be strings, not {type(key).__name__} {key!r}")
            _refuse_unstable_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_unstable_values(item)
    elif isinstance(value, float) and not -_LARGEST_STABLE_FLOAT < value < _LARGEST_STABLE_FLOAT:
        raise ValueError(f"the float {value!r} cannot be stored and hashed faithfully: use an int or a string")


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of a mapping (see the module docstring for the exact rules)."""
    fields = dict(fields)
    _refuse_unstable_values(fields)
    return _encode(fields).encode("utf-8")


def link_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """The hash of an event: sha256 of its canonical JSON (without "hash") followed by prev_hash."""
    digest = hashlib.sha256(canonical_json(fields))
    digest.update(prev_hash.encode("utf-8"))
    return digest.hexdigest()


def chain_position_tail(prev_hash: str, seq: int, tenant_id: int) -> str:
    """The end of an event's canonical JSON: its last three keys in sorted order, and the closing brace."""
    return f',"prev_hash":"{prev_hash}","seq":{seq},"tenant_id":{tenant_id}}}'


def positioned_hash(prefix: bytes, prev_hash: str, seq: int, tenant_id: int) -> str:
    """The hash of an event given its positionless prefix: the same value as link_hash over all its fields."""
    digest = hashlib.sha256(prefix)
    digest.update(chain_position_tail(prev_hash, seq, tenant_id).encode("utf-8"))
    digest.update(prev_hash.encode("utf-8"))
    return digest.hexdigest()


def positionless_prefix(fields: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an event up to where its chain position begins.

    ``prev_hash``, ``seq`` and ``tenant_id`` sort after every other field, so an event's canonical JSON is
    this prefix followed by ``chain_position_tail(...)``: a writer can serialize everything else before it
    knows its place in the chain, and let the database finish the hash while it holds the chain head."""
    placeholder = dict(fields, prev_hash=GENESIS_HASH, seq=0)
    encoded = canonical_json(placeholder).decode("utf-8")
    tail = chain_position_tail(GENESIS_HASH, 0, placeholder["tenant_id"])
    if not encoded.endswith(tail):
        raise ValueError("an audit event's fields must sort before prev_hash, seq and tenant_id")
    return encoded[: -len(tail)].encode("utf-8")


def event_json_line(event: Mapping[str, Any]) -> str:
    """One event, hash included, as a line of canonical JSON for an export file."""
    return canonical_json(event).decode("utf-8") + "\n"


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    *,
    checkpoints: Sequence[Checkpoint] = (),
    trusted_keys: Iterable[Ed25519PublicKey] = (),
    start_after: ChainPosition | None = None,
) -> VerificationResult:
    """Walk one tenant's events in sequence order and name the first broken link; constant memory.

    Checkpoints must be signed by one of the trusted keys. ``start_after`` begins after a purged prefix:
    the first event must then link to that position, which, when checkpoints are given, must be one of
    them. Without a checkpoint at or after it, a tail rewritten with recomputed hashes is undetectable.
    """
    anchor = start_after or ChainPosition(0, GENESIS_HASH)
    signed_hashes, problem = _checkpoint_hashes(checkpoints, tuple(trusted_keys), anchor)
    if problem is not None:
        return _result(0, anchor, 0, problem)
    checkpoints_matched = 1 if anchor.seq in signed_hashes else 0
    checkpoint_tenants = {checkpoint.tenant_id for checkpoint in checkpoints}

    stream = iter(events)
    # Local names: this loop runs millions of times.
    sha256, encode, converter_for = hashlib.sha256, _encode, _CONVERTERS.get
    last_seq, last_hash, last_prev = anchor.seq, anchor.hash, ""
    checked = 0
    for event in stream:
        checked += 1
        fields = dict(event)
        for key, value in event.items():  # cheaper here than through the encoder's default() hook
            convert = converter_for(type(value))
            if convert is not None:
                fields[key] = convert(value)
        try:
            stored_hash = fields.pop("hash")
            seq = fields["seq"]
            prev_hash = fields["prev_hash"]
        except KeyError as missing:
            problem = ChainBreak(
                last_seq + 1, BreakKind.MODIFIED, f"the event after seq {last_seq} has no {missing} field"
            )
            return _result(checked, ChainPosition(last_seq, last_hash), checkpoints_matched, problem)
        try:
            digest = sha256(encode(fields).encode("utf-8"))
            digest.update(prev_hash.encode("utf-8"))
        except (AttributeError, TypeError, ValueError) as unhashable:
            problem = ChainBreak(
                last_seq + 1, BreakKind.MODIFIED, f"the event after seq {last_seq} cannot be hashed: {unhashable}"
            )
            return _result(checked, ChainPosition(last_seq, last_hash), checkpoints_matched, problem)
        if digest.hexdigest() != stored_hash:
            # A changed row's own seq cannot be trusted: locate it by the last good event instead.
            claimed = "" if seq == last_seq + 1 else f" (it now claims seq {seq!r})"
            problem = ChainBreak(
                last_seq + 1,
                BreakKind.MODIFIED,
                f"event {last_seq + 1}{claimed} was changed after it was recorded: its fields no longer hash "
                f"to its stored hash {_short(stored_hash)}",
            )
            return _result(checked, ChainPosition(last_seq, last_hash), checkpoints_matched, problem)
        if seq == last_seq + 1 and prev_hash == last_hash:
            last_seq, last_hash, last_prev = seq, stored_hash, prev_hash
            if seq in signed_hashes:
                if signed_hashes[seq] != stored_hash:
                    problem = _checkpoint_mismatch(seq, stored_hash, signed_hashes)
                    return _result(checked, ChainPosition(seq - 1, prev_hash), checkpoints_matched, problem)
                checkpoints_matched += 1
            if (
                checked == 1
                and checkpoint_tenants
                and "tenant_id" in event
                and event["tenant_id"] not in checkpoint_tenants
            ):
                problem = ChainBreak(
                    seq,
                    BreakKind.CHECKPOINT_MISMATCH,
                    f"the checkpoints belong to tenant {sorted(checkpoint_tenants)} but the events to tenant "
                    f"{event.get('tenant_id')}",
                )
                return _result(checked, anchor, checkpoints_matched, problem)
            continue
        problem = _classify_break(
            last=ChainPosition(last_seq, last_hash),
            anchor=anchor,
            seq=seq,
            prev_hash=prev_hash,
            stored_hash=stored_hash,
            following=stream,
        )
        # When the break is the last accepted event itself, the chain is good only up to the one before it.
        good = ChainPosition(last_seq, last_hash)
        if problem.seq == last_seq > anchor.seq:
            good = ChainPosition(last_seq - 1, last_prev)
        return _result(checked, good, checkpoints_matched, problem)

    last_signed = max(signed_hashes, default=0)
    if last_signed > last_seq:
        problem = ChainBreak(
            last_seq + 1,
            BreakKind.TRUNCATED,
            f"the chain ends at seq {last_seq} but a signed checkpoint covers seq {last_signed}: events "
            f"{last_seq + 1} to {last_signed} were removed",
        )
        return _result(checked, ChainPosition(last_seq, last_hash), checkpoints_matched, problem)
    return _result(checked, ChainPosition(last_seq, last_hash), checkpoints_matched, None)


def _result(
    checked: int, last: ChainPosition, checkpoints_matched: int, problem: ChainBreak | None
) -> VerificationResult:
    """A VerificationResult, ok exactly when nothing broke."""
    return VerificationResult(
        ok=problem is None,
        events_checked=checked,
        last_seq=last.seq,
        last_hash=last.hash,
        checkpoints_matched=checkpoints_matched,
        first_break=problem,
    )


def _short(hash_value: object) -> str:
    """The first characters of a hash, enough to find it in an export."""
    return f"{str(hash_value)[:12]}…"


def _checkpoint_hashes(
    checkpoints: Sequence[Checkpoint], trusted_keys: tuple[Ed25519PublicKey, ...], anchor: ChainPosition
) -> tuple[dict[int, str], ChainBreak | None]:
    """The signed head hash per sequence number, or the first checkpoint that cannot be trusted."""
    signed_hashes: dict[int, str] = {}
    for checkpoint in sorted(checkpoints, key=lambda checkpoint: checkpoint.seq):
        problem = checkpoint.signature_problem(trusted_keys)
        if problem is not None:
            return {}, ChainBreak(checkpoint.seq, BreakKind.CHECKPOINT_BAD_SIGNATURE, problem)
        if signed_hashes.setdefault(checkpoint.seq, checkpoint.head_hash) != checkpoint.head_hash:
            return {}, ChainBreak(
                checkpoint.seq,
                BreakKind.CHECKPOINT_MISMATCH,
                f"two validly signed checkpoints disagree about the hash of event {checkpoint.seq}: the "
                "signing key may be compromised",
            )
    if len({checkpoint.tenant_id for checkpoint in checkpoints}) > 1:
        return {}, ChainBreak(0, BreakKind.CHECKPOINT_MISMATCH, "the checkpoints belong to several tenants")
    if signed_hashes and anchor.seq > 0:
        if anchor.seq not in signed_hashes:
            return {}, ChainBreak(
                anchor.seq,
                BreakKind.CHECKPOINT_MISMATCH,
                f"no signed checkpoint covers the purged events up to seq {anchor.seq}",
            )
        if signed_hashes[anchor.seq] != anchor.hash:
            return {}, ChainBreak(
                anchor.seq,
                BreakKind.CHECKPOINT_MISMATCH,
                f"the signed checkpoint for seq {anchor.seq} has hash {_short(signed_hashes[anchor.seq])}, "
                f"not the starting hash {_short(anchor.hash)}: the recorded purge boundary is wrong",
            )
    if signed_hashes.get(0, GENESIS_HASH) != GENESIS_HASH:
        return {}, ChainBreak(0, BreakKind.CHECKPOINT_MISMATCH, "a checkpoint for seq 0 is not the genesis hash")
    # Checkpoints inside a purged prefix can no longer be compared with anything.
    return {seq: head for seq, head in signed_hashes.items() if seq >= anchor.seq}, None


def _checkpoint_mismatch(seq: int, chain_hash: str, signed_hashes: Mapping[int, str]) -> ChainBreak:
    """The break for a chain whose hash at a checkpointed seq differs from the signed one."""
    earlier = [signed for signed in signed_hashes if signed < seq]
    since = f"after seq {max(earlier)}, the previous checkpoint" if earlier else "at or before it"
    return ChainBreak(
        seq,
        BreakKind.CHECKPOINT_MISMATCH,
        f"a signed checkpoint says event {seq} had hash {_short(signed_hashes[seq])} but the chain has "
        f"{_short(chain_hash)}: the events {since} were rewritten and their hashes recomputed",
    )


def _classify_break(
    *,
    last: ChainPosition,
    anchor: ChainPosition,
    seq: Any,
    prev_hash: str,
    stored_hash: str,
    following: Iterator[Mapping[str, Any]],
) -> ChainBreak:
    """Name an intact event that does not extend the chain, reading a little further when that helps."""
    expected = last.seq + 1
    if not isinstance(seq, int):
        return ChainBreak(expected, BreakKind.MODIFIED, f"the event after seq {last.seq} has seq {seq!r}")
    if seq == last.seq:
        return _duplicate(seq, last, stored_hash, next(following, None))
    if seq < last.seq:
        return ChainBreak(
            seq, BreakKind.REORDERED, f"event {seq} comes after event {last.seq}: the events are out of order"
        )
    if seq > expected:
        return _gap(expected, seq, prev_hash, last, following)
    # The right seq, but it does not link to the event before it: an extra event if the next one does.
    after = next(following, None)
    if after is not None and (after.get("seq") == seq or after.get("prev_hash") == last.hash):
        return ChainBreak(
            seq,
            BreakKind.INSERTED,
            f"the event with seq {seq} and hash {_short(stored_hash)} does not link to event {last.seq}, "
            f"but the event after it does: it was inserted",
        )
    if last == anchor:
        start = "the genesis value" if anchor.seq == 0 else f"the checkpointed hash of seq {anchor.seq}"
        kind = BreakKind.MODIFIED if anchor.seq == 0 else BreakKind.CHECKPOINT_MISMATCH
        return ChainBreak(
            seq,
            kind,
            f"event {seq} does not link to {start}: its prev_hash is {_short(prev_hash)}; it was changed "
            "or the chain was rewritten from here",
        )
    return ChainBreak(
        last.seq,
        BreakKind.MODIFIED,
        f"event {seq} links to hash {_short(prev_hash)} but event {last.seq} now hashes to "
        f"{_short(last.hash)}: event {last.seq} was changed and its own hash recomputed (or event {seq} "
        "was inserted with a forged link)",
    )


def _duplicate(seq: int, last: ChainPosition, stored_hash: str, after: Mapping[str, Any] | None) -> ChainBreak:
    """Two events with the same seq: say which one the chain continues from, when the next event tells."""
    if stored_hash == last.hash:
        detail = "the same event appears twice"
    elif after is not None and after.get("prev_hash") == stored_hash:
        detail = f"the chain continues from {_short(stored_hash)}, so {_short(last.hash)} was inserted"
    elif after is not None and after.get("prev_hash") == last.hash:
        detail = f"the chain continues from {_short(last.hash)}, so {_short(stored_hash)} was inserted"
    else:
        detail = f"hashes {_short(last.hash)} and {_short(stored_hash)}; one of them was inserted"
    return ChainBreak(seq, BreakKind.INSERTED, f"two events carry seq {seq}: {detail}")


def _gap(
    expected: int, seq: int, prev_hash: str, last: ChainPosition, following: Iterator[Mapping[str, Any]]
) -> ChainBreak:
    """A jump in seq: reordered if a skipped event turns up soon after, deleted otherwise."""
    for distance, later in enumerate(following, start=1):
        later_seq = later.get("seq")
        if isinstance(later_seq, int) and expected <= later_seq < seq:
            return ChainBreak(
                expected,
                BreakKind.REORDERED,
                f"event {later_seq} appears {distance} event(s) after event {seq}: the events are out of order",
            )
        if distance >= REORDER_LOOKAHEAD:
            break
    missing = f"event {expected} is" if seq == expected + 1 else f"events {expected} to {seq - 1} are"
    relinked = (
        f"; event {seq} was re-linked to event {last.seq} with a recomputed hash" if prev_hash == last.hash else ""
    )
    return ChainBreak(expected, BreakKind.DELETED, f"{missing} missing after event {last.seq}{relinked}")
