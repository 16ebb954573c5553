"""A model server that breaks in the middle of an answer hands over to the next backend of the decision's
chain: the employee gets a whole answer, told that it was retried, stored once, and the privacy rule holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from audit.models import AuditEvent
from chatbot import pipeline
from chatbot.models import Message
from costing.models import UsageRecord
from routing.dispatch import RETRY_NOTICE
from routing.policy import PolicySettings, save_policy
from tenancy.context import tenant_context

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_server import FakeLLMServer, as_backends

LOCAL_ANSWER = "To reset your password, open the SSO page and follow the steps there, one after the other."
LONG_QUESTION = (
    "Could you compare the trade-offs of working from a café against working from a coworking space, "
    "thinking of noise, coffee, ergonomics and the commute, and suggest what a new hire should try first?"
)


@pytest.fixture(scope="module")
def servers():
    with FakeLLMServer(model="local-model") as local, FakeLLMServer(model="cloud-model") as cloud:
        yield local, cloud


@pytest.fixture
def backends(settings, servers, acme_faqs):
    local, cloud = servers
    with as_backends(settings, local, cloud, LANTERN_BACKEND_TIMEOUT_SECONDS=0.5):
        yield local, cloud


def streamed(bob, question: str) -> tuple[list[pipeline.Opening], str, pipeline.Answer]:
    with tenant_context(bob.tenant_id):
        prepared = pipeline.prepare_question(membership=bob, question=question)
    openings, pieces, answers = [], [], []
    for event in pipeline.stream_answer(prepared):
        if isinstance(event, pipeline.Opening):
            openings.append(event)
        elif isinstance(event, str):
            pieces.append(event)
        else:
            answers.append(event)
    assert len(answers) == 1
    return openings, "".join(pieces), answers[0]


@pytest.mark.parametrize("kind", ["drop", "garbage", "error"])
def test_the_local_model_breaking_midway_falls_back_to_the_faq_answer(kind, bob, backends):
    local, _cloud = backends
    local.answer(LOCAL_ANSWER)
    local.break_midway(kind, after_events=3)
    openings, text, reply = streamed(bob, "How do I reset my password?")
    assert [opening.route for opening in openings] == ["local", "extractive"]
    assert isinstance(openings[1], pipeline.Reopening)
    assert RETRY_NOTICE["en"] in text
    assert "sso.acme.example/reset" in text
    assert reply.status == Message.Status.COMPLETE
    assert reply.route == "extractive"
    assert "fallback:local" in reply.reasons
    with tenant_context(bob.tenant_id):
        message = Message.objects.get(role="assistant")
        event = AuditEvent.objects.get(kind="question")
        assert UsageRecord.objects.get().route == "extractive"
    assert message.text == reply.text and "sso.acme.example/reset" in message.text
    assert event.payload["fallbacks"] == ["fallback:local"]


def test_a_failure_before_the_first_word_falls_back_without_a_notice(bob, backends):
    local, _cloud = backends
    local.answer(LOCAL_ANSWER)
    local.break_midway("garbage", after_events=0)
    openings, text, reply = streamed(bob, "How do I reset my password?")
    assert [opening.route for opening in openings] == ["extractive"]
    assert RETRY_NOTICE["en"] not in text
    assert reply.status == Message.Status.COMPLETE and "fallback:local" in reply.reasons


def test_a_cloud_breaking_midway_hands_a_long_question_to_the_local_model(acme, bob, backends):
    local, cloud = backends
    with tenant_context(acme.pk):
        save_policy(tenant=acme, policy_settings=PolicySettings(mode="hybrid", length_threshold=100))
    cloud.answer("A long cloud answer that will never finish because the server breaks down in the middle.")
    cloud.break_midway("garbage", after_events=2)
    local.answer(LOCAL_ANSWER)
    openings, text, reply = streamed(bob, LONG_QUESTION)
    assert [opening.route for opening in openings] == ["cloud", "local"]
    assert text.endswith(LOCAL_ANSWER)
    assert reply.route == "local" and "fallback:cloud" in reply.reasons
    assert len(cloud.requests) == 1 and len(local.requests) == 1


def test_a_sensitive_question_whose_local_model_breaks_never_falls_back_to_the_cloud(acme, bob, backends):
    local, cloud = backends
    with tenant_context(acme.pk):
        save_policy(tenant=acme, policy_settings=PolicySettings(mode="hybrid", length_threshold=10))
    local.answer(LOCAL_ANSWER)
    local.break_midway("drop", after_events=2)
    question = "My national ID is A123456789 and I cannot reset my password, what now?"
    openings, _text, reply = streamed(bob, question)
    assert "cloud" not in [opening.route for opening in openings]
    assert reply.sensitive and reply.status == Message.Status.COMPLETE
    assert not cloud.requests
    with tenant_context(bob.tenant_id):
        payloads = json.dumps([event.payload for event in AuditEvent.objects.all()])
    assert "A123456789" not in payloads


def test_a_stall_midway_is_cut_off_within_the_answer_time_budget(bob, backends, settings):
    local, _cloud = backends
    settings.LANTERN_BACKEND_TIMEOUT_SECONDS = 30
    settings.LANTERN_ANSWER_TIME_BUDGET_SECONDS = 1.0
    local.answer(LOCAL_ANSWER)
    local.break_midway("stall", after_events=2)
    openings, text, reply = streamed(bob, "How do I reset my password?")
    assert [opening.route for opening in openings] == ["local", "extractive"]
    assert reply.status == Message.Status.COMPLETE and "sso.acme.example/reset" in text
    with tenant_context(bob.tenant_id):
        assert AuditEvent.objects.get(kind="question").payload["latency_ms"] < 10_000
