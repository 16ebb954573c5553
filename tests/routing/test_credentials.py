"""Backend API keys that tenant admins store are encrypted at rest, rotatable, and fail safe when unreadable."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from audit.encryption import generate_key
from routing import credentials
from routing.checks import check_credential_encryption_keys
from routing.forms import BackendOverrideForm
from routing.models import BackendOverride
from routing.policy import backend_config_for, save_backend_override
from tenancy.context import tenant_context
from tenancy.provisioning import create_tenant

OLD_KEY = generate_key()
NEW_KEY = generate_key()


def stored_column(override_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_api_key FROM routing_backendoverride WHERE id = %s", [override_id])
        return cursor.fetchone()[0]


def test_the_key_is_stored_encrypted_and_read_back_in_clear(acme, settings, in_tenant):
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [OLD_KEY]
    with in_tenant(acme):
        override = save_backend_override(
            tenant_id=acme.pk, name="cloud", base_url="https://gw.example/v1", model="m", api_key="sk-live-abcdef123456"
        )
        column = stored_column(override.pk)
        assert "sk-live" not in column and column.startswith("gAAAA")
        assert backend_config_for(tenant_id=acme.pk, name="cloud").api_key == "sk-live-abcdef123456"


def test_rotation_re_encrypts_under_the_newest_key_and_the_old_key_can_then_go(committed_db, settings):
    acme, _ = create_tenant(slug="acme", name="Acme")
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [OLD_KEY]
    with tenant_context(acme.pk):
        override = save_backend_override(
            tenant_id=acme.pk, name="local", base_url="http://gpu.example/v1", model="m", api_key="sk-old"
        )
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = f"{NEW_KEY}, {OLD_KEY}"
    assert credentials.rotate_backend_keys() == (1, 0)
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [NEW_KEY]
    with tenant_context(acme.pk):
        assert BackendOverride.objects.get(pk=override.pk).api_key == "sk-old"


def test_an_unreadable_key_is_reported_and_the_backend_is_called_without_it(acme, settings, in_tenant, caplog):
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [OLD_KEY]
    with in_tenant(acme):
        save_backend_override(
            tenant_id=acme.pk, name="cloud", base_url="https://gw.example/v1", model="m", api_key="k1"
        )
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [NEW_KEY]
    with in_tenant(acme):
        override = BackendOverride.objects.get(name="cloud")
        assert override.has_api_key and not override.api_key_is_readable
        with pytest.raises(credentials.UnreadableCredentialError, match="enter the API key again"):
            _ = override.api_key
        assert backend_config_for(tenant_id=acme.pk, name="cloud").api_key == ""
    assert "cannot be decrypted" in caplog.text
    assert "k1" not in caplog.text.split()


def test_typing_the_same_key_again_over_an_unreadable_one_replaces_it(acme, settings, in_tenant):
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [OLD_KEY]
    with in_tenant(acme):
        save_backend_override(
            tenant_id=acme.pk, name="cloud", base_url="https://gw.example/v1", model="m", api_key="k1"
        )
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [NEW_KEY]
    with in_tenant(acme):
        save_backend_override(
            tenant_id=acme.pk, name="cloud", base_url="https://gw.example/v1", model="m", api_key="k1"
        )
        assert BackendOverride.objects.get(name="cloud").api_key == "k1"


def test_an_oversized_key_is_refused_with_a_clear_message(acme, in_tenant):
    from django.core.exceptions import ValidationError

    with in_tenant(acme), pytest.raises(ValidationError, match="at most"):
        save_backend_override(tenant_id=acme.pk, name="cloud", base_url="", model="", api_key="k" * 100_000)
        assert not BackendOverride.objects.exists()


def test_the_form_refuses_a_new_key_and_clearing_at_once():
    form = BackendOverrideForm(data={"name": "cloud", "api_key": "sk-new", "remove_api_key": "on"})
    with translation.override("en"):
        assert not form.is_valid()
        assert "not both" in str(form.errors)


def test_a_malformed_configured_key_is_a_configuration_error_naming_its_position(settings):
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [NEW_KEY, "not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="key 2 of 2"):
        credentials.encrypt("x")
    assert [message.id for message in check_credential_encryption_keys(None)] == ["routing.E002"]


def test_production_without_keys_fails_the_system_check(settings):
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = []
    settings.PRODUCTION = True
    messages = check_credential_encryption_keys(None)
    assert [message.level for message in messages] == [checks.ERROR]
    with pytest.raises(ImproperlyConfigured):
        credentials.encrypt("x")


def test_development_derives_a_key_from_secret_key_and_survives_a_secret_key_change(settings):
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = []
    settings.PRODUCTION = False
    token = credentials.encrypt("sk-dev")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert credentials.decrypt(token) == "sk-dev"


def test_the_rotation_command_reports_what_it_rewrote_and_fails_on_unreadable_keys(committed_db, settings, capsys):
    acme, _ = create_tenant(slug="acme", name="Acme")
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [OLD_KEY]
    with tenant_context(acme.pk):
        save_backend_override(
            tenant_id=acme.pk, name="cloud", base_url="https://gw.example/v1", model="m", api_key="k1"
        )
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_backend_keys")
    assert "1 re-encrypted, 0 unreadable" in capsys.readouterr().out
    settings.LANTERN_CREDENTIAL_ENCRYPTION_KEYS = [generate_key()]
    with pytest.raises(CommandError, match="enter them again"):
        call_command("rotate_backend_keys")
