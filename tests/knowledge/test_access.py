"""Who may open which knowledge page: curators curate, every member reads, and no tenant sees another's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knowledge import retrieval, uploads
from knowledge.faqs import save_faq_entry
from knowledge.gaps import record_unanswered, unanswered_groups
from knowledge.imports import create_import_job
from knowledge.models import Chunk, Document, FaqEntry, ImportJob

CURATOR_PAGES = [
    ("knowledge:home", []),
    ("knowledge:faq_list", []),
    ("knowledge:faq_create", []),
    ("knowledge:faq_export", ["csv"]),
    ("knowledge:import_list", []),
    ("knowledge:import_template", ["xlsx"]),
    ("knowledge:document_list", []),
    ("knowledge:unanswered_list", []),
]


@pytest.fixture
def acme_knowledge(dora, in_tenant, django_capture_on_commit_callbacks):
    """A published entry, a ready document and a finished import of acme's."""
    with in_tenant(dora.tenant):
        entry, _ = save_faq_entry(
            tenant_id=dora.tenant_id,
            question="How do I claim overtime?",
            answer="Ask your manager.",
            language="en",
            status="published",
        )
        with django_capture_on_commit_callbacks(execute=False):
            document, _ = uploads.upload_document(
                tenant_id=dora.tenant_id, filename="pay.md", content=b"# Pay\n\n## Overtime\n\nOvertime is paid 1.34x."
            )
        uploads.process_document(document_id=document.pk)
        job = create_import_job(
            tenant_id=dora.tenant_id, filename="x.csv", content=b"question,answer\nQ?,A.\n", dry_run=True
        )
    return {"entry": entry, "document": document, "job": job}


@pytest.mark.parametrize(("name", "args"), CURATOR_PAGES)
def test_an_employee_cannot_open_curator_pages(client, bob, name, args):
    client.force_login(bob.user)

    assert client.get(reverse(name, args=args)).status_code == 403


@pytest.mark.parametrize(("name", "args"), CURATOR_PAGES)
def test_a_curator_can(client, dora, name, args):
    client.force_login(dora.user)

    assert client.get(reverse(name, args=args)).status_code in (200, 302)


def test_a_visitor_is_sent_to_log_in(client, db):
    response = client.get(reverse("knowledge:faq_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_employee_cannot_change_an_entry_or_document(client, bob, acme_knowledge, in_tenant):
    entry, document = acme_knowledge["entry"], acme_knowledge["document"]
    client.force_login(bob.user)

    assert client.post(reverse("knowledge:faq_status", args=[entry.pk]), {"status": "archived"}).status_code == 403
    assert client.post(reverse("knowledge:faq_bulk"), {"action": "archive", "entries": [entry.pk]}).status_code == 403
    assert client.post(reverse("knowledge:faq_restore", args=[entry.pk, 1])).status_code == 403
    assert client.post(reverse("knowledge:document_delete", args=[document.pk])).status_code == 403
    with in_tenant(bob.tenant):
        assert FaqEntry.objects.get().status == "published"
        assert Document.objects.exists()


def test_carol_gets_404_for_everything_of_acme(client, carol, acme_knowledge):
    entry, document = acme_knowledge["entry"], acme_knowledge["document"]
    client.force_login(carol.user)

    for url in (
        f"/knowledge/faqs/{entry.pk}/",
        f"/knowledge/documents/{document.pk}/",
        f"/knowledge/documents/{document.pk}/file/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "overtime" not in response.content.decode().lower()


def test_a_globex_curator_gets_404_for_acme_pages_and_changes_nothing(client, globex, acme_knowledge, in_tenant):
    from tenancy.provisioning import add_member

    erin = add_member(tenant=globex, username="erin", role="curator", department_code="OPS")
    entry, document, job = acme_knowledge["entry"], acme_knowledge["document"], acme_knowledge["job"]
    client.force_login(erin.user)

    assert client.get(reverse("knowledge:faq_edit", args=[entry.pk])).status_code == 404
    assert client.get(reverse("knowledge:faq_history", args=[entry.pk])).status_code == 404
    assert client.get(reverse("knowledge:import_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("knowledge:import_progress", args=[job.pk])).status_code == 404
    assert client.post(reverse("knowledge:import_run", args=[job.pk])).status_code == 404
    assert client.post(reverse("knowledge:document_delete", args=[document.pk])).status_code == 404
    client.post(reverse("knowledge:faq_bulk"), {"action": "archive", "entries": [entry.pk]})
    assert "How do I claim overtime?" not in client.get(reverse("knowledge:faq_list")).content.decode()
    with in_tenant(entry.tenant):
        assert FaqEntry.objects.get().status == "published"
        assert Document.objects.count() == 1
        assert ImportJob.objects.filter(dry_run=False).count() == 0


def test_chunks_and_unanswered_questions_stay_in_their_tenant(carol, acme_knowledge, in_tenant):
    with in_tenant(acme_knowledge["entry"].tenant):
        record_unanswered(
            tenant_id=acme_knowledge["entry"].tenant_id, question_redacted="Overtime on Sunday?", reason="no_match"
        )
        assert Chunk.objects.count() == 2
    with in_tenant(carol.tenant):
        assert Chunk.objects.count() == 0
        assert Chunk.unscoped.count() == 0  # row-level security, even without the tenant filter
        assert retrieval.search("How do I claim overtime?").hits == ()
        assert unanswered_groups() == []
