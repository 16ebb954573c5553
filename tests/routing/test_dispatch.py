"""Running a decision: what each backend is sent, placeholders restored in the answer, and fallback, timeouts,
retries and circuit breakers as the router sees them. Real HTTP to a loopback server through the openai SDK."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from knowledge.retrieval import SearchHit
from routing.backends import BackendError, ChatTurn
from routing.breaker import reset_breakers
from routing.dispatch import generate_on, outgoing_text
from routing.policy import PolicySettings, backend_health, decide_for, save_policy, scan_question
from routing.router import Target

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_server import FakeLLMServer, as_backends

LAPTOPS = SearchHit(
    kind="faq",
    id=7,
    title="Who orders laptops for Project Falcon?",
    text="The Project Falcon PMO orders them; ask 王愛麗 in HR.",
    score=0.4,
)
LONG_QUESTION = "How do I request a new laptop, who approves it and how long does delivery take? " * 5


@pytest.fixture(scope="module")
def local_server():
    with FakeLLMServer(model="local-model") as server:
        yield server


@pytest.fixture(scope="module")
def cloud_server():
    with FakeLLMServer(model="cloud-model") as server:
        yield server


@pytest.fixture
def backends(settings, local_server, cloud_server):
    with as_backends(
        settings,
        local_server,
        cloud_server,
        LANTERN_BACKEND_TIMEOUT_SECONDS=0.2,
        LANTERN_BREAKER_FAILURE_THRESHOLD=2,
        LANTERN_BREAKER_COOL_DOWN_SECONDS=30,
    ):
        yield local_server, cloud_server


@pytest.fixture
def acme_policy(acme, alice, bob, in_tenant):
    def save(**chosen):
        with in_tenant(acme):
            save_policy(
                tenant=acme,
                policy_settings=PolicySettings(
                    confidential_terms=("Project Falcon",), employee_id_pattern="E[0-9]{5}", **chosen
                ),
            )

    save()
    return save


def route(acme, question, history=(), sources=(LAPTOPS,)):
    """The pipeline's path: scan, decide, then the chain until a backend answers."""
    scan = scan_question(tenant_id=acme.pk, question=question, history=history)
    decision = decide_for(
        tenant=acme, department_code="IT", scan=scan, confidence=0.1, length=len(question), over_budget=False
    )
    taken = []
    for target in decision.chain:
        try:
            generation = generate_on(
                target, question=question, scan=scan, redact=decision.redact, sources=sources, history=history
            )
        except BackendError:
            taken.append(f"fallback:{target}")
            continue
        return decision, target, generation, taken
    raise AssertionError("no answer")


def sent_text(server) -> str:
    return "\n".join(json.dumps(body, ensure_ascii=False) for body in server.requests)


def test_redaction_round_trip_the_cloud_sees_placeholders_and_the_employee_sees_the_values(
    acme, acme_policy, backends, in_tenant
):
    _local, cloud = backends
    acme_policy(mode="cloud_only", allow_redacted_cloud=True)
    cloud.answer("Update the account of <PERSON_1> with ID <TW_NATIONAL_ID_1> in the HR portal [1].")
    with in_tenant(acme):
        decision, target, generation, _ = route(acme, "王愛麗的身分證 A123456789 要怎麼更新？")
    sent = sent_text(cloud)
    assert (target, decision.redact) == (Target.CLOUD, True)
    assert "王愛麗" not in sent and "A123456789" not in sent
    assert "<PERSON_1>" in sent and "<TW_NATIONAL_ID_1>" in sent
    assert generation.text == "Update the account of 王愛麗 with ID A123456789 in the HR portal [1]."


def test_history_and_sources_sent_to_the_cloud_are_redacted_with_shared_placeholders(
    acme, acme_policy, backends, in_tenant
):
    _local, cloud = backends
    acme_policy(mode="cloud_only", allow_redacted_cloud=True)
    history = (ChatTurn("user", "I'm on Project Falcon with Bob Chen."), ChatTurn("assistant", "Noted, Bob Chen."))
    with in_tenant(acme):
        decision, target, _generation, _ = route(acme, "Can Bob Chen order my laptop?", history=history)
    sent = sent_text(cloud)
    assert target == Target.CLOUD
    assert "history_pii:CONFIDENTIAL_TERM" in decision.reasons
    for value in ("Bob Chen", "Project Falcon", "王愛麗"):
        assert value not in sent
    # One value, one placeholder, wherever it appears.
    assert sent.count("<PERSON_1>") >= 3


