"""The auditor's pages: who may open them, what they show, and exports an outsider can verify."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

import audit
from audit.checkpoints import checkpoint_head
from audit.models import AuditEvent, EventKind
from audit.signing import read_checkpoints, verify_export
from tenancy.context import tenant_context
from tests.audit.conftest import question_payload


@pytest.fixture
def acme_questions(bob, in_tenant):
    """Three questions in acme: a local one, a sensitive cloud one with an FAQ source, a refusal."""
    with in_tenant(bob.tenant):
        local = audit.record(
            tenant_id=bob.tenant_id,
            kind="question",
            payload=question_payload(1),
            actor_user_id=bob.user_id,
            actor_username="bob",
            department_code="IT",
            channel="web",
            raw_question="How do I reset my VPN password? (1)",
        )
        sensitive = audit.record(
            tenant_id=bob.tenant_id,
            kind="question",
            payload=question_payload(
                2,
                question_redacted="My ID is <TW_NATIONAL_ID>, what is my leave balance?",
                entities=[{"type": "TW_NATIONAL_ID", "start": 9, "end": 19}],
                route="cloud",
                backend="cloud",
                fallbacks=["local"],
                cost="0.0123",
                sources=[
                    {"kind": "faq", "id": 17, "external_id": "HR-7", "title": "Leave", "score": 0.9, "version": 4}
                ],
            ),
            actor_username="bob",
            department_code="HR",
            raw_question="My ID is A123456789, what is my leave balance?",
        )
        refused = audit.record(
            tenant_id=bob.tenant_id,
            kind="question",
            payload=question_payload(3, route="refused", question_redacted="Tell me the CEO's salary"),
            actor_username="bob",
            department_code="IT",
        )
    return local.seq, sensitive.seq, refused.seq


@pytest.mark.parametrize("page", ["/audit/", "/audit/summary/", "/audit/verification/", "/audit/export.csv"])
def test_an_employee_cannot_open_audit_pages(client, bob, page):
    client.force_login(bob.user)

    assert client.get(page).status_code == 403


def test_the_auditor_searches_by_department_route_entity_and_text(client, dora, acme_questions):
    client.force_login(dora.user)

    assert "leave balance" in client.get("/audit/?department=HR").content.decode()
    assert "VPN password" not in client.get("/audit/?department=HR").content.decode()
    assert "CEO" in client.get("/audit/?route=refused").content.decode()
    assert "leave balance" in client.get("/audit/?entity=TW_NATIONAL_ID").content.decode()
    assert "leave balance" in client.get("/audit/?cost_min=0.01").content.decode()
    assert "VPN password" not in client.get("/audit/?cost_min=0.01").content.decode()
    assert "CEO" in client.get("/audit/?q=ceo").content.decode()


def test_the_event_list_pages_by_sequence_number(client, dora, acme_questions, monkeypatch):
    monkeypatch.setattr("audit.views.PAGE_SIZE", 2)
    client.force_login(dora.user)

    first = client.get("/audit/?kind=question")
    second = client.get(f"/audit/?kind=question&before={first.context['page'].next_before_seq}")

    local, sensitive, refused = acme_questions
    assert [event.seq for event in first.context["page"].events] == [refused, sensitive]
    assert [event.seq for event in second.context["page"].events] == [local]
    assert second.context["page"].next_before_seq is None


def test_the_event_detail_links_to_the_faq_version_used(client, dora, acme_questions):
    client.force_login(dora.user)

    page = client.get(f"/audit/events/{acme_questions[1]}/").content.decode()

    assert 'href="/knowledge/faqs/17/"' in page
    assert "TW_NATIONAL_ID" in page
    assert "A123456789" not in page


def test_the_auditor_reads_the_raw_question_and_the_reading_is_audited(client, dora, acme_questions):
    client.force_login(dora.user)

    response = client.post(f"/audit/events/{acme_questions[1]}/raw/", {"reason": "data subject request"})

    assert "A123456789" in response.content.decode()
    with tenant_context(dora.tenant_id):
        reading = AuditEvent.objects.get(kind=EventKind.RAW_QUESTION_READ)
    assert reading.payload["reason"] == "data subject request"


def test_a_tenant_admin_sees_audit_pages_but_cannot_decrypt(client, alice, acme_questions):
    client.force_login(alice.user)

    assert client.get(f"/audit/events/{acme_questions[1]}/").status_code == 200
    assert "Read raw question" not in client.get(f"/audit/events/{acme_questions[1]}/").content.decode()
    response = client.post(f"/audit/events/{acme_questions[1]}/raw/", {"reason": "curious"})
    assert response.status_code == 403
    assert "A123456789" not in response.content.decode()


def test_another_tenants_auditor_sees_none_of_acmes_events(client, erin, acme_questions):
    client.force_login(erin.user)

    assert "leave balance" not in client.get("/audit/").content.decode()
    assert client.get(f"/audit/events/{acme_questions[1]}/").status_code == 404
    exported = b"".join(client.get("/audit/export.jsonl").streaming_content).decode()
    assert all(json.loads(line)["tenant_id"] == erin.tenant_id for line in exported.splitlines())


def test_a_json_lines_export_is_recorded_and_verifies_offline(client, dora, acme_questions):
    with tenant_context(dora.tenant_id):
        checkpoint_head(tenant=dora.tenant)
    client.force_login(dora.user)

    exported = b"".join(client.get("/audit/export.jsonl").streaming_content).decode()
    checkpoints = client.get("/audit/checkpoints.jsonl").content.decode()
    public_key = client.get("/audit/public-key.pem").content.decode()

    result = verify_export(
        [json.loads(line) for line in exported.splitlines()], read_checkpoints(checkpoints.splitlines()), public_key
    )
    assert result.ok, result.first_break
    assert result.checkpoints_matched == 1
    kinds = [json.loads(line)["kind"] for line in exported.splitlines()]
    assert EventKind.EXPORT_MADE in kinds


def test_a_csv_export_carries_the_chain_fields_of_the_filtered_events(client, dora, acme_questions):
    client.force_login(dora.user)

    response = client.get("/audit/export.csv?route=cloud")
    rows = b"".join(response.streaming_content).decode().splitlines()

    assert rows[0].split(",")[:4] == ["tenant_id", "seq", "prev_hash", "hash"]
    assert len(rows) == 2
    assert "leave balance" in rows[1]
    with tenant_context(dora.tenant_id):
        export_event = AuditEvent.objects.get(kind=EventKind.EXPORT_MADE)
    assert export_event.payload == {"format": "csv", "filters": {"route": "cloud"}}


def test_the_summary_counts_routes_sensitive_questions_fallbacks_and_refusals(client, dora, acme_questions):
    client.force_login(dora.user)

    summary = client.get("/audit/summary/").context["summary"]

    assert summary.questions == 3
    assert summary.sensitive == 1
    assert summary.with_fallback == 1
    assert summary.refused == 1
    assert summary.days[0].counts == {"cloud": 1, "local": 1, "refused": 1}


def test_the_verification_page_shows_the_last_result(client, dora, acme_questions):
    call_command("verify_audit", "--tenant", "acme", stdout=io.StringIO())
    client.force_login(dora.user)

    verification = client.get("/audit/verification/").context["verification"]

    assert verification.ok
    assert verification.events_checked == verification.last_seq
