"""Encryption at rest of the backend API keys tenant admins store, with key rotation.

Fernet tokens made by audit.encryption's keyed functions, under the keys of LANTERN_CREDENTIAL_ENCRYPTION_KEYS,
newest first: a key is encrypted with the first and decrypted with any of them. To rotate, put a new key first,
run `manage.py rotate_backend_keys`, then drop the old key.

Without configured keys a development installation derives one from SECRET_KEY (and SECRET_KEY_FALLBACKS,
so changing SECRET_KEY the Django way keeps stored keys readable) and logs that it does; production refuses
to run without them (see routing.checks).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from audit import encryption as fernet

logger = logging.getLogger(__name__)

KEYS_SETTING = "LANTERN_CREDENTIAL_ENCRYPTION_KEYS"
_DERIVATION_CONTEXT = b"lantern backend api key encryption"
ROTATION_DATABASE = "owner"  # owns the table, so one pass covers every tenant's rows


class UnreadableCredentialError(ValueError):
    """A stored key that none of the configured encryption keys can decrypt."""


def configured_keys() -> tuple[str, ...]:
    """The keys set in LANTERN_CREDENTIAL_ENCRYPTION_KEYS (a list or a comma-separated string), newest first."""
    value = getattr(settings, KEYS_SETTING, ())
    if isinstance(value, str):
        value = value.split(",")
    return tuple(key.strip() for key in value if key and key.strip())


def encryption_keys() -> tuple[str, ...]:
    """The keys in force: the configured ones, or in development keys derived from the secret key."""
    keys = configured_keys()
    if keys:
        return keys
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured(f"{KEYS_SETTING} must be set in production to store backend API keys")
    _warn_about_derived_keys()
    secrets = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return tuple(derived_key(secret) for secret in secrets)


def derived_key(secret: str) -> str:
    """A Fernet key derived from a secret such as SECRET_KEY."""
    digest = hashlib.sha256(_DERIVATION_CONTEXT + b"\x00" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def encrypt(secret_text: str) -> str:
    """The text as a token under the newest key; "" stays "" (no key stored)."""
    if not secret_text:
        return ""
    return fernet.encrypt(secret_text, keys=_checked_keys())


def decrypt(token: str) -> str:
    """The text of a token made under any of the keys; UnreadableCredentialError when none can read it."""
    if not token:
        return ""
    try:
        return fernet.decrypt(token, keys=_checked_keys())
    except fernet.UndecryptableTokenError:
        raise UnreadableCredentialError(
            f"a stored backend API key cannot be decrypted with the keys in {KEYS_SETTING}: "
            "its key was removed or the value was altered; enter the API key again"
        ) from None


def rotate(token: str) -> str:
    """The token re-encrypted under the newest key."""
    if not token:
        return ""
    try:
        return fernet.rotate(token, keys=_checked_keys())
    except fernet.UndecryptableTokenError:
        raise UnreadableCredentialError(
            "a stored backend API key cannot be decrypted, so it cannot be rotated"
        ) from None


def rotate_backend_keys() -> tuple[int, int]:
    """Re-encrypt every tenant's stored backend API key under the newest key: (rewritten, unreadable)."""
    from routing.models import BackendOverride

    rewritten = unreadable = 0
    with transaction.atomic(using=ROTATION_DATABASE):
        overrides = BackendOverride.unscoped.using(ROTATION_DATABASE).select_for_update().exclude(encrypted_api_key="")
        for override in overrides:
            try:
                override.encrypted_api_key = rotate(override.encrypted_api_key)
            except UnreadableCredentialError:
                unreadable += 1
                continue
            override.save(using=ROTATION_DATABASE, update_fields=["encrypted_api_key"])
            rewritten += 1
    return rewritten, unreadable


def _checked_keys() -> tuple[str, ...]:
    """The keys in force, each a valid Fernet key (ImproperlyConfigured naming the bad one otherwise)."""
    keys = encryption_keys()
    _validate(keys)
    return keys


@functools.lru_cache(maxsize=8)
def _validate(keys: tuple[str, ...]) -> None:
    try:
        fernet.encrypt("", keys=keys)
    except fernet.EncryptionKeyError as error:
        raise ImproperlyConfigured(f"{KEYS_SETTING}: {error}") from None


@functools.lru_cache(maxsize=1)
def _warn_about_derived_keys() -> None:
    logger.warning(
        "%s is not set: backend API keys are encrypted with a key derived from SECRET_KEY "
        "(fine for development; set %s in production)",
        KEYS_SETTING,
        KEYS_SETTING,
    )
