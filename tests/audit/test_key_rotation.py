"""Rotating the encryption key rewrites only the encrypted raw questions, and the chain still verifies."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connections, transaction
from django.test import override_settings

from audit.encryption import decrypt, generate_key
from audit.keys import rotate_raw_question_keys
from audit.log import encryption_keys
from audit.models import AuditEvent
from audit.verification import verify_tenant_chain
from tenancy.context import tenant_context
from tenancy.provisioning import create_tenant
from tests.audit.conftest import record_questions


def test_rotation_reencrypts_with_the_new_key_and_the_chain_still_verifies(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    old_key = encryption_keys()[0]
    new_key = generate_key()
    with override_settings(LANTERN_AUDIT_ENCRYPTION_KEYS=[old_key]):
        record_questions(acme.pk, 3)
    with override_settings(LANTERN_AUDIT_ENCRYPTION_KEYS=[new_key, old_key]):
        assert rotate_raw_question_keys() == 3
        with tenant_context(acme.pk):
            tokens = list(AuditEvent.objects.order_by("seq").values_list("raw_question_encrypted", flat=True))
            assert verify_tenant_chain(tenant=acme).ok
    assert [decrypt(token, keys=[new_key]) for token in tokens] == [
        f"My ID is A123456789, reset VPN ({number})" for number in range(3)
    ]


def test_even_the_owner_cannot_change_a_hashed_column_on_the_rotation_path(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    record_questions(acme.pk, 1)
    owner = connections["owner"]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(using="owner"):
        with owner.cursor() as cursor:
            cursor.execute("SELECT set_config('lantern.audit_rotate', 'on', true)")
            cursor.execute("UPDATE audit_auditevent SET payload = '{}' WHERE tenant_id = %s", [acme.pk])
