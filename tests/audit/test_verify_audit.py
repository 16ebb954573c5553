"""verify_audit names each kind of tampering made with owner rights, and exits non-zero."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.chain import link_hash
from audit.checkpoints import checkpoint_head
from audit.models import AuditEvent, ChainHead
from audit.retention import set_retention
from audit.verification import latest_verification
from tenancy.context import tenant_context
from tenancy.provisioning import create_tenant
from tests.audit.conftest import owner_sql, record_questions


@pytest.fixture
def chain(committed_db):
    """acme with 20 question events, a checkpoint at seq 20."""
    acme, _ = create_tenant(slug="acme", name="Acme")
    record_questions(acme.pk, 20)
    with tenant_context(acme.pk):
        checkpoint_head(tenant=acme)
    return acme


def verify(*arguments: str) -> tuple[bool, str]:
    output = io.StringIO()
    try:
        call_command("verify_audit", *arguments, stdout=output)
    except CommandError as error:
        assert error.returncode == 1
        return False, output.getvalue()
    return True, output.getvalue()


def test_an_untouched_chain_verifies_and_the_result_is_stored(chain):
    ok, output = verify("--tenant", "acme")

    assert ok, output
    assert "20 events" in output
    with tenant_context(chain.pk):
        assert latest_verification(tenant_id=chain.pk).ok


def test_a_changed_payload_is_named_modified(chain):
    owner_sql(
        'UPDATE audit_auditevent SET payload = payload || \'{"route": "cloud"}\' WHERE tenant_id = %s AND seq = 5',
        [chain.pk],
    )

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 5 (modified)" in output
    with tenant_context(chain.pk):
        stored = latest_verification(tenant_id=chain.pk)
    assert (stored.ok, stored.break_seq, stored.break_kind) == (False, 5, "modified")


@pytest.mark.parametrize(
    "tampering",
    [
        "UPDATE audit_auditevent SET occurred_at = occurred_at + interval '1 microsecond' "
        "WHERE tenant_id = %s AND seq = 6",
        "UPDATE audit_auditevent SET correlation_id = gen_random_uuid() WHERE tenant_id = %s AND seq = 6",
    ],
)
def test_a_time_moved_by_a_microsecond_or_a_new_correlation_id_is_named_modified(chain, tampering):
    owner_sql(tampering, [chain.pk])

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 6 (modified)" in output


def test_a_deleted_row_is_named_deleted(chain):
    owner_sql("DELETE FROM audit_auditevent WHERE tenant_id = %s AND seq = 7", [chain.pk])

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 7 (deleted)" in output


def test_a_swapped_pair_is_named_at_the_first_of_the_two(chain):
    owner_sql("UPDATE audit_auditevent SET seq = -8 WHERE tenant_id = %s AND seq = 8", [chain.pk])
    owner_sql("UPDATE audit_auditevent SET seq = 8 WHERE tenant_id = %s AND seq = 9", [chain.pk])
    owner_sql("UPDATE audit_auditevent SET seq = 9 WHERE tenant_id = %s AND seq = -8", [chain.pk])

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 8" in output


def test_an_inserted_forged_row_with_a_correct_hash_is_named_inserted(chain):
    with tenant_context(chain.pk):
        last = AuditEvent.objects.get(seq=20)
    forged = AuditEvent(
        tenant_id=chain.pk,
        seq=21,
        prev_hash=last.hash,
        occurred_at=timezone.now(),
        kind="question",
        correlation_id=last.correlation_id,
        payload={"route": "local", "question_redacted": "forged"},
    )
    forged.hash = link_hash(forged.chain_fields(), forged.prev_hash)
    forged.save(using="owner", force_insert=True)

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 21 (inserted)" in output


def test_a_tail_rewritten_with_recomputed_hashes_breaks_the_signed_checkpoint(chain):
    record_questions(chain.pk, 5)
    with tenant_context(chain.pk):
        events = list(AuditEvent.objects.filter(seq__gte=15).order_by("seq"))
        previous = AuditEvent.objects.get(seq=14).hash
    for event in events:
        event.payload = {**event.payload, "answer": "rewritten"}
        event.prev_hash = previous
        event.hash = link_hash(event.chain_fields(), previous)
        previous = event.hash
        owner_sql(
            "UPDATE audit_auditevent SET payload = %s::jsonb, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(event.payload), event.prev_hash, event.hash, event.pk],
        )
    owner_sql("UPDATE audit_chainhead SET hash = %s WHERE tenant_id = %s", [previous, chain.pk])

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 20 (checkpoint_mismatch)" in output


def test_removing_the_last_events_is_named_truncated(chain):
    owner_sql("DELETE FROM audit_auditevent WHERE tenant_id = %s AND seq > 17", [chain.pk])

    ok, output = verify("--tenant", "acme")

    assert not ok
    assert "BROKEN at seq 18 (truncated)" in output


def test_since_starts_from_the_last_checkpoint_before_the_day(chain):
    ok, output = verify("--tenant", "acme", "--since", (timezone.localdate() + timedelta(days=1)).isoformat())

    assert ok, output
    assert "0 events through seq 20" in output


def test_the_purge_checkpoints_first_so_the_chain_still_verifies_and_other_deletions_still_show(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    record_questions(acme.pk, 10, occurred_at=timezone.now() - timedelta(days=400))
    record_questions(acme.pk, 10)
    with tenant_context(acme.pk):
        set_retention(tenant=acme, retention_days=365)

    call_command("purge_audit", "--tenant", "acme", stdout=io.StringIO())

    with tenant_context(acme.pk):
        assert list(AuditEvent.objects.values_list("seq", flat=True).order_by("seq")) == list(range(11, 21))
        assert ChainHead.objects.get().seq == 20
    ok, output = verify("--tenant", "acme")
    assert ok, output

    owner_sql("DELETE FROM audit_auditevent WHERE tenant_id = %s AND seq = 11", [acme.pk])
    ok, output = verify("--tenant", "acme")
    assert not ok
    assert "BROKEN at seq 11 (deleted)" in output


def test_an_unknown_tenant_is_an_error(chain):
    with pytest.raises(CommandError, match="No tenant 'nobody'"):
        call_command("verify_audit", "--tenant", "nobody")
