"""Row-level security keeps every tenant's rows to itself, even when application code forgets the filter."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

import audit
import costing
from audit.checkpoints import checkpoint_head
from audit.retention import set_retention
from audit.verification import verify_tenant_chain
from chatbot.api_keys import create_api_key
from chatbot.conversations import give_feedback
from chatbot.models import Conversation, Message
from costing.budgets import set_budget
from costing.defaults import seed_tenant as seed_costing
from costing.rollups import roll_up
from knowledge.faqs import save_faq_entry
from knowledge.gaps import record_unanswered
from knowledge.models import Chunk, Document, FaqEntry, ImportJob, LexicalSnapshot, TermFrequency
from knowledge.tasks import reembed_tenant
from routing.policy import PolicySettings, save_backend_override, save_policy
from tenancy.context import tenant_context
from tenancy.models import TenantOwnedModel


def tenant_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwnedModel) and not model._meta.proxy
    )


def populate(membership) -> None:
    """One row in every tenant table, written the way the product writes them."""
    tenant_id = membership.tenant_id
    with tenant_context(tenant_id):
        save_faq_entry(
            tenant_id=tenant_id,
            external_id=f"{membership.tenant.slug}-vpn",
            question=f"How do I connect to the {membership.tenant.slug} VPN?",
            answer="Open the VPN client and sign in.",
            status="published",
            alternatives=["vpn not working"],
        )
        document = Document.objects.create(
            tenant_id=tenant_id,
            title="VPN guide",
            filename="vpn.md",
            sha256="0" * 64,
            size=3,
            content=b"VPN",
            state=Document.State.READY,
        )
        Chunk.objects.create(tenant_id=tenant_id, document=document, kind=Chunk.Kind.DOCUMENT, text="VPN")
        # What knowledge.lexicon keeps for a large tenant.
        LexicalSnapshot.objects.create(tenant_id=tenant_id, sources=1, average_length=1.0, refreshed_at=timezone.now())
        TermFrequency.objects.create(tenant_id=tenant_id, term="vpn", sources=1, chunks=1)
        ImportJob.objects.create(tenant_id=tenant_id, kind=ImportJob.Kind.FAQ_IMPORT, filename="faqs.csv")
        record_unanswered(tenant_id=tenant_id, question_redacted="Where is the VPN guide?", reason="no_match")
        conversation = Conversation.objects.create(tenant_id=tenant_id, user=membership.user, title="VPN")
        Message.objects.create(tenant_id=tenant_id, conversation=conversation, role="user", text="VPN?")
        answer_message = Message.objects.create(
            tenant_id=tenant_id, conversation=conversation, role="assistant", text="Open the VPN client."
        )
        give_feedback(membership=membership, message=answer_message, helpful=True)
        create_api_key(membership=membership, name="cli")
        correlation_id = uuid.uuid4()
        costing.meter(
            tenant_id=tenant_id,
            department_id=membership.department_id,
            user_id=membership.user_id,
            route="local",
            backend="extractive",
            model="",
            tokens_in=3,
            tokens_out=10,
            tokens_estimated=True,
            latency_ms=5,
            correlation_id=correlation_id,
            occurred_at=timezone.now(),
        )
        audit.record(tenant_id=tenant_id, kind="question", payload={"route": "local"}, correlation_id=correlation_id)
        # Audit: a signed checkpoint, a stored verification and a retention period.
        tenant = membership.tenant
        checkpoint_head(tenant=tenant)
        verify_tenant_chain(tenant=tenant)
        set_retention(tenant=tenant, retention_days=365)
        # Costing: price book, profile, settings, a budget crossed by a cloud question, and the roll-ups.
        seed_costing(tenant_id=tenant_id)
        set_budget(tenant_id=tenant_id, department_id=membership.department_id, soft_limit=None, hard_limit=Decimal(1))
        costing.meter(
            tenant_id=tenant_id,
            department_id=membership.department_id,
            user_id=membership.user_id,
            route="cloud",
            backend="cloud",
            model="gpt-4o",
            tokens_in=1_000_000,
            tokens_out=0,
            tokens_estimated=False,
            latency_ms=5,
            correlation_id=uuid.uuid4(),
            occurred_at=timezone.now(),
        )
        roll_up(tenant_id=tenant_id, through=timezone.localdate())
        # Routing: a policy version and a backend override.
        save_policy(tenant=membership.tenant, policy_settings=PolicySettings(confidential_terms=("merger",)))
        save_backend_override(
            tenant_id=tenant_id, name="cloud", base_url="https://gateway.example/v1", model="m", api_key="k"
        )


@pytest.fixture
def both_tenants(alice, carol):
    populate(alice)
    populate(carol)
    return alice.tenant, carol.tenant


def rows_by_tenant(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT tenant_id FROM "{table}"')  # noqa: S608 - table names come from the models
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_every_tenant_table_has_row_level_security_policies():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relrowsecurity AND c.relkind = 'r' "
            "AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"
        )
        protected = {row[0] for row in cursor.fetchall()}
    missing = set(tenant_tables()) - protected
    assert tenant_tables(), "no tenant tables found"
    assert not missing, f"tenant tables without row-level security: {sorted(missing)}"


def test_raw_select_with_acme_set_returns_no_globex_row_in_any_table(both_tenants):
    acme, globex = both_tenants
    for table in tenant_tables():
        with tenant_context(acme.pk):
            assert rows_by_tenant(table) == {acme.pk}, table
        with tenant_context(globex.pk):
            assert rows_by_tenant(table) == {globex.pk}, table


def test_without_a_tenant_no_row_is_visible(both_tenants):
    for table in tenant_tables():
        assert rows_by_tenant(table) == set(), table


def test_insert_of_another_tenants_row_is_rejected_by_the_database(both_tenants):
    acme, globex = both_tenants
    with tenant_context(acme.pk), pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tenancy_department (tenant_id, code, name, cost_centre) VALUES (%s, 'X', 'X', '')",
                [globex.pk],
            )


def test_update_cannot_move_a_row_to_another_tenant(both_tenants):
    acme, globex = both_tenants
    with tenant_context(acme.pk), pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE knowledge_faqentry SET tenant_id = %s", [globex.pk])


def test_update_and_delete_of_another_tenants_rows_touch_nothing(both_tenants):
    acme, globex = both_tenants
    with tenant_context(acme.pk), connection.cursor() as cursor:
        cursor.execute("UPDATE knowledge_faqentry SET answer = 'hacked' WHERE tenant_id = %s", [globex.pk])
        assert cursor.rowcount == 0
        cursor.execute("DELETE FROM chatbot_message WHERE tenant_id = %s", [globex.pk])
        assert cursor.rowcount == 0
    with tenant_context(globex.pk):
        assert FaqEntry.objects.get().answer == "Open the VPN client and sign in."


def test_scoped_manager_filters_even_inside_another_query(both_tenants):
    acme, _ = both_tenants
    with tenant_context(acme.pk):
        assert set(FaqEntry.unscoped.values_list("tenant_id", flat=True)) == {acme.pk}
        assert set(FaqEntry.objects.values_list("tenant_id", flat=True)) == {acme.pk}


def test_a_celery_task_for_acme_sees_nothing_of_globex(both_tenants):
    acme, globex = both_tenants
    acme_chunks = reembed_tenant.delay(acme.pk).get()
    with tenant_context(globex.pk):
        globex_chunk_count = Chunk.objects.count()
    with tenant_context(acme.pk):
        acme_chunk_count = Chunk.objects.count()
    assert acme_chunks == acme_chunk_count == 3
    assert globex_chunk_count == 3
