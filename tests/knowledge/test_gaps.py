"""Unanswered questions: recorded by the chat, grouped by meaning, and turned into FAQ drafts by curators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knowledge.gaps import dismiss_unanswered, record_unanswered, unanswered_groups
from knowledge.models import FaqEntry, UnansweredQuestion

QUESTIONS = [
    ("How do I get a parking permit?", "no_match"),
    ("parking permit application", "no_match"),
    ("How do I get a parking permit?", "not_helpful"),
    ("停車證怎麼申請", "no_match"),
    ("停車證要怎麼申請？", "no_match"),
    ("可以帶狗來上班嗎", "no_match"),
    ("Can I bring my dog to work?", "no_match"),
]


@pytest.fixture
def asked(acme, in_tenant):
    with in_tenant(acme):
        for number, (text, reason) in enumerate(QUESTIONS):
            record_unanswered(tenant_id=acme.pk, question_redacted=text, reason=reason, message_id=100 + number)


def test_similar_questions_are_grouped_with_counts_most_asked_first(acme, asked, in_tenant):
    with in_tenant(acme):
        groups = unanswered_groups()

    assert [(group.question, group.count) for group in groups][:2] == [
        ("How do I get a parking permit?", 3),
        ("停車證要怎麼申請？", 2),  # asked as often as 停車證怎麼申請, and more recently
    ]
    assert groups[0].wordings == ("How do I get a parking permit?", "parking permit application")
    assert (groups[0].no_match, groups[0].not_helpful) == (2, 1)
    assert (groups[0].language, groups[1].language) == ("en", "zh-hant")
    assert sum(group.count for group in groups) == len(QUESTIONS)
    assert len(groups) == 4  # the dog questions stay apart from the parking ones and from each other's language


def test_the_same_message_is_recorded_once_per_reason(acme, in_tenant):
    with in_tenant(acme):
        for _ in range(2):
            record_unanswered(tenant_id=acme.pk, question_redacted="VPN down", reason="not_helpful", message_id=7)
        record_unanswered(tenant_id=acme.pk, question_redacted="VPN down", reason="no_match", message_id=7)

        assert UnansweredQuestion.objects.count() == 2


def test_an_unknown_reason_or_an_empty_question_is_refused(acme, in_tenant):
    with in_tenant(acme):
        with pytest.raises(ValueError, match="Unknown reason"):
            record_unanswered(tenant_id=acme.pk, question_redacted="VPN?", reason="angry")
        with pytest.raises(ValueError, match="needs its text"):
            record_unanswered(tenant_id=acme.pk, question_redacted="   ", reason="no_match")


def test_old_and_dismissed_questions_leave_the_list(acme, asked, in_tenant):
    with in_tenant(acme):
        UnansweredQuestion.objects.filter(question__startswith="停車證").update(
            asked_at=timezone.now() - timedelta(days=45)
        )
        dog = UnansweredQuestion.objects.filter(question__contains="dog").values_list("pk", flat=True)
        assert dismiss_unanswered(question_ids=list(dog)) == 1

        shown = {group.question for group in unanswered_groups(days=30)}
        assert shown == {"How do I get a parking permit?", "可以帶狗來上班嗎"}
        assert "停車證要怎麼申請？" in {group.question for group in unanswered_groups(days=90)}


def test_the_page_lists_groups_and_drafts_an_entry_from_one_in_one_click(client, dora, asked, in_tenant):
    client.force_login(dora.user)

    page = client.get(reverse("knowledge:unanswered_list")).content.decode()
    assert "How do I get a parking permit?" in page
    with in_tenant(dora.tenant):
        group = unanswered_groups()[0]
    draft_url = f"{reverse('knowledge:faq_create')}?unanswered={','.join(map(str, group.question_ids))}"
    assert draft_url.replace("&", "&amp;") in page or draft_url in page

    form = client.get(draft_url)
    assert form.context["form"].initial["question"] == "How do I get a parking permit?"
    assert form.context["form"].initial["alternatives"] == "parking permit application"
    assert form.context["form"].initial["language"] == "en"

    client.post(
        draft_url,
        {
            "question": "How do I get a parking permit?",
            "answer": "Apply at the front desk with your car registration.",
            "alternatives": "parking permit application",
            "language": "en",
            "status": "draft",
            "unanswered": form.context["form"].initial["unanswered"],
        },
    )

    with in_tenant(dora.tenant):
        entry = FaqEntry.objects.get()
        assert UnansweredQuestion.objects.filter(faq_entry=entry).count() == 3
        assert "How do I get a parking permit?" not in {group.question for group in unanswered_groups()}


def test_dismissing_a_group_from_the_page(client, dora, asked, in_tenant):
    with in_tenant(dora.tenant):
        group = unanswered_groups()[0]
    client.force_login(dora.user)

    response = client.post(
        reverse("knowledge:unanswered_dismiss"), {"questions": ",".join(map(str, group.question_ids))}, follow=True
    )

    assert "3 questions dismissed." in response.content.decode()
    with in_tenant(dora.tenant):
        assert group.question not in {other.question for other in unanswered_groups()}
