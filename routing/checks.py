"""Start-up checks of the routing app's configuration."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from routing import credentials


@checks.register(checks.Tags.security)
def check_credential_encryption_keys(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Production needs its own keys for the backend API keys tenants store; any key set must be valid."""
    keys = credentials.configured_keys()
    if not keys:
        if getattr(settings, "PRODUCTION", False):
            return [
                checks.Error(
                    f"{credentials.KEYS_SETTING} is not set.",
                    hint="Set it to one or more Fernet keys, newest first "
                    "(make one with audit.encryption.generate_key()).",
                    id="routing.E001",
                )
            ]
        return []  # a laptop derives a key from SECRET_KEY and logs so when it first does
    try:
        credentials.encrypt("check")
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="routing.E002")]
    return []
