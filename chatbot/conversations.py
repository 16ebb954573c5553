"""Changes a member makes to their own conversations and answers: rename, hide, rate."""

from __future__ import annotations

from django.db import transaction

from chatbot.models import Conversation, Feedback, Message
from routing import pii
from routing.policy import scan_question
from tenancy.models import Membership

MAX_TITLE_CHARS = 200
MAX_COMMENT_CHARS = 2000


def rename_conversation(*, conversation: Conversation, title: str) -> Conversation:
    """Give a conversation a new title (blank titles are refused by keeping the old one)."""
    title = " ".join(title.split())[:MAX_TITLE_CHARS]
    if title:
        conversation.title = title
        conversation.save(update_fields=["title", "updated_at"])
    return conversation


def hide_conversation(*, conversation: Conversation) -> None:
    """Remove a conversation from its owner's list; its messages and audit events stay."""
    conversation.hidden = True
    conversation.save(update_fields=["hidden", "updated_at"])


def give_feedback(*, membership: Membership, message: Message, helpful: bool, comment: str = "") -> Feedback:
    """Rate an answer; "not helpful" sends the redacted question to the curators' unanswered list."""
    if message.role != Message.Role.ASSISTANT:
        raise ValueError("Only answers can be rated.")
    comment = comment.strip()[:MAX_COMMENT_CHARS]
    with transaction.atomic():
        feedback, _ = Feedback.objects.update_or_create(
            message=message,
            defaults={
                "tenant_id": membership.tenant_id,
                "user_id": membership.user_id,
                "helpful": helpful,
                "comment": comment,
            },
        )
        if not helpful:
            question = (
                Message.objects.filter(
                    conversation_id=message.conversation_id,
                    correlation_id=message.correlation_id,
                    role=Message.Role.USER,
                )
                .values_list("text", flat=True)
                .first()
            )
            if question:
                from knowledge.gaps import record_unanswered

                scan = scan_question(tenant_id=membership.tenant_id, question=question)
                record_unanswered(
                    tenant_id=membership.tenant_id,
                    question_redacted=pii.redact(question, scan.findings).text,
                    reason="not_helpful",
                    message_id=message.pk,
                )
    return feedback
