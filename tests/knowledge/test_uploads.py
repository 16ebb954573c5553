"""Uploading documents: processed in the background into searchable chunks, or failed with a clear reason."""

from __future__ import annotations

import io

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from knowledge import retrieval, uploads
from knowledge.models import Chunk, Document
from knowledge.tasks import process_uploaded_document

HANDBOOK = b"""# Employee handbook

## Leave

Annual leave is 7 days after one year of service. Ask your manager in the HR portal.

## Remote work

Employees may work from home two days a week. Connect through the VPN.
"""


def upload(client, filename: str, content: bytes, run_on_commit, **fields):
    with run_on_commit():
        return client.post(
            reverse("knowledge:document_list"),
            {"file": SimpleUploadedFile(filename, content), **fields},
            follow=True,
        )


def test_a_markdown_upload_is_chunked_by_heading_and_found_by_search(client, dora, run_on_commit, in_tenant):
    client.force_login(dora.user)

    response = upload(client, "handbook.md", HANDBOOK, run_on_commit)

    assert response.status_code == 200
    with in_tenant(dora.tenant):
        document = Document.objects.get()
        assert (document.state, document.error, document.title) == ("ready", "", "Employee handbook")
        chunks = list(document.chunks.order_by("position"))
        assert [chunk.anchor for chunk in chunks] == ["leave", "remote-work"]
        assert chunks[1].heading == "Employee handbook > Remote work"
        assert all(chunk.embedding is not None and chunk.lexical for chunk in chunks)
        hit = retrieval.search("How many days can I work from home?").hits[0]
    assert hit.url == f"/knowledge/documents/{document.pk}/#remote-work"


def test_the_document_page_shows_each_section_under_its_anchor(client, dora, bob, run_on_commit, in_tenant):
    client.force_login(dora.user)
    upload(client, "handbook.md", HANDBOOK, run_on_commit)
    with in_tenant(dora.tenant):
        document = Document.objects.get()

    client.force_login(bob.user)
    page = client.get(f"/knowledge/documents/{document.pk}/").content.decode()

    assert 'id="remote-work"' in page
    assert "Employees may work from home two days a week." in page
    assert client.get(f"/knowledge/documents/{document.pk}/file/").content == HANDBOOK


def test_a_word_document_keeps_its_headings(client, dora, run_on_commit, in_tenant):
    word = docx.Document()
    word.add_heading("加班規定", level=1)
    word.add_paragraph("加班須事先經主管核准，並於系統申請。")
    output = io.BytesIO()
    word.save(output)
    client.force_login(dora.user)

    upload(client, "overtime.docx", output.getvalue(), run_on_commit)

    with in_tenant(dora.tenant):
        chunk = Chunk.objects.get()
        assert (chunk.heading, chunk.anchor) == ("加班規定", "加班規定")


def test_a_bad_file_fails_with_a_reason_and_leaves_no_chunks(client, dora, run_on_commit, in_tenant):
    client.force_login(dora.user)

    response = upload(client, "scan.pdf", b"%PDF-1.4 this is not really a pdf", run_on_commit)

    with in_tenant(dora.tenant):
        document = Document.objects.get()
        assert document.state == "failed"
        assert "could not be read as a PDF" in document.error
        assert not Chunk.objects.exists()
    assert "could not be read as a PDF" in client.get(response.redirect_chain[-1][0]).content.decode()


def test_an_unsupported_file_type_is_refused_before_upload(client, dora, in_tenant):
    client.force_login(dora.user)

    response = client.post(reverse("knowledge:document_list"), {"file": SimpleUploadedFile("notes.xls", b"x")})

    assert "Lantern cannot read notes.xls" in response.content.decode()
    with in_tenant(dora.tenant):
        assert not Document.objects.exists()


def test_uploading_the_same_file_twice_keeps_one_document(client, dora, run_on_commit, in_tenant):
    client.force_login(dora.user)
    upload(client, "handbook.md", HANDBOOK, run_on_commit)

    response = upload(client, "handbook-copy.md", HANDBOOK, run_on_commit)

    assert "already in the library" in response.content.decode()
    with in_tenant(dora.tenant):
        assert Document.objects.count() == 1


def test_a_new_version_replaces_the_chunks_whole(client, dora, run_on_commit, in_tenant):
    client.force_login(dora.user)
    upload(client, "handbook.md", HANDBOOK, run_on_commit)
    with in_tenant(dora.tenant):
        document = Document.objects.get()

    with run_on_commit():
        client.post(
            reverse("knowledge:document_replace", args=[document.pk]),
            {"file": SimpleUploadedFile("handbook.md", b"# Handbook\n\n## Parking\n\nPark in lot B.\n")},
        )

    with in_tenant(dora.tenant):
        document.refresh_from_db()
        assert (document.version, document.state) == (2, "ready")
        assert list(document.chunks.values_list("anchor", flat=True)) == ["parking"]


def test_archived_documents_are_not_searched_and_employees_cannot_open_them(
    client, dora, bob, run_on_commit, in_tenant
):
    client.force_login(dora.user)
    upload(client, "handbook.md", HANDBOOK, run_on_commit)
    with in_tenant(dora.tenant):
        document = Document.objects.get()
    client.post(reverse("knowledge:document_status", args=[document.pk]), {"status": "archived"})

    with in_tenant(dora.tenant):
        assert retrieval.search("work from home VPN").hits == ()
    client.force_login(bob.user)
    assert client.get(reverse("knowledge:document_detail", args=[document.pk])).status_code == 404


def test_deleting_a_document_removes_its_chunks(client, dora, run_on_commit, in_tenant):
    client.force_login(dora.user)
    upload(client, "handbook.md", HANDBOOK, run_on_commit)
    with in_tenant(dora.tenant):
        document = Document.objects.get()

    client.post(reverse("knowledge:document_delete", args=[document.pk]))

    with in_tenant(dora.tenant):
        assert not Document.objects.exists()
        assert not Chunk.objects.exists()


def test_processing_twice_is_harmless(dora, in_tenant, django_capture_on_commit_callbacks):
    with in_tenant(dora.tenant), django_capture_on_commit_callbacks(execute=False):
        document, _ = uploads.upload_document(tenant_id=dora.tenant_id, filename="handbook.md", content=HANDBOOK)
        uploads.process_document(document_id=document.pk)
        uploads.process_document(document_id=document.pk)
        assert document.chunks.count() == 2


class WorkerKilled(BaseException):
    """What a worker killed mid-task amounts to for its transaction: it ends without a commit."""


def test_a_task_killed_after_writing_chunks_is_redone_whole_when_delivered_again(
    dora, in_tenant, django_capture_on_commit_callbacks, monkeypatch
):
    with in_tenant(dora.tenant), django_capture_on_commit_callbacks(execute=False):
        document, _ = uploads.upload_document(tenant_id=dora.tenant_id, filename="handbook.md", content=HANDBOOK)

    def killed(chunks):
        assert len(chunks) == 2
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(uploads, "set_lexical_vectors", killed)
        with pytest.raises(WorkerKilled):
            process_uploaded_document(dora.tenant_id, document.pk)
    with in_tenant(dora.tenant):
        assert Document.objects.get(pk=document.pk).state == Document.State.PROCESSING
        assert not document.chunks.exists()

    assert process_uploaded_document(dora.tenant_id, document.pk) == Document.State.READY

    with in_tenant(dora.tenant):
        assert list(document.chunks.order_by("position").values_list("position", "anchor")) == [
            (0, "leave"),
            (1, "remote-work"),
        ]
