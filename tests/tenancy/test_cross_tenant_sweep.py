"""Every URL the app serves, probed by Acme's tenant admin (who holds every role) with Globex's ids, by GET and
by POST, in the browser session and with an API key: nothing of Globex shows, nothing of Globex changes, and
no probe ends in a server error. The URL list comes from the resolver, so a new endpoint is swept too."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from chatbot import pipeline
from chatbot.api_keys import create_api_key
from chatbot.models import Conversation, Message
from costing.models import GpuProfile, Price
from knowledge import uploads
from knowledge.imports import create_import_job
from knowledge.models import Document, FaqEntry
from tenancy.context import tenant_context
from tenancy.models import Department
from tenancy.provisioning import add_member
from tests.chatbot.conftest import publish

MARKER = "GLOBEX-MARKER-7731"
SKIPPED_PREFIXES = ("admin/", "logout/", "i18n/", "login/")
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def url_patterns(patterns=None, prefix: str = "") -> list[str]:
    """Every route of the project, as its pattern text (e.g. "c/<int:conversation_id>/")."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append(prefix + str(pattern.pattern))
    return [route for route in found if not route.startswith(SKIPPED_PREFIXES)]


@pytest.fixture
def globex_world(globex, carol, django_capture_on_commit_callbacks) -> dict[str, int]:
    """Globex's objects, each carrying the marker where it holds text: the ids Acme will try."""
    entry = publish(globex, "G-SECRET-1", f"What is the code name {MARKER}?", f"It is {MARKER}.")
    with tenant_context(globex.pk):
        answer = pipeline.answer(membership=carol, question=f"What is the code name {MARKER}?")
        with django_capture_on_commit_callbacks(execute=True):
            document, _ = uploads.upload_document(
                tenant_id=globex.pk, filename="secret.md", content=f"# Secret\n\n{MARKER} plans.\n".encode()
            )
        job = create_import_job(
            tenant_id=globex.pk,
            filename="faqs.csv",
            content=f"question,answer\nQ {MARKER}?,A {MARKER}\n".encode(),
            dry_run=True,
        )
        return {
            "conversation_id": answer.conversation_id,
            "message_id": answer.message_id,
            "entry_id": entry.pk,
            "version": 1,
            "document_id": document.pk,
            "job_id": job.pk,
            "price_id": Price.objects.values_list("pk", flat=True).first(),
            "profile_id": GpuProfile.objects.values_list("pk", flat=True).first(),
            "department_id": Department.objects.values_list("pk", flat=True).first(),
            "seq": 1,
        }


def concrete(route: str, ids: dict[str, int]) -> str:
    """The route with Globex's ids (or plain values for non-id parameters) filled in."""
    values = {"table": "departments", "format": "csv", "export_format": "csv"}

    def fill(match: re.Match) -> str:
        name = match.group("name")
        return str(ids[name]) if name in ids else values[name]

    return "/" + PARAMETER.sub(fill, route)


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


# Parameters naming another tenant's object; an audit sequence number is per tenant, so Acme's own event
# of the same number may rightly show.
FOREIGN_IDS = ("conversation_id", "message_id", "entry_id", "document_id", "job_id", "price_id", "profile_id")


def sweep(client, acme, ids: dict[str, int]) -> list[str]:
    """Probe every route as Acme's tenant admin; returns what went wrong."""
    alice = add_member(tenant=acme, username="alice-sweep", role="tenant_admin", department_code="IT")
    with tenant_context(acme.pk):
        key = create_api_key(membership=alice, name="sweep").secret
    client.force_login(alice.user)
    routes = url_patterns()
    assert len(routes) > 50
    problems = []
    for route in routes:
        url = concrete(route, ids)
        names_foreign_object = any(f":{name}>" in route for name in (*FOREIGN_IDS, "department_id"))
        for method, headers in (
            ("get", {}),
            ("post", {}),
            ("get", {"HTTP_AUTHORIZATION": f"Bearer {key}"}),
            ("post", {"HTTP_AUTHORIZATION": f"Bearer {key}"}),
        ):
            response = getattr(client, method)(url, **headers)
            if response.status_code >= 500 or MARKER in body_of(response):
                problems.append(f"{method.upper()} {url}: {response.status_code}")
            elif names_foreign_object and response.status_code == 200:
                problems.append(f"{method.upper()} {url}: 200 for another tenant's object")
    return problems


def test_acmes_admin_finds_and_changes_nothing_of_globex_on_any_url(client, acme, globex, globex_world):
    assert sweep(client, acme, globex_world) == []
    with tenant_context(globex.pk):
        assert FaqEntry.objects.get(pk=globex_world["entry_id"]).status == "published"
        assert not Conversation.objects.get(pk=globex_world["conversation_id"]).hidden
        assert Document.objects.filter(pk=globex_world["document_id"]).exists()
        assert Message.objects.filter(conversation_id=globex_world["conversation_id"]).count() == 2
        assert Price.objects.filter(pk=globex_world["price_id"]).exists()
