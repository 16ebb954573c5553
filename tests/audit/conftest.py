"""Audit fixtures: dora, acme's auditor, and helpers that fill a chain the way the product does."""

from __future__ import annotations

import pytest
from django.db import connections

import audit
from tenancy.context import tenant_context
from tenancy.provisioning import add_member


@pytest.fixture
def dora(acme):
    return add_member(
        tenant=acme,
        username="dora",
        role="auditor",
        department_code="AUDIT",
        full_name="Dora Lin",
        password="pw-dora-1",
    )


@pytest.fixture
def erin(globex):
    return add_member(tenant=globex, username="erin", role="auditor", department_code="AUDIT", password="pw-erin-1")


def question_payload(number: int, **changes) -> dict:
    """A question event payload shaped like the chat pipeline's."""
    payload = {
        "question_redacted": f"How do I reset my VPN password? ({number})",
        "entities": [],
        "detection_failed": False,
        "policy_version": 3,
        "route": "local",
        "reasons": ["short"],
        "fallbacks": [],
        "sources": [],
        "confidence": 0.82,
        "backend": "extractive",
        "model": "",
        "tokens_in": 12,
        "tokens_out": 40,
        "latency_ms": 8,
        "cost": "0.00015",
        "answer": "Open the IT portal and choose Reset.",
        "message_id": number,
    }
    payload.update(changes)
    return payload


def record_questions(tenant_id: int, count: int, **event_fields) -> None:
    """Record `count` question events in one tenant, each in its own transaction."""
    for number in range(count):
        with tenant_context(tenant_id):
            audit.record(
                tenant_id=tenant_id,
                kind="question",
                payload=question_payload(number),
                actor_username="bob",
                department_code="IT",
                channel="web",
                raw_question=f"My ID is A123456789, reset VPN ({number})",
                **event_fields,
            )


def owner_sql(statement: str, params: list | None = None) -> None:
    """Run SQL with owner rights and the append-only trigger switched off, as an intruder with owner rights."""
    with connections["owner"].cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(statement, params or [])
        cursor.execute("SET session_replication_role = DEFAULT")
