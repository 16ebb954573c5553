"""Every endpoint that takes input, sent what a broken client, a wrongly set editor or a prober sends: nothing,
too much, binary garbage, text that is not UTF-8, NUL characters, malformed or deeply nested JSON, the wrong
content type. Each is refused with a 4xx whose message says what to change, and nothing is stored, not even
half-way. Then the query strings and headers that once crashed a page or an API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from html import unescape
from urllib.parse import quote_from_bytes, urlencode

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from audit.models import AuditEvent
from chatbot import pipeline
from chatbot.api_keys import create_api_key
from chatbot.models import ApiKey, Conversation, Feedback, Message
from costing.models import Budget, GpuProfile, Price, UsageRecord
from knowledge import uploads
from knowledge.forms import MAX_UPLOAD_BYTES
from knowledge.models import Chunk, Document, FaqEntry, FaqRevision, ImportJob, UnansweredQuestion
from routing.models import BackendOverride, RoutingPolicy
from tenancy.context import tenant_context
from tenancy.models import Department, Membership, Tenant
from tenancy.provisioning import add_member
from tests.chatbot.conftest import publish

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
QUESTION = "How do I reset my password?"
BIG5 = "特休假有幾天？".encode("big5")
UTF16 = "特休假有幾天？".encode("utf-16-le")
GARBAGE = bytes(range(256)) * 4
DEEP_JSON = b"[" * 10_000 + b"]" * 10_000
# Stands for the text under test in a request built as a dict, where raw bytes cannot go.
MARK = "TEXT-UNDER-TEST"


@dataclass
class World:
    """acme with a member of each role; the objects an endpoint needs are made when it first asks for them."""

    acme: Tenant
    members: dict[str, Membership]

    @cached_property
    def answer(self) -> pipeline.Answer:
        with tenant_context(self.acme.pk):
            return pipeline.answer(membership=self.members["employee"], question=QUESTION)

    @cached_property
    def entry(self) -> FaqEntry:
        return publish(
            self.acme, "HR-LEAVE-1", "特休假有幾天？", "依勞基法第38條，年資滿一年有7天特休。", language="zh-hant"
        )

    @cached_property
    def document(self) -> Document:
        with tenant_context(self.acme.pk):
            document, _ = uploads.upload_document(
                tenant_id=self.acme.pk, filename="handbook.md", content=b"# Handbook\n\nLeave is 7 days.\n"
            )
        return document

    @cached_property
    def department_id(self) -> int:
        with tenant_context(self.acme.pk):
            return Department.objects.get(code="IT").pk

    def api_key(self, role: str) -> str:
        with tenant_context(self.acme.pk):
            return create_api_key(membership=self.members[role], name="bad input").secret


@pytest.fixture
def world(acme, settings) -> World:
    settings.LANTERN_RATE_LIMIT_USER_PER_MINUTE = 0
    settings.LANTERN_RATE_LIMIT_TENANT_PER_MINUTE = 0
    members = {
        role: add_member(tenant=acme, username=username, role=role, department_code=department)
        for role, username, department in (
            ("employee", "bob", "IT"),
            ("curator", "dora", "HR"),
            ("finance", "fiona", "FIN"),
            ("auditor", "otto", "FIN"),
            ("tenant_admin", "alice", "HR"),
        )
    }
    publish(acme, "IT-PW-1", QUESTION, "Go to https://sso.acme.example/reset and follow the steps.")
    return World(acme=acme, members=members)


@dataclass(frozen=True)
class Endpoint:
    """An endpoint that takes input: who sends it, where, and a valid request carrying the text under test."""

    name: str
    kind: str  # "form", "json" (sent with an API key) or "upload"
    role: str
    path: Callable[[World], str]
    request: Callable[[World, str], dict]
    method: str = "POST"
    skip: tuple[str, ...] = ()


def budget_fields(world: World, text: str) -> dict:
    prefix = f"department-{world.department_id}"
    return {f"{prefix}-soft_limit": text, f"{prefix}-hard_limit": "200", f"{prefix}-currency": "USD"}


def policy_fields(world: World, text: str) -> dict:
    return {
        "form": "policy",
        "mode": "hybrid",
        "length_threshold": "300",
        "faq_confidence_threshold": "0.5",
        "confidential_terms": text,
    }


def price_fields(world: World, text: str) -> dict:
    return {
        "provider": text,
        "model": "gpt-4o-mini",
        "input_per_million": "0.15",
        "cached_input_per_million": "0.075",
        "output_per_million": "0.60",
        "currency": "USD",
        "effective_from": "2026-01-01",
    }


def faq_fields(world: World, text: str) -> dict:
    return {"question": text, "answer": "Seven days.", "language": "en", "status": "draft"}


ENDPOINTS = [
    Endpoint("chat ask", "form", "employee", lambda w: reverse("chatbot:ask"), lambda w, t: {"question": t}),
    Endpoint(
        "chat ask, streamed", "form", "employee", lambda w: reverse("chatbot:ask_stream"), lambda w, t: {"question": t}
    ),
    Endpoint(
        "conversation rename",
        "form",
        "employee",
        lambda w: reverse("chatbot:rename", args=[w.answer.conversation_id]),
        lambda w, t: {"title": t},
    ),
    Endpoint(
        "feedback",
        "form",
        "employee",
        lambda w: reverse("chatbot:feedback", args=[w.answer.message_id]),
        lambda w, t: {"helpful": "no", "comment": t},
    ),
    Endpoint("API key creation", "form", "employee", lambda w: reverse("chatbot:api_keys"), lambda w, t: {"name": t}),
    Endpoint("FAQ entry form", "form", "curator", lambda w: reverse("knowledge:faq_create"), faq_fields),
    Endpoint("routing policy form", "form", "tenant_admin", lambda w: reverse("routing:policy"), policy_fields),
    Endpoint(
        "budget form",
        "form",
        "finance",
        lambda w: reverse("costing:set_budget", args=[w.department_id]),
        budget_fields,
    ),
    Endpoint("price form", "form", "finance", lambda w: reverse("costing:prices"), price_fields),
    Endpoint("FAQ import upload", "upload", "curator", lambda w: reverse("knowledge:import_list"), lambda w, t: {}),
    Endpoint("document upload", "upload", "curator", lambda w: reverse("knowledge:document_list"), lambda w, t: {}),
    Endpoint(
        "document new version",
        "upload",
        "curator",
        lambda w: reverse("knowledge:document_replace", args=[w.document.pk]),
        lambda w, t: {},
    ),
    Endpoint("REST question", "json", "employee", lambda w: reverse("api:questions"), lambda w, t: {"question": t}),
    Endpoint(
        "REST conversation rename",
        "json",
        "employee",
        lambda w: reverse("api:conversation", args=[w.answer.conversation_id]),
        lambda w, t: {"title": t},
        method="PATCH",
    ),
    Endpoint(
        "REST feedback",
        "json",
        "employee",
        lambda w: reverse("api:feedback", args=[w.answer.message_id]),
        lambda w, t: {"helpful": False, "comment": t},
    ),
    Endpoint(
        "REST FAQ entry",
        "json",
        "curator",
        lambda w: reverse("api:faqs"),
        lambda w, t: {"question": t, "answer": "Seven days.", "status": "published"},
    ),
    Endpoint(
        "REST FAQ entry change",
        "json",
        "curator",
        lambda w: reverse("api:faq", args=[w.entry.pk]),
        lambda w, t: {"answer": t},
        method="PATCH",
        skip=("nothing",),  # an empty change is a valid PATCH that changes nothing
    ),
    Endpoint(
        "OpenAI chat completion",
        "json",
        "employee",
        lambda w: reverse("openai:chat_completions"),
        lambda w, t: {"model": "lantern", "messages": [{"role": "user", "content": t}]},
    ),
]


@dataclass(frozen=True)
class BadInput:
    """A bad request body for an endpoint, and a phrase the refusal says (English), if one fits every endpoint."""

    name: str
    body: Callable[[Endpoint, World], tuple[bytes, str]]
    says: str = ""
    status: int | None = None


def form_body(fields: dict, text: bytes | None = None) -> bytes:
    """The fields URL-encoded; `text`, when given, percent-encoded in place of the MARK."""
    body = urlencode(fields).encode()
    return body if text is None else body.replace(MARK.encode(), quote_from_bytes(text).encode())


def too_much_text() -> str:
    return "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


FORM_INPUTS = [
    BadInput("nothing", lambda e, w: (b"", FORM)),
    BadInput("too large", lambda e, w: (form_body(e.request(w, too_much_text())), FORM), "too large", 413),
    BadInput("binary garbage", lambda e, w: (GARBAGE, FORM), "UTF-8"),
    BadInput("Big5 text labelled UTF-8", lambda e, w: (form_body(e.request(w, MARK), BIG5), FORM), "UTF-8"),
    BadInput("UTF-16 text labelled UTF-8", lambda e, w: (form_body(e.request(w, MARK), UTF16), FORM), "UTF-8"),
    BadInput("a NUL character", lambda e, w: (form_body(e.request(w, "a\x00b")), FORM), "control characters"),
    BadInput("an escape character", lambda e, w: (form_body(e.request(w, "a\x1b[31mb")), FORM), "control characters"),
    BadInput("JSON instead of a form", lambda e, w: (json.dumps(e.request(w, QUESTION)).encode(), JSON)),
    BadInput(
        "multipart without a boundary",
        lambda e, w: (form_body(e.request(w, QUESTION)), "multipart/form-data"),
        "could not be read",
    ),
]


def json_body(endpoint: Endpoint, world: World, text: bytes) -> bytes:
    return json.dumps(endpoint.request(world, MARK)).encode().replace(MARK.encode(), text)


JSON_INPUTS = [
    BadInput("nothing", lambda e, w: (b"", JSON)),
    BadInput("too large", lambda e, w: (json.dumps(e.request(w, too_much_text())).encode(), JSON), "large", 413),
    BadInput("binary garbage", lambda e, w: (GARBAGE, JSON), "UTF-8"),
    BadInput("Big5 text labelled UTF-8", lambda e, w: (json_body(e, w, BIG5), JSON), "UTF-8"),
    BadInput("UTF-16 JSON", lambda e, w: (json.dumps(e.request(w, QUESTION)).encode("utf-16"), JSON), "UTF-8"),
    BadInput("a NUL character", lambda e, w: (json.dumps(e.request(w, "a\x00b")).encode(), JSON)),
    BadInput("a lone surrogate", lambda e, w: (json_body(e, w, b"a\\ud800b"), JSON)),
    BadInput("malformed JSON", lambda e, w: (json.dumps(e.request(w, QUESTION)).encode()[:-3], JSON), "JSON"),
    BadInput("deeply nested JSON", lambda e, w: (DEEP_JSON, JSON), "nested too deeply"),
    BadInput("plain text", lambda e, w: (json.dumps(e.request(w, QUESTION)).encode(), "text/plain"), "media type", 415),
    BadInput("XML", lambda e, w: (b"<question>VPN?</question>", "application/xml"), "media type", 415),
]


def upload(name: str, content: bytes) -> Callable[[Endpoint, World], tuple[bytes, str]]:
    """A multipart body with the file, named for what the endpoint reads (a spreadsheet or a document)."""

    def body(endpoint: Endpoint, world: World) -> tuple[bytes, str]:
        suffix = ".csv" if endpoint.path(world) == reverse("knowledge:import_list") else ".md"
        return encode_multipart(BOUNDARY, {"file": SimpleUploadedFile(name + suffix, content)}), MULTIPART_CONTENT

    return body


UPLOAD_INPUTS = [
    BadInput("no file", lambda e, w: (encode_multipart(BOUNDARY, {}), MULTIPART_CONTENT), "required"),
    BadInput("an empty file", upload("faqs", b""), "empty"),
    BadInput("a file too large", upload("faqs", b"question,answer\n" * (MAX_UPLOAD_BYTES // 16 + 1)), "10 MB"),
    BadInput("binary garbage", upload("faqs", GARBAGE)),
    BadInput(
        "UTF-16 text without a byte-order mark", upload("faqs", "question,answer\n特休,七天\n".encode("utf-16-le"))
    ),
    BadInput("a form instead of a file", lambda e, w: (form_body({"file": "faqs.csv"}), FORM), "required"),
    BadInput(
        "multipart without a boundary",
        lambda e, w: (
            encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("faqs.csv", b"q,a\n")}),
            "multipart/form-data",
        ),
        "could not be read",
    ),
]

INPUTS = {"form": FORM_INPUTS, "json": JSON_INPUTS, "upload": UPLOAD_INPUTS}


def stored(world: World) -> dict:
    """What acme has stored, as counts and the values a refused request might have changed."""
    models = (
        Conversation,
        Message,
        Feedback,
        ApiKey,
        FaqEntry,
        FaqRevision,
        Chunk,
        Document,
        ImportJob,
        UnansweredQuestion,
        AuditEvent,
        Budget,
        Price,
        GpuProfile,
        RoutingPolicy,
        BackendOverride,
        UsageRecord,
    )
    with tenant_context(world.acme.pk):
        return {
            **{model.__name__: model.objects.count() for model in models},
            "titles": sorted(Conversation.objects.values_list("title", flat=True)),
            "comments": sorted(Feedback.objects.values_list("comment", flat=True)),
            "documents": sorted(Document.objects.values_list("version", "sha256")),
            "answers": sorted(FaqEntry.objects.values_list("answer", flat=True)),
        }


def refusal_message(response) -> str:
    """What the refusal tells the person: the error's message in JSON, the text, or the page's error notes."""
    content_type = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    if content_type.startswith("application/json"):
        return json.loads(text)["error"]["message"]
    if content_type.startswith("text/plain"):
        return text
    notes = re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)</(?:p|li|ul)>', text, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", " ".join(notes))).strip()


def signed_in(client: Client, world: World, endpoint: Endpoint) -> dict:
    """Signs the client in as the endpoint's sender; returns the headers every request then carries."""
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if endpoint.kind == "json":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.api_key(endpoint.role)}"
    else:
        client.force_login(world.members[endpoint.role].user)
    return headers


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_bad_input_is_refused_with_a_reason_and_stores_nothing(client, world, endpoint, subtests):
    path = endpoint.path(world)
    headers = signed_in(client, world, endpoint)
    for bad in INPUTS[endpoint.kind]:
        if bad.name in endpoint.skip:
            continue
        with subtests.test(msg=bad.name):
            body, content_type = bad.body(endpoint, world)
            before = stored(world)
            response = client.generic(endpoint.method, path, body, content_type, **headers)
            assert 400 <= response.status_code < 500, response.content[:300]
            if bad.status:
                assert response.status_code == bad.status
            message = refusal_message(response)
            assert message, "the refusal says nothing"
            assert bad.says.lower() in message.lower(), message
            assert stored(world) == before


