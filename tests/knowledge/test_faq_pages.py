"""Dora, an HR curator, writes, finds, publishes and archives FAQ entries in the browser."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AuditEvent
from knowledge import retrieval
from knowledge.faqs import save_faq_entry
from knowledge.models import FaqEntry


def new_entry(client, **fields):
    values = {
        "question": "特休假有幾天？",
        "answer": "依勞基法第38條，年資滿一年有**7天**特休。",
        "alternatives": "年假有幾天\n特休怎麼算\n年假有幾天",
        "category": "請假",
        "tags": "特休，年假、leave",
        "language": "zh-hant",
        "status": "draft",
        "owner_department": "",
        "external_id": "HR-LEAVE-1",
        **fields,
    }
    return client.post(reverse("knowledge:faq_create"), values, follow=True)


def test_dora_writes_an_entry_with_alternatives_and_tags(client, dora, in_tenant):
    client.force_login(dora.user)

    response = new_entry(client)

    assert response.status_code == 200
    assert "FAQ entry saved as version 1." in response.content.decode()
    with in_tenant(dora.tenant):
        entry = FaqEntry.objects.get()
        assert entry.alternatives == ["年假有幾天", "特休怎麼算"]
        assert entry.tags == ["特休", "年假", "leave"]
        assert entry.external_id == "HR-LEAVE-1"
        assert entry.status == "draft"
    assert "<strong>7天</strong>" in response.content.decode()


def test_a_draft_is_not_retrieved_until_it_is_published(client, dora, in_tenant):
    client.force_login(dora.user)
    new_entry(client)
    with in_tenant(dora.tenant):
        entry = FaqEntry.objects.get()
        assert retrieval.search("年假有幾天").hits == ()

    response = client.post(reverse("knowledge:faq_status", args=[entry.pk]), {"status": "published"}, follow=True)

    assert "1 entry published" in response.content.decode()
    with in_tenant(dora.tenant):
        assert retrieval.search("年假有幾天").hits[0].id == entry.pk
        event = AuditEvent.objects.get(kind="faq_published")
        assert event.payload == {"faq_entry_id": entry.pk, "version": 2}
        assert (event.actor_user_id, event.actor_username) == (dora.user_id, "dora")


def test_missing_answer_and_duplicate_external_id_are_explained_on_the_form(client, dora, in_tenant):
    client.force_login(dora.user)
    new_entry(client)

    response = new_entry(client, answer="", question="病假要附證明嗎？")

    page = response.content.decode()
    assert "Another FAQ entry already has this external ID." in page
    assert "This field is required." in page
    with in_tenant(dora.tenant):
        assert FaqEntry.objects.count() == 1


def test_editing_keeps_the_external_id_and_makes_a_new_version(client, dora, in_tenant):
    client.force_login(dora.user)
    new_entry(client)
    with in_tenant(dora.tenant):
        entry = FaqEntry.objects.get()

    response = client.post(
        reverse("knowledge:faq_edit", args=[entry.pk]),
        {
            "question": "特休假有幾天？",
            "answer": "年資滿一年有7天特休，滿兩年有10天。",
            "alternatives": "年假有幾天",
            "category": "請假",
            "tags": "特休",
            "language": "zh-hant",
            "status": "published",
            "version": "1",
            "external_id": "CHANGED",
        },
        follow=True,
    )

    assert "Saved as version 2." in response.content.decode()
    with in_tenant(dora.tenant):
        entry.refresh_from_db()
        assert (entry.version, entry.status, entry.external_id) == (2, "published", "HR-LEAVE-1")
        assert entry.alternatives == ["年假有幾天"]


def test_a_stale_form_does_not_overwrite_a_colleagues_edit(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        entry, _ = save_faq_entry(tenant_id=dora.tenant_id, question="VPN?", answer="Use GlobalProtect.")
        save_faq_entry(tenant_id=dora.tenant_id, entry_id=entry.pk, question="VPN?", answer="Use the new VPN.")
    client.force_login(dora.user)

    response = client.post(
        reverse("knowledge:faq_edit", args=[entry.pk]),
        {"question": "VPN?", "answer": "My old text.", "language": "en", "status": "draft", "version": "1"},
        follow=True,
    )

    assert "Someone saved this entry while you were editing it." in response.content.decode()
    with in_tenant(dora.tenant):
        assert FaqEntry.objects.get().answer == "Use the new VPN."


def test_the_list_searches_questions_answers_and_alternatives_and_filters(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        save_faq_entry(
            tenant_id=dora.tenant_id,
            question="特休假有幾天？",
            answer="7天。",
            category="請假",
            alternatives=["年假怎麼算"],
            status="published",
        )
        save_faq_entry(
            tenant_id=dora.tenant_id, question="How do I reset my password?", answer="Use SSO.", language="en"
        )
    client.force_login(dora.user)

    def listed(**query) -> str:
        return client.get(reverse("knowledge:faq_list"), query).content.decode()

    assert "特休假有幾天" in listed(q="年假怎麼算")
    assert "reset my password" not in listed(q="年假怎麼算")
    assert "reset my password" in listed(q="SSO")
    assert "特休假有幾天" not in listed(status="draft")
    assert "特休假有幾天" in listed(category="請假", language="zh-hant")
    assert "No FAQ entries match these filters." in listed(q="parking")


def test_bulk_publish_then_archive_records_audit_events(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        ids = [
            save_faq_entry(tenant_id=dora.tenant_id, question=f"Question {number}?", answer="Answer.")[0].pk
            for number in range(3)
        ]
    client.force_login(dora.user)

    published = client.post(
        reverse("knowledge:faq_bulk"), {"action": "publish", "entries": [str(pk) for pk in ids]}, follow=True
    )
    archived = client.post(reverse("knowledge:faq_bulk"), {"action": "archive", "entries": [str(ids[0])]}, follow=True)

    assert "3 entries published" in published.content.decode()
    assert "1 entry archived" in archived.content.decode()
    with in_tenant(dora.tenant):
        assert sorted(FaqEntry.objects.values_list("status", flat=True)) == ["archived", "published", "published"]
        assert AuditEvent.objects.filter(kind="faq_published").count() == 3
        assert AuditEvent.objects.get(kind="faq_archived").payload["faq_entry_id"] == ids[0]


def test_bulk_without_a_selection_says_so(client, dora):
    client.force_login(dora.user)

    response = client.post(reverse("knowledge:faq_bulk"), {"action": "publish"}, follow=True)

    assert "Select one or more entries first." in response.content.decode()


def test_export_downloads_the_filtered_entries_as_excel(client, dora, in_tenant):
    with in_tenant(dora.tenant):
        save_faq_entry(
            tenant_id=dora.tenant_id, question="Q1?", answer="A1.", status="published", alternatives=["q one"]
        )
        save_faq_entry(tenant_id=dora.tenant_id, question="Q2?", answer="A2.")
    client.force_login(dora.user)

    response = client.get(reverse("knowledge:faq_export", args=["csv"]), {"status": "published"})

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert "Q1?" in text and "q one" in text
    assert "Q2?" not in text


def test_a_published_entry_page_is_readable_by_every_member_but_a_draft_is_not(client, dora, bob, in_tenant):
    with in_tenant(dora.tenant):
        published, _ = save_faq_entry(tenant_id=dora.tenant_id, question="VPN?", answer="Use it.", status="published")
        draft, _ = save_faq_entry(tenant_id=dora.tenant_id, question="Secret plan?", answer="Not yet.")
    client.force_login(bob.user)

    page = client.get(f"/knowledge/faqs/{published.pk}/")

    assert page.status_code == 200
    assert "Use it." in page.content.decode()
    assert reverse("knowledge:faq_edit", args=[published.pk]) not in page.content.decode()
    assert client.get(f"/knowledge/faqs/{draft.pk}/").status_code == 404
