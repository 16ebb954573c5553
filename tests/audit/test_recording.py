"""Every kind of event reaches the chain: questions with an encrypted raw text, logins, roles, readings."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

import audit
from audit.chain import GENESIS_HASH, link_hash
from audit.encryption import decrypt
from audit.log import encryption_keys
from audit.models import AuditEvent, EventKind
from audit.raw_questions import RawQuestionDenied, read_raw_question
from tenancy.context import tenant_context
from tenancy.provisioning import add_member
from tests.audit.conftest import question_payload


def events_of(tenant_id: int, kind: str) -> list[AuditEvent]:
    with tenant_context(tenant_id):
        return list(AuditEvent.objects.filter(kind=kind).order_by("seq"))


def test_a_question_keeps_its_raw_text_encrypted_outside_the_payload(bob, in_tenant):
    with in_tenant(bob.tenant):
        event = audit.record(
            tenant_id=bob.tenant_id, kind="question", payload=question_payload(1), raw_question="My ID is A123456789"
        )

    assert "A123456789" not in event.raw_question_encrypted
    assert "A123456789" not in str(event.payload)
    assert decrypt(event.raw_question_encrypted, keys=encryption_keys()) == "My ID is A123456789"


def test_an_auditor_reads_the_raw_question_with_a_reason_and_the_reading_is_recorded(dora, bob, in_tenant):
    with in_tenant(bob.tenant):
        event = audit.record(tenant_id=bob.tenant_id, kind="question", payload={}, raw_question="薪資 A123456789")
        text = read_raw_question(event=event, reader=dora, reason="complaint #42")

    assert text == "薪資 A123456789"
    [reading] = events_of(dora.tenant_id, EventKind.RAW_QUESTION_READ)
    assert reading.actor_username == "dora"
    assert reading.payload == {
        "event_seq": event.seq,
        "event_correlation_id": str(event.correlation_id),
        "reason": "complaint #42",
    }


def test_a_tenant_admin_may_not_read_raw_questions(alice, in_tenant):
    with in_tenant(alice.tenant):
        event = audit.record(tenant_id=alice.tenant_id, kind="question", payload={}, raw_question="secret")
        with pytest.raises(RawQuestionDenied):
            read_raw_question(event=event, reader=alice, reason="curious")
    assert events_of(alice.tenant_id, EventKind.RAW_QUESTION_READ) == []


def test_reading_without_a_reason_is_refused_and_not_recorded(dora, in_tenant):
    with in_tenant(dora.tenant):
        event = audit.record(tenant_id=dora.tenant_id, kind="question", payload={}, raw_question="secret")
        with pytest.raises(RawQuestionDenied):
            read_raw_question(event=event, reader=dora, reason="  ")
    assert events_of(dora.tenant_id, EventKind.RAW_QUESTION_READ) == []


def test_a_failed_login_is_recorded_on_the_users_tenant(client, bob):
    assert not client.login(username="bob", password="wrong")

    [failure] = events_of(bob.tenant_id, EventKind.LOGIN_FAILED)
    assert failure.actor_username == "bob"
    assert failure.actor_user_id == bob.user_id


def test_a_failed_login_for_an_unknown_username_records_nothing(client, bob):
    assert not client.login(username="mallory", password="guess")

    assert events_of(bob.tenant_id, EventKind.LOGIN_FAILED) == []


def test_a_role_change_is_recorded(bob):
    add_member(tenant=bob.tenant, username="bob", role="curator", department_code="IT")

    changes = events_of(bob.tenant_id, EventKind.MEMBER_ROLE_CHANGED)
    assert [event.payload for event in changes] == [
        {"username": "bob", "previous_role": "", "role": "employee"},
        {"username": "bob", "previous_role": "employee", "role": "curator"},
    ]


def test_the_application_role_cannot_update_or_delete_events_even_with_the_purge_or_rotate_flag(bob, in_tenant):
    with in_tenant(bob.tenant):
        event = audit.record(tenant_id=bob.tenant_id, kind="question", payload={}, raw_question="x")
    for flag, statement in (
        ("lantern.audit_purge", "DELETE FROM audit_auditevent WHERE id = %s"),
        ("lantern.audit_rotate", "UPDATE audit_auditevent SET raw_question_encrypted = '' WHERE id = %s"),
        ("lantern.audit_rotate", "UPDATE audit_auditevent SET payload = '{}' WHERE id = %s"),
    ):
        with in_tenant(bob.tenant), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [flag])
                cursor.execute(statement, [event.pk])


def test_the_database_finishes_each_hash_exactly_as_audit_chain_defines_it(bob, in_tenant):
    with in_tenant(bob.tenant):
        for number in range(3):
            audit.record(tenant_id=bob.tenant_id, kind=EventKind.QUESTION, payload=question_payload(number))
        events = list(AuditEvent.objects.order_by("seq"))

    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert len(events) >= 3
    for previous, event in zip([None, *events], events, strict=False):
        assert event.prev_hash == (previous.hash if previous else GENESIS_HASH)
        assert event.hash == link_hash(event.chain_fields(), event.prev_hash)