def test_big5_files_are_read_as_big5_not_refused_and_not_stored_as_mojibake(
    client, world, in_tenant, django_capture_on_commit_callbacks
):
    """Excel and older editors on Traditional Chinese Windows save Big5: that is text, read as such."""
    client.force_login(world.members["curator"].user)
    faqs = "question,answer\n特休假有幾天？,年資滿一年有7天特休。\n".encode("big5")
    checked = client.post(reverse("knowledge:import_list"), {"file": SimpleUploadedFile("faqs.csv", faqs)})
    handbook = "# 請假規定\n\n特休假有幾天？年資滿一年有7天特休。\n".encode("big5")
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = client.post(reverse("knowledge:document_list"), {"file": SimpleUploadedFile("leave.md", handbook)})
    assert checked.status_code == uploaded.status_code == 302
    with in_tenant(world.acme):
        assert [row["question"] for row in ImportJob.objects.get().results] == ["特休假有幾天？"]
        assert Document.objects.get(filename="leave.md").title == "請假規定"
        assert "特休假有幾天？" in Chunk.objects.get(document__filename="leave.md").text


# Values that once ended in a server error, an HTML page under /api/ or a message no one could act on: each now
# gets its answer, or a 4xx that names what is wrong.
HUGE = "9" * 40
ONCE_CRASHED = [
    ("curator", "GET", f"/api/faqs/?page={HUGE}", {}, 200),
    ("curator", "GET", "/api/faqs/?q=%00", {}, 400),
    ("curator", "GET", "/api/faqs/?category=a%00", {}, 400),
    ("auditor", "GET", "/api/audit/events/?cost_min=NaN", {}, 400),
    ("auditor", "GET", "/api/audit/events/?cost_max=Infinity", {}, 400),
    ("auditor", "GET", "/api/audit/events/?date_to=9999-12-31", {}, 200),
    ("auditor", "GET", "/api/audit/events/?before=%C2%B2", {}, 400),
    ("auditor", "GET", "/api/audit/events/?user=%00", {}, 400),
    ("finance", "GET", "/api/usage/?month=0001-01", {}, 400),
    ("finance", "GET", "/api/usage/?month=%C2%B2%E2%81%B0%C2%B2%E2%81%B6-01", {}, 400),
    ("employee", "GET", "/api/conversations/-1/", {}, 404),
    ("auditor", "GET", "/audit/?before=%C2%B2", {}, 200),
    ("auditor", "GET", "/audit/?cost_min=NaN&user=%00", {}, 200),
    ("auditor", "GET", "/audit/?date_to=9999-12-31", {}, 200),
    ("auditor", "GET", f"/audit/summary/?days={HUGE}", {}, 200),
    ("auditor", "GET", "/audit/export.csv?cost_max=sNaN", {}, 200),
    ("curator", "GET", "/knowledge/unanswered/?days=%C2%B2", {}, 200),
    ("curator", "GET", "/knowledge/faqs/new/?unanswered=%C2%B2", {}, 200),
    ("finance", "GET", "/finance/?month=0001-01", {}, 200),
    ("finance", "GET", "/finance/strategies/?start=9999-12-01&end=9999-12-31&multiplier=1", {}, 200),
    ("employee", "POST", "/ask/", {"question": QUESTION, "conversation": "²"}, 404),
    ("employee", "POST", "/settings/api-keys/", {"revoke": "abc"}, 400),
    ("curator", "POST", "/knowledge/faqs/bulk/", {"action": "publish", "entries": ["²"]}, 302),
    ("curator", "POST", "/knowledge/unanswered/dismiss/", {"questions": "²"}, 302),
]


@pytest.mark.parametrize(
    ("role", "method", "url", "data", "status"), ONCE_CRASHED, ids=[case[2] for case in ONCE_CRASHED]
)
def test_values_that_once_crashed_get_an_answer(client, world, role, method, url, data, status):
    if url.startswith("/api/"):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {world.api_key(role)}"}
    else:
        client.force_login(world.members[role].user)
        headers = {}
    response = client.generic(method, url, urlencode(data, doseq=True), FORM, HTTP_ACCEPT_LANGUAGE="en", **headers)
    assert response.status_code == status
    if url.startswith("/api/") and status >= 400:
        assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("url", "key"),
    [("/api/conversations/", "lantern-²-secret"), ("/v1/models", f"lantern-{HUGE}-secret")],
)
def test_a_key_with_a_user_id_that_is_no_number_opens_nothing(client, url, key):
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert response.json()["error"]["message"]
