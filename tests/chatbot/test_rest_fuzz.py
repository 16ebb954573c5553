"""The REST API fuzzed by Schemathesis: every operation of the OpenAPI schema Lantern serves, sent by nobody, by
an employee (with an API key and with a browser session) and by the role the operation is for. No answer is a
server error, and every answer, errors included, has the status, content type and body the schema documents."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.test import Client, override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chatbot import pipeline
from chatbot.api_keys import create_api_key
from tenancy.context import tenant_context
from tenancy.models import Membership
from tenancy.provisioning import add_member, create_tenant
from tests.chatbot.conftest import publish
from tests.conftest import empty_every_table

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
ROLE_BY_PATH = {"/api/faqs/": "curator", "/api/audit/": "auditor", "/api/usage/": "finance"}

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The ids of objects the world fixture made, for the fuzzer to use besides the ids it makes up.
EXISTING_IDS: dict[str, int] = {}


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict | None) -> st.SearchStrategy:
    existing = {name: EXISTING_IDS[name] for name in path_parameters or {} if name in EXISTING_IDS}
    if not existing:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **existing}])


@dataclass(frozen=True)
class Caller:
    """The headers and cookies that say who sends a request."""

    headers: dict[str, str]
    cookies: dict[str, str]


@dataclass(frozen=True)
class World:
    """How acme's members of each role call."""

    callers: dict[str, Caller]

    def callers_of(self, path: str) -> list[Caller]:
        """Nobody, the employee by key and by session, and the role the operation is for."""
        role = next((role for prefix, role in ROLE_BY_PATH.items() if path.startswith(prefix)), None)
        names = ["anonymous", "employee", "employee-session", *([role] if role else [])]
        return [self.callers[name] for name in names]


def with_api_key(name: str, membership: Membership) -> Caller:
    with tenant_context(membership.tenant_id):
        secret = create_api_key(membership=membership, name=name).secret
    return Caller(headers={"Authorization": f"Bearer {secret}"}, cookies={})


def with_session(membership: Membership) -> Caller:
    browser = Client()
    browser.force_login(membership.user)
    cookies = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN}
    return Caller(headers={"X-CSRFToken": CSRF_TOKEN}, cookies=cookies)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """acme with a member of each role, two FAQ entries and a conversation of bob's. Committed, since the calls
    run through the WSGI application, which closes the database connection after each; without rate limits,
    which would only turn the fuzzer's questions into 429s."""
    with (
        django_db_blocker.unblock(),
        override_settings(LANTERN_RATE_LIMIT_USER_PER_MINUTE=0, LANTERN_RATE_LIMIT_TENANT_PER_MINUTE=0),
    ):
        try:
            tenant, _ = create_tenant(slug="acme", name="Acme 科技", mode="hybrid")
            members = {
                role: add_member(tenant=tenant, username=username, role=role, department_code=department)
                for role, username, department in (
                    ("employee", "bob", "IT"),
                    ("curator", "dora", "HR"),
                    ("auditor", "otto", "FIN"),
                    ("finance", "fiona", "FIN"),
                )
            }
            entry = publish(tenant, "IT-PW-1", "How do I reset my password?", "Go to https://sso.acme.example/reset.")
            publish(tenant, "HR-LEAVE-1", "特休假有幾天？", "依勞基法第38條，年資滿一年有7天特休。", language="zh-hant")
            with tenant_context(tenant.pk):
                asked = pipeline.answer(membership=members["employee"], question="How do I reset my password?")
            callers = {
                "anonymous": Caller(headers={}, cookies={}),
                "employee-session": with_session(members["employee"]),
                **{role: with_api_key(role, membership) for role, membership in members.items()},
            }
            EXISTING_IDS.update(conversation_id=asked.conversation_id, message_id=asked.message_id, entry_id=entry.pk)
            cache.clear()
            yield World(callers=callers)
        finally:
            EXISTING_IDS.clear()
            cache.clear()
            empty_every_table()


@schema.parametrize()
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_every_caller_as_the_schema_says(case, world):
    for caller in world.callers_of(case.path):
        case.call_and_validate(headers=caller.headers, cookies=caller.cookies, checks=CHECKS)
