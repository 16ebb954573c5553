"""The REST API for curators (FAQ entries), auditors (audit search) and finance (usage): roles, tenants,
bad input in the one error shape, and the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from chatbot import pipeline
from chatbot.api_keys import create_api_key
from costing.periods import first_of_month, today
from knowledge.models import FaqEntry, FaqRevision
from tenancy.context import tenant_context
from tenancy.provisioning import add_member

JSON = "application/json"


def bearer(membership) -> dict:
    with tenant_context(membership.tenant_id):
        secret = create_api_key(membership=membership, name="script").secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def dora(acme):
    return add_member(tenant=acme, username="dora", role="curator", department_code="HR")


@pytest.fixture
def otto(acme):
    return add_member(tenant=acme, username="otto", role="auditor", department_code="FIN")


@pytest.fixture
def fiona(acme):
    return add_member(tenant=acme, username="fiona", role="finance", department_code="FIN")


@pytest.fixture
def gary(globex):
    return add_member(tenant=globex, username="gary", role="tenant_admin", department_code="IT")


LEAVE = {
    "external_id": "HR-LEAVE-9",
    "question": "How many days of annual leave do I get?",
    "answer": "Seven days after one year of service.",
    "category": "leave",
    "language": "en",
    "status": "published",
    "owner_department": "HR",
    "alternatives": ["annual leave days", "特休幾天"],
}


def test_a_curator_creates_lists_and_edits_entries_with_revisions_and_audit_events(client, dora):
    headers = bearer(dora)
    created = client.post(reverse("api:faqs"), LEAVE, content_type=JSON, **headers)
    assert created.status_code == 201, created.content
    entry = created.json()
    assert entry["alternatives"] == ["annual leave days", "特休幾天"] and entry["owner_department"] == "HR"
    listed = client.get(reverse("api:faqs"), {"status": "published", "q": "特休"}, **headers).json()
    assert [item["id"] for item in listed["results"]] == [entry["id"]] and listed["count"] == 1
    assert client.get(reverse("api:faqs"), {"status": "draft"}, **headers).json()["count"] == 0
    edited = client.patch(
        reverse("api:faq", args=[entry["id"]]),
        {"answer": "Seven days; ten after three years."},
        content_type=JSON,
        **headers,
    )
    assert edited.status_code == 200
    assert edited.json()["version"] == 2 and edited.json()["question"] == LEAVE["question"]
    archived = client.patch(
        reverse("api:faq", args=[entry["id"]]), {"status": "archived"}, content_type=JSON, **headers
    )
    assert archived.json()["status"] == "archived"
    with tenant_context(dora.tenant_id):
        assert FaqRevision.objects.filter(faq_entry_id=entry["id"]).count() == 3
        kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"faq_published", "faq_archived"} <= kinds


def test_an_entry_cannot_take_an_external_id_in_use_or_change_its_own(client, dora):
    headers = bearer(dora)
    entry = client.post(reverse("api:faqs"), LEAVE, content_type=JSON, **headers).json()
    again = client.post(reverse("api:faqs"), LEAVE, content_type=JSON, **headers)
    assert again.status_code == 400
    assert "external_id" in again.json()["error"]["fields"]
    renamed = client.patch(reverse("api:faq", args=[entry["id"]]), {"external_id": "X"}, content_type=JSON, **headers)
    assert renamed.status_code == 400
    with tenant_context(dora.tenant_id):
        assert FaqEntry.objects.get().external_id == "HR-LEAVE-9"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "", "answer": "a"}, "question"),
        ({"question": "q?", "answer": "a" * 20_001}, "answer"),
        ({"question": "q?", "answer": "a", "status": "deleted"}, "status"),
        ({"question": "q?", "answer": "a", "owner_department": "NOPE"}, "owner_department"),
        ({"question": "q?", "answer": "a", "alternatives": ["x"] * 51}, "alternatives"),
        ({"question": "q?", "answer": "a", "tags": {"nested": {"deeply": [1, 2]}}}, "tags"),
    ],
)
def test_bad_entries_are_refused_field_by_field_and_nothing_is_stored(client, dora, body, field):
    response = client.post(reverse("api:faqs"), body, content_type=JSON, **bearer(dora))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]
    with tenant_context(dora.tenant_id):
        assert not FaqEntry.objects.exists()


def test_malformed_json_and_bad_query_values_get_a_clear_400(client, dora):
    headers = bearer(dora)
    broken = client.post(reverse("api:faqs"), b"{not json", content_type=JSON, **headers)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "parse_error"
    assert client.get(reverse("api:faqs"), {"page": "abc"}, **headers).json()["error"]["fields"]["page"]
    assert client.get(reverse("api:faqs"), {"status": "gone"}, **headers).status_code == 400
    assert "language" in client.get(reverse("api:faqs"), {"language": "klingon"}, **headers).json()["error"]["fields"]


def test_another_tenants_entries_are_invisible_and_untouchable(client, dora, gary):
    entry = client.post(reverse("api:faqs"), LEAVE, content_type=JSON, **bearer(dora)).json()
    headers = bearer(gary)
    assert client.get(reverse("api:faqs"), **headers).json()["count"] == 0
    assert client.get(reverse("api:faq", args=[entry["id"]]), **headers).status_code == 404
    patched = client.patch(reverse("api:faq", args=[entry["id"]]), {"answer": "pwned"}, content_type=JSON, **headers)
    assert patched.status_code == 404 and patched.json()["error"]["code"] == "not_found"
    with tenant_context(dora.tenant_id):
        assert FaqEntry.objects.get().answer == LEAVE["answer"]


@pytest.mark.parametrize("name", ["api:faqs", "api:audit_events", "api:usage"])
def test_an_employee_is_refused_each_role_endpoint_in_the_error_shape(client, bob, name):
    response = client.get(reverse(name), **bearer(bob))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_auditor_searches_question_events_without_the_encrypted_raw_text(client, bob, otto, carol, acme_faqs):
    with tenant_context(bob.tenant_id):
        pipeline.answer(membership=bob, question="My ID is A123456789, how do I reset my password?")
        pipeline.answer(membership=bob, question="vpn not working")
    with tenant_context(carol.tenant_id):
        pipeline.answer(membership=carol, question="How do I reset my password?")
    headers = bearer(otto)
    page = client.get(reverse("api:audit_events"), {"kind": "question", "entity": "TW_NATIONAL_ID"}, **headers).json()
    assert len(page["results"]) == 1
    event = page["results"][0]
    assert "raw_question_encrypted" not in event
    assert "A123456789" not in str(event) and event["actor_username"] == "bob"
    everything = client.get(reverse("api:audit_events"), {"kind": "question"}, **headers).json()["results"]
    assert {item["actor_username"] for item in everything} == {"bob"}
    assert [item["seq"] for item in everything] == sorted((item["seq"] for item in everything), reverse=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [({"date_from": "yesterday"}, "date_from"), ({"cost_max": "cheap"}, "cost_max"), ({"route": "moon"}, "route")],
)
def test_bad_audit_filters_are_named(client, otto, query, field):
    response = client.get(reverse("api:audit_events"), query, **bearer(otto))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_finance_reads_the_months_usage_per_department(client, bob, fiona, acme_faqs):
    with tenant_context(bob.tenant_id):
        pipeline.answer(membership=bob, question="How do I reset my password?")
    body = client.get(reverse("api:usage"), **bearer(fiona)).json()
    assert body["month"] == first_of_month(today()).strftime("%Y-%m")
    it = next(line for line in body["departments"] if line["code"] == "IT")
    assert it["questions"] == 1 and sum(it["questions_by_route"].values()) == 1
    assert set(it["total"]) == {"usd", "ntd"}
    refused = client.get(reverse("api:usage"), {"month": "2026-13"}, **bearer(fiona))
    assert refused.status_code == 400 and "month" in refused.json()["error"]["fields"]


def test_the_schema_describes_the_role_endpoints(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"/api/faqs/", "/api/faqs/{entry_id}/", "/api/audit/events/", "/api/usage/"} <= set(schema["paths"])


def test_an_entry_without_a_department_says_null_as_the_schema_allows(client, dora):
    created = client.post(reverse("api:faqs"), {"question": "Q?", "answer": "A."}, content_type=JSON, **bearer(dora))
    assert created.json()["owner_department"] is None
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["schemas"]["FaqEntryOutput"]["properties"]["owner_department"]["nullable"] is True
