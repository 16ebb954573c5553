"""Encryption of the raw question text kept with audit events, with key rotation.

Fernet tokens (AES-128-CBC with HMAC-SHA256). Keys come newest first, as in
LANTERN_AUDIT_ENCRYPTION_KEYS: text is encrypted with the first key and decrypted with any of them, and
``rotate`` re-encrypts a token with the newest. To retire a key: put the new key first, rotate the stored
tokens, then remove the old key.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from audit.signing import read_or_create_key_file

DEFAULT_ENCRYPTION_KEY_FILENAME = "audit-encryption.key"
_FERNET_VERSION = 0x80
_FERNET_MINIMUM_LENGTH = 1 + 8 + 16 + 16 + 32  # version, timestamp, IV, one cipher block, HMAC


class EncryptionKeyError(ValueError):
    """The encryption keys are missing or malformed."""


class UndecryptableTokenError(ValueError):
    """A token that none of the configured keys can decrypt."""


def generate_key() -> str:
    """A new Fernet key, ready to put in LANTERN_AUDIT_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str) -> tuple[str, ...]:
    """The keys of a comma-separated LANTERN_AUDIT_ENCRYPTION_KEYS value, newest first."""
    return tuple(key.strip() for key in value.split(",") if key.strip())


def load_encryption_keys(configured: Sequence[str], *, key_dir: Path | None = None) -> tuple[str, ...]:
    """The configured keys, or else a key generated once under key_dir (the laptop default)."""
    keys = tuple(key.strip() for key in configured if key.strip())
    if keys:
        _multi_fernet(keys)
        return keys
    if key_dir is None:
        raise EncryptionKeyError("no audit encryption key: set LANTERN_AUDIT_ENCRYPTION_KEYS")
    path = Path(key_dir) / DEFAULT_ENCRYPTION_KEY_FILENAME
    key = read_or_create_key_file(path, Fernet.generate_key).decode("ascii").strip()
    _multi_fernet((key,))
    return (key,)


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    """A MultiFernet for the keys, newest first; built once per key list."""
    if not keys:
        raise EncryptionKeyError("no audit encryption key configured")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            raise EncryptionKeyError(
                f"encryption key {position} of {len(keys)} is not a Fernet key "
                "(32 bytes in URL-safe base64; make one with audit.encryption.generate_key())"
            ) from None
    return MultiFernet(fernets)


def encrypt(text: str, *, keys: Sequence[str]) -> str:
    """Encrypt text with the newest key."""
    return _multi_fernet(tuple(keys)).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, keys: Sequence[str]) -> str:
    """Decrypt a token made with any of the keys."""
    try:
        return _multi_fernet(tuple(keys)).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise _undecryptable(token, len(keys)) from None


def rotate(token: str, *, keys: Sequence[str]) -> str:
    """Re-encrypt a token with the newest key, keeping its original timestamp."""
    try:
        return _multi_fernet(tuple(keys)).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise _undecryptable(token, len(keys)) from None


def _undecryptable(token: str, key_count: int) -> UndecryptableTokenError:
    """An error that tells a key no longer configured apart from a token that is not one."""
    encrypted_at = _token_timestamp(token)
    if encrypted_at is None:
        return UndecryptableTokenError("this is not an audit encryption token: it is malformed or truncated")
    return UndecryptableTokenError(
        f"none of the {key_count} keys in LANTERN_AUDIT_ENCRYPTION_KEYS can decrypt this text, encrypted "
        f"{encrypted_at:%Y-%m-%d %H:%M} UTC: its key was removed (add it back at the end of the list, then "
        "rotate) or the token was altered"
    )


def _token_timestamp(token: str) -> datetime | None:
    """When a well-formed Fernet token was made (stored in clear in the token), or None if malformed."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(raw) < _FERNET_MINIMUM_LENGTH or raw[0] != _FERNET_VERSION or (len(raw) - 57) % 16:
        return None
    try:
        return datetime.fromtimestamp(int.from_bytes(raw[1:9], "big"), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