def test_a_harmless_long_question_goes_to_the_cloud_but_confidential_terms_in_sources_do_not(
    acme, acme_policy, backends, in_tenant
):
    _local, cloud = backends
    with in_tenant(acme):
        decision, target, _generation, _ = route(acme, LONG_QUESTION)
    sent = sent_text(cloud)
    assert (target, decision.sensitive, decision.redact) == (Target.CLOUD, False, False)
    assert "length>300" in decision.reasons
    assert "Project Falcon" not in sent and "王愛麗" not in sent
    assert "CONFIDENTIAL_TERM_1" in sent


def test_local_backend_is_sent_the_question_as_asked(acme, acme_policy, backends, in_tenant):
    local, cloud = backends
    with in_tenant(acme):
        _decision, target, _generation, _ = route(acme, "王愛麗的身分證 A123456789 要怎麼更新？")
    assert target == Target.LOCAL
    assert "A123456789" in sent_text(local)
    assert not cloud.requests


def test_when_the_cloud_fails_the_answer_falls_back_to_local(acme, acme_policy, backends, in_tenant):
    _local, cloud = backends
    cloud.fail(503)
    with in_tenant(acme):
        _decision, target, generation, taken = route(acme, LONG_QUESTION)
    assert (target, taken) == (Target.LOCAL, ["fallback:cloud"])
    assert generation.backend == "local"


def test_a_slow_local_server_times_out_and_the_sensitive_question_falls_back_to_extractive_not_the_cloud(
    acme, acme_policy, backends, in_tenant
):
    local, cloud = backends
    local.slow(delay_seconds=1.0)
    with in_tenant(acme):
        decision, target, _generation, taken = route(acme, "我的身分證字號是 A123456789，要怎麼更新？")
    assert (target, taken) == (Target.EXTRACTIVE, ["fallback:local"])
    assert Target.CLOUD not in decision.chain
    assert not cloud.requests


def test_a_retryable_failure_is_retried_before_falling_back(acme, acme_policy, backends, settings, in_tenant):
    _local, cloud = backends
    settings.LANTERN_BACKEND_MAX_RETRIES = 1
    cloud.fail(503, times=1)
    with in_tenant(acme):
        _decision, target, _generation, taken = route(acme, LONG_QUESTION)
    assert (target, taken) == (Target.CLOUD, [])
    assert len(cloud.requests) == 2


def test_the_cloud_breaker_opens_after_repeated_failures_and_the_router_stops_choosing_it(
    acme, acme_policy, backends, in_tenant
):
    _local, cloud = backends
    cloud.fail(503)
    with in_tenant(acme):
        for _ in range(2):
            route(acme, LONG_QUESTION)
        assert not backend_health(acme.pk).cloud_available
        decision, target, _generation, _ = route(acme, LONG_QUESTION)
    assert target == Target.LOCAL
    assert "cloud_unavailable" in decision.reasons
    assert len(cloud.requests) == 2


def test_the_breaker_closes_again_after_the_cool_down_and_a_good_trial(
    acme, acme_policy, backends, settings, in_tenant
):
    local, _cloud = backends
    settings.LANTERN_BREAKER_COOL_DOWN_SECONDS = 0.2
    reset_breakers()
    local.fail(503)
    with in_tenant(acme):
        for _ in range(2):
            route(acme, "How do I reset my password?")
        assert not backend_health(acme.pk).local_available
        decision, target, _generation, _ = route(acme, "How do I reset my password?")
        assert (target, "local_unhealthy" in decision.reasons) == (Target.EXTRACTIVE, True)
        local.reset()
        import time

        time.sleep(0.25)
        assert backend_health(acme.pk).local_available
        _decision, target, _generation, _ = route(acme, "How do I reset my password?")
        assert target == Target.LOCAL
        assert backend_health(acme.pk).local_available


def test_failed_detection_on_a_source_keeps_it_from_the_cloud(acme, acme_policy, backends, in_tenant, monkeypatch):
    from routing import pii

    _local, _cloud = backends
    scan = pii.ScanResult((), pii.Sensitivity.NONE)
    real_scan = pii.scan
    monkeypatch.setattr(pii, "scan", lambda text, **kwargs: real_scan(text, timeout_seconds=0.0, **kwargs))
    with pytest.raises(BackendError):
        outgoing_text(Target.CLOUD, question=LONG_QUESTION, scan=scan, redact=False, sources=(LAPTOPS,))
