"""The privacy rule end to end, through chatbot.pipeline.answer: bob's questions with personal data, in the
question or earlier turns, in every mode and failure, never reach the cloud server in clear, and the answer
he sees has the values back and its route explained."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chatbot import pipeline
from knowledge.faqs import save_faq_entry
from routing import explain
from routing.breaker import reset_breakers
from routing.policy import PolicySettings, save_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_server import FakeLLMServer
from privacy_cases import CONFIDENTIAL_TERMS, EMPLOYEE_ID_PATTERN, privacy_cases

POLICIES = {
    "hybrid": PolicySettings(mode="hybrid"),
    "local_only": PolicySettings(mode="local_only"),
    "cloud_only": PolicySettings(mode="cloud_only"),
    "cloud_only_redacted": PolicySettings(mode="cloud_only", allow_redacted_cloud=True),
}
FAILURES = {
    "healthy": lambda local, cloud: None,
    "local_down": lambda local, cloud: local.fail(503),
    "cloud_down": lambda local, cloud: cloud.fail(503),
    "cloud_garbage": lambda local, cloud: cloud.garbage("not_json"),
}
# Every fourth sentence (test_privacy_matrix covers them all), in the question or in an earlier turn.
CASES = [
    case
    for case in privacy_cases()
    if int(case.name[:2]) % 4 == 0
    and case.name.endswith("-earlier_question" if int(case.name[:2]) // 4 % 2 else "-question")
]


@pytest.fixture(scope="module")
def local_server():
    with FakeLLMServer(model="local-model") as server:
        yield server


@pytest.fixture(scope="module")
def cloud_server():
    with FakeLLMServer(model="cloud-model") as server:
        yield server


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme_ready(settings, acme, alice, bob, in_tenant, local_server, cloud_server):
    settings.LANTERN_LOCAL_BASE_URL = local_server.base_url
    settings.LANTERN_LOCAL_MODEL = "local-model"
    settings.LANTERN_CLOUD_BASE_URL = cloud_server.base_url
    settings.LANTERN_CLOUD_MODEL = "cloud-model"
    settings.LANTERN_BACKEND_TIMEOUT_SECONDS = 0.2
    settings.LANTERN_BACKEND_MAX_RETRIES = 0
    with in_tenant(acme):
        save_faq_entry(
            tenant_id=acme.pk,
            question="How do I request a new laptop?",
            answer="Open an IT ticket; Project Falcon laptops are ordered by the PMO.",
            status="published",
        )
    reset_breakers()
    yield local_server, cloud_server
    local_server.reset()
    cloud_server.reset()
    reset_breakers()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bobs_sensitive_question_never_reaches_the_cloud_in_clear(case, acme, bob, in_tenant, acme_ready):
    local, cloud = acme_ready
    bodies = []
    for policy_name, policy_settings in POLICIES.items():
        with in_tenant(acme):
            save_policy(
                tenant=acme,
                policy_settings=PolicySettings(
                    **{
                        **policy_settings.__dict__,
                        "confidential_terms": CONFIDENTIAL_TERMS,
                        "employee_id_pattern": EMPLOYEE_ID_PATTERN,
                    }
                ),
            )
        for failure_name, failure in FAILURES.items():
            local.reset()
            cloud.reset()
            reset_breakers()
            failure(local, cloud)
            with in_tenant(acme):
                result = pipeline.answer(membership=bob, question=case.question, history=case.history)
            bodies += [json.dumps(body, ensure_ascii=False) for body in cloud.requests]
            assert result.sensitive, (policy_name, failure_name)
            # A cloud that breaks mid-answer leaves a failed message, the pipeline's to report; never a leak.
            assert explain(result.reasons, "en")
    for secret in (*case.secrets, "Project Falcon"):
        assert not [body for body in bodies if secret in body], f"{secret!r} reached the cloud"


def test_a_redacted_cloud_answer_shows_bob_his_own_values(acme, bob, in_tenant, acme_ready):
    _local, cloud = acme_ready
    with in_tenant(acme):
        save_policy(tenant=acme, policy_settings=PolicySettings(mode="cloud_only", allow_redacted_cloud=True))
    cloud.answer("Ask HR to update <TW_NATIONAL_ID_1> for <PERSON_1> [1].")
    with in_tenant(acme):
        result = pipeline.answer(membership=bob, question="王愛麗的身分證 A123456789 要怎麼更新？")
    assert result.route == "cloud"
    assert result.text == "Ask HR to update A123456789 for 王愛麗 [1]."
    assert "A123456789" not in json.dumps(cloud.requests, ensure_ascii=False)
