"""The official openai SDK, pointed at a running Lantern, uses it as a governed gateway."""

import openai
import pytest
from django.core.cache import cache

from audit.models import AuditEvent
from chatbot.api_keys import create_api_key
from costing.models import UsageRecord
from tenancy.context import tenant_context
from tenancy.provisioning import add_member, create_tenant
from tests.chatbot.conftest import publish


@pytest.fixture
def bob_sdk(lantern_server):
    """bob of acme, with one FAQ entry and an SDK client holding his API key."""
    tenant, _ = create_tenant(slug="acme", name="Acme 科技", mode="hybrid")
    bob = add_member(tenant=tenant, username="bob", role="employee", department_code="IT", password="pw-bob-1")
    publish(
        tenant, "IT-PW-1", "How do I reset my password?", "Go to https://sso.acme.example/reset and follow the steps."
    )
    with tenant_context(tenant.pk):
        key = create_api_key(membership=bob, name="sdk")
    cache.clear()
    yield bob, openai.OpenAI(base_url=f"{lantern_server}/v1", api_key=key.secret, max_retries=0)
    cache.clear()


def test_sdk_completes_a_chat_with_sources_route_and_one_audit_record(bob_sdk):
    bob, client = bob_sdk
    completion = client.chat.completions.create(
        model="lantern", messages=[{"role": "user", "content": "How do I reset my password?"}]
    )
    assert "sso.acme.example/reset" in completion.choices[0].message.content
    extras = completion.model_extra["lantern"]
    assert extras["route"] in {"local", "extractive"}
    assert extras["sources"][0]["external_id"] == "IT-PW-1"
    with tenant_context(bob.tenant_id):
        event = AuditEvent.objects.get(kind="question")
        assert UsageRecord.objects.count() == 1
    assert event.channel == "api"
    assert event.pk == extras["audit_id"]


def test_sdk_streams_an_answer(bob_sdk):
    bob, client = bob_sdk
    stream = client.chat.completions.create(
        model="lantern", stream=True, messages=[{"role": "user", "content": "How do I reset my password?"}]
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert "sso.acme.example/reset" in text
    assert len(chunks) > 3
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[0].model_extra["lantern"]["route"] in {"local", "extractive"}
    with tenant_context(bob.tenant_id):
        assert AuditEvent.objects.filter(kind="question").count() == 1


def test_sdk_lists_the_model(bob_sdk):
    _, client = bob_sdk
    assert [model.id for model in client.models.list()] == ["lantern"]


def test_a_bad_key_is_an_authentication_error(bob_sdk, lantern_server):
    client = openai.OpenAI(base_url=f"{lantern_server}/v1", api_key="lantern-1-forged", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as error:
        client.models.list()
    assert error.value.code == "invalid_api_key"


def test_an_oversized_question_is_a_bad_request(bob_sdk):
    _, client = bob_sdk
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(model="lantern", messages=[{"role": "user", "content": "x" * 5000}])
    assert error.value.code == "context_length_exceeded"


def test_asking_too_fast_is_a_rate_limit_error(bob_sdk, settings):
    settings.LANTERN_RATE_LIMIT_USER_PER_MINUTE = 1
    _, client = bob_sdk
    client.chat.completions.create(
        model="lantern", messages=[{"role": "user", "content": "How do I reset my password?"}]
    )
    with pytest.raises(openai.RateLimitError) as error:
        client.chat.completions.create(model="lantern", messages=[{"role": "user", "content": "And the VPN?"}])
    assert error.value.code == "rate_limit_exceeded"
