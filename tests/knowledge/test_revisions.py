"""Every edit of an FAQ entry is kept: who changed what, shown as a difference, and restorable in one click."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from knowledge import retrieval
from knowledge.curation import revision_history, snapshot_changes, text_changes
from knowledge.faqs import save_faq_entry
from knowledge.models import FaqEntry


def test_text_changes_mark_removed_and_added_words_and_chinese_characters():
    english = text_changes("Salaries are paid on the 5th.", "Salaries are paid on the 10th.")
    chinese = text_changes("年資滿一年有7天特休。", "年資滿一年有7天特休，滿兩年有10天。")

    assert [(piece.kind, piece.text) for piece in english] == [
        ("same", "Salaries are paid on the "),
        ("removed", "5th"),
        ("added", "10th"),
        ("same", "."),
    ]
    assert [(piece.kind, piece.text) for piece in chinese] == [
        ("same", "年資滿一年有7天特休"),
        ("added", "，滿兩年有10天"),
        ("same", "。"),
    ]


def test_snapshot_changes_list_only_what_changed():
    before = {"question": "VPN?", "answer": "Old.", "alternatives": ["vpn down"], "tags": ["it"], "status": "draft"}
    after = {
        "question": "VPN?",
        "answer": "New.",
        "alternatives": ["vpn down", "vpn 斷線"],
        "tags": ["it"],
        "status": "published",
    }

    with translation.override("en"):
        changes = {change.name: change for change in snapshot_changes(before=before, after=after)}

    assert set(changes) == {"answer", "alternatives", "status"}
    assert changes["alternatives"].added == ("vpn 斷線",)
    assert (changes["status"].before, changes["status"].after) == ("Draft", "Published")


def test_history_shows_each_version_with_its_editor_and_changes(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        entry, _ = save_faq_entry(
            tenant_id=dora.tenant_id,
            question="How do I reset my password?",
            answer="Call IT.",
            language="en",
            edited_by_id=dora.user_id,
        )
        save_faq_entry(
            tenant_id=dora.tenant_id,
            entry_id=entry.pk,
            question="How do I reset my password?",
            answer="Use the SSO portal.",
            language="en",
            alternatives=["forgot password"],
            edited_by_id=dora.user_id,
        )
        history = revision_history(entry=FaqEntry.objects.get())
    client.force_login(dora.user)

    page = client.get(reverse("knowledge:faq_history", args=[entry.pk])).content.decode()

    assert [item.revision.version for item in history] == [2, 1]
    assert [change.name for change in history[0].changes] == ["answer", "alternatives"]
    assert history[0].is_current and history[1].is_first
    assert "<del>Call IT</del>" in page
    assert "<ins>Use the SSO portal</ins>" in page
    assert "陳朵拉" in page
    assert page.count("Restore this version") == 1


def test_restoring_an_old_version_brings_back_its_text_alternatives_and_search(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        entry, _ = save_faq_entry(
            tenant_id=dora.tenant_id,
            question="How do I connect to the VPN?",
            answer="Open GlobalProtect.",
            language="en",
            status="published",
            alternatives=["vpn not working"],
        )
        save_faq_entry(
            tenant_id=dora.tenant_id,
            entry_id=entry.pk,
            question="How do I use the new remote access?",
            answer="Open Zscaler.",
            language="en",
            status="published",
        )
    client.force_login(dora.user)

    response = client.post(reverse("knowledge:faq_restore", args=[entry.pk, 1]), follow=True)

    assert "Version 1 restored; it is now version 3." in response.content.decode()
    with in_tenant(dora.tenant):
        entry.refresh_from_db()
        assert (entry.version, entry.answer, entry.alternatives) == (3, "Open GlobalProtect.", ["vpn not working"])
        assert entry.revisions.count() == 3
        assert retrieval.search("vpn not working").hits[0].id == entry.pk


def test_restoring_the_current_version_changes_nothing(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        entry, _ = save_faq_entry(tenant_id=dora.tenant_id, question="VPN?", answer="Use it.")
    client.force_login(dora.user)

    response = client.post(reverse("knowledge:faq_restore", args=[entry.pk, 1]), follow=True)

    assert "already reads as version 1" in response.content.decode()
    with in_tenant(dora.tenant):
        assert FaqEntry.objects.get().version == 1
