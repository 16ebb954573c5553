"""The privacy matrix: over 200 questions with personal or confidential data, in the question or in earlier
turns, in every mode and every failure combination, and no sensitive value ever reaches the cloud server.

The routing path is the pipeline's: scan the question and its history with the tenant's vocabulary, decide
with the tenant's saved policy and live breaker state, then walk the decision's chain through
routing.dispatch, falling back on BackendError. Two loopback servers play the local and the cloud model.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.retrieval import SearchHit
from routing.backends import BackendError
from routing.breaker import reset_breakers
from routing.dispatch import generate_on
from routing.policy import PolicySettings, decide_for, save_policy, scan_question
from routing.router import Target
from tenancy.context import tenant_context
from tenancy.provisioning import add_member, create_tenant

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_server import FakeLLMServer, as_backends
from privacy_cases import CONFIDENTIAL_TERMS, EMPLOYEE_ID_PATTERN, PERSON_NAMES, privacy_cases

from tests.conftest import empty_every_table

SOURCE_SECRET = "Project Falcon"
SOURCES = (
    SearchHit(
        kind="faq",
        id=1,
        title="How do I request a new laptop?",
        text=f"Open an IT ticket; laptops for {SOURCE_SECRET} staff are ordered by the PMO.",
        score=0.4,
    ),
)

POLICIES = {
    "hybrid": PolicySettings(mode="hybrid"),
    "local_only": PolicySettings(mode="local_only"),
    "cloud_only": PolicySettings(mode="cloud_only"),
    "cloud_only_redacted": PolicySettings(mode="cloud_only", allow_redacted_cloud=True),
}


def healthy(local, cloud):
    pass


def local_down(local, cloud):
    local.fail(503)


def local_slow(local, cloud):
    local.slow(delay_seconds=0.2)


def cloud_down(local, cloud):
    cloud.fail(503)


def cloud_garbage(local, cloud):
    cloud.garbage("not_json")


def local_down_and_cloud_garbage(local, cloud):
    local.fail(503)
    cloud.garbage("no_choices")


def both_break_midway(local, cloud):
    local.break_midway("drop", after_events=2)
    cloud.break_midway("garbage", after_events=2)


FAILURES = (
    healthy,
    local_down,
    local_slow,
    cloud_down,
    cloud_garbage,
    local_down_and_cloud_garbage,
    both_break_midway,
)


@pytest.fixture(scope="module")
def tenants(django_db_setup, django_db_blocker):
    """One committed tenant per policy, set up once for the module's 200-odd tests and emptied afterwards."""
    with django_db_blocker.unblock():
        created = {}
        for policy_name, policy_settings in POLICIES.items():
            tenant, _ = create_tenant(slug=f"matrix-{policy_name.replace('_', '-')}", name=policy_name)
            for username, full_name in zip(("alice", "bob"), PERSON_NAMES, strict=True):
                add_member(
                    tenant=tenant,
                    username=f"{username}-{tenant.pk}",
                    role="employee",
                    department_code="IT",
                    full_name=full_name,
                )
            with tenant_context(tenant.pk):
                save_policy(
                    tenant=tenant,
                    policy_settings=replace(
                        policy_settings, confidential_terms=CONFIDENTIAL_TERMS, employee_id_pattern=EMPLOYEE_ID_PATTERN
                    ),
                )
            created[policy_name] = tenant
        yield created
        empty_every_table()


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
        settings, local_server, cloud_server, LANTERN_CLOUD_API_KEY="sk-test", LANTERN_BACKEND_TIMEOUT_SECONDS=0.03
    ):
        yield local_server, cloud_server


def answer_like_the_pipeline(decision, question, scan, history):
    """Walk the chain as chatbot.pipeline does: the first target that answers wins."""
    for target in decision.chain:
        try:
            return target, generate_on(
                target, question=question, scan=scan, redact=decision.redact, sources=SOURCES, history=history
            )
        except BackendError:
            continue
    raise AssertionError("the chain ended without an answer")


@pytest.mark.parametrize("case", privacy_cases(), ids=lambda case: case.name)
def test_no_sensitive_value_reaches_the_cloud_in_any_mode_or_failure(case, tenants, db, backends):
    local, cloud = backends
    bodies: list[str] = []
    scan = None
    for policy_name, tenant in tenants.items():
        with tenant_context(tenant.pk):
            # Every tenant of the matrix has the same vocabulary, so one scan serves them all.
            scan = scan or scan_question(tenant_id=tenant.pk, question=case.question, history=case.history)
            for failure in FAILURES:
                local.reset()
                cloud.reset()
                reset_breakers()
                failure(local, cloud)
                decision = decide_for(
                    tenant=tenant,
                    department_code="IT",
                    scan=scan,
                    confidence=0.2,
                    length=len(case.question),
                    over_budget=False,
                )
                assert decision.sensitive, f"{case.name}: not recognised as sensitive"
                target, _generation = answer_like_the_pipeline(decision, case.question, scan, case.history)
                sent = [json.dumps(body, ensure_ascii=False) for body in cloud.requests]
                bodies += sent
                if policy_name == "cloud_only_redacted" and failure in (healthy, local_down, local_slow):
                    # The matrix is not vacuous: here the cloud is asked, with placeholders.
                    assert target == Target.CLOUD and sent and "_1>" in sent[0], (case.name, failure.__name__)
                else:
                    assert target != Target.CLOUD or policy_name == "cloud_only_redacted"
    for secret in (*case.secrets, SOURCE_SECRET):
        leaks = [body for body in bodies if secret in body]
        assert not leaks, f"{case.name}: {secret!r} reached the cloud"
