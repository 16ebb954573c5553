"""Encryption of raw question text: round trips, key rotation, and clear errors for lost keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from audit.encryption import (
    EncryptionKeyError,
    UndecryptableTokenError,
    decrypt,
    encrypt,
    generate_key,
    load_encryption_keys,
    parse_keys,
    rotate,
)

QUESTION = "我的身分證字號是 A123456789，特休假還剩幾天？"


def test_question_text_round_trips_and_is_not_readable_in_the_token():
    keys = [generate_key()]

    token = encrypt(QUESTION, keys=keys)

    assert decrypt(token, keys=keys) == QUESTION
    assert "A123456789" not in token
    assert encrypt(QUESTION, keys=keys) != token, "each encryption uses a fresh IV"


def test_text_is_encrypted_with_the_newest_key_first_in_the_list():
    newest, older = generate_key(), generate_key()

    token = encrypt(QUESTION, keys=[newest, older])

    assert decrypt(token, keys=[newest]) == QUESTION
    with pytest.raises(UndecryptableTokenError):
        decrypt(token, keys=[older])


def test_after_a_rotation_old_tokens_still_decrypt_while_the_old_key_is_listed():
    old_key, new_key = generate_key(), generate_key()
    old_token = encrypt(QUESTION, keys=[old_key])

    assert decrypt(old_token, keys=[new_key, old_key]) == QUESTION


def test_rotate_re_encrypts_a_token_with_the_newest_key():
    old_key, new_key = generate_key(), generate_key()
    old_token = encrypt(QUESTION, keys=[old_key])

    rotated = rotate(old_token, keys=[new_key, old_key])

    assert rotated != old_token
    assert decrypt(rotated, keys=[new_key]) == QUESTION


def test_a_token_whose_key_was_removed_gives_a_clear_error():
    old_key, new_key = generate_key(), generate_key()
    old_token = encrypt(QUESTION, keys=[old_key])

    with pytest.raises(UndecryptableTokenError, match="its key was removed") as raised:
        decrypt(old_token, keys=[new_key])
    assert "LANTERN_AUDIT_ENCRYPTION_KEYS" in str(raised.value)
    with pytest.raises(UndecryptableTokenError, match="its key was removed"):
        rotate(old_token, keys=[new_key])


def test_a_damaged_token_is_told_apart_from_a_missing_key():
    keys = [generate_key()]

    with pytest.raises(UndecryptableTokenError, match="malformed"):
        decrypt("not a token", keys=keys)
    with pytest.raises(UndecryptableTokenError, match="malformed"):
        decrypt(encrypt(QUESTION, keys=keys)[:-20], keys=keys)


def test_a_malformed_key_is_named_by_its_position_without_showing_it():
    with pytest.raises(EncryptionKeyError, match="key 2 of 2 is not a Fernet key") as raised:
        encrypt(QUESTION, keys=[generate_key(), "secret-but-wrong"])
    assert "secret-but-wrong" not in str(raised.value)
    with pytest.raises(EncryptionKeyError, match="no audit encryption key"):
        encrypt(QUESTION, keys=[])


def test_the_environment_value_is_a_comma_separated_list_newest_first():
    newest, older = generate_key(), generate_key()

    assert parse_keys(f" {newest} ,{older},") == (newest, older)


def test_configured_keys_win_over_the_laptop_default(tmp_path: Path):
    configured = [generate_key()]

    assert load_encryption_keys(configured, key_dir=tmp_path) == tuple(configured)
    assert not list(tmp_path.iterdir())


def test_the_laptop_default_key_is_generated_once_and_readable_only_by_its_owner(tmp_path: Path):
    key_dir = tmp_path / "var" / "keys"

    first = load_encryption_keys([], key_dir=key_dir)
    second = load_encryption_keys([], key_dir=key_dir)

    assert first == second and len(first) == 1
    assert stat.S_IMODE((key_dir / "audit-encryption.key").stat().st_mode) == 0o600
    assert decrypt(encrypt(QUESTION, keys=first), keys=second) == QUESTION


def test_without_keys_or_a_key_directory_the_error_says_what_to_set():
    with pytest.raises(EncryptionKeyError, match="LANTERN_AUDIT_ENCRYPTION_KEYS"):
        load_encryption_keys([])
