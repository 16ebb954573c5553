"""Conversations are renamed and deleted by their owner; answers are rated, and bad ones reach the curators."""

from django.urls import reverse

from audit.models import AuditEvent
from chatbot.models import Conversation, Feedback, Message
from knowledge.models import UnansweredQuestion
from tenancy.context import tenant_context


def ask(client, question):
    client.post(reverse("chatbot:ask"), {"question": question})
    return Message.objects.filter(role="assistant").order_by("-id").first()


def test_owner_renames_and_deletes_a_conversation_but_the_audit_stays(client, bob, acme_faqs):
    client.force_login(bob.user)
    with tenant_context(bob.tenant_id):
        reply = ask(client, "How do I reset my password?")
    conversation_id = reply.conversation_id
    client.post(reverse("chatbot:rename", args=[conversation_id]), {"title": "Password help"})
    page = client.get(reverse("chatbot:chat")).content.decode()
    assert "Password help" in page
    client.post(reverse("chatbot:delete", args=[conversation_id]))
    assert client.get(reverse("chatbot:conversation", args=[conversation_id])).status_code == 404
    assert "Password help" not in client.get(reverse("chatbot:chat")).content.decode()
    with tenant_context(bob.tenant_id):
        assert Conversation.objects.get(pk=conversation_id).hidden
        assert AuditEvent.objects.filter(kind="question").count() == 1


def test_not_helpful_feedback_reaches_the_unanswered_list_redacted(client, bob, acme_faqs):
    client.force_login(bob.user)
    with tenant_context(bob.tenant_id):
        reply = ask(client, "I am A123456789, how do I reset my password?")
    response = client.post(
        reverse("chatbot:feedback", args=[reply.pk]),
        {"helpful": "no", "comment": "link is dead"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"message_id": reply.pk, "helpful": False}
    with tenant_context(bob.tenant_id):
        feedback = Feedback.objects.get()
        gap = UnansweredQuestion.objects.get(reason="not_helpful")
    assert feedback.comment == "link is dead" and not feedback.helpful
    assert "A123456789" not in gap.question


def test_a_question_without_a_match_is_recorded_for_the_curators(client, bob, acme_faqs):
    client.force_login(bob.user)
    with tenant_context(bob.tenant_id):
        ask(client, "What is the airspeed velocity of an unladen swallow?")
        assert UnansweredQuestion.objects.filter(reason="no_match").exists()


def test_nobody_rates_someone_elses_answer(client, alice, bob, acme_faqs):
    client.force_login(bob.user)
    with tenant_context(bob.tenant_id):
        reply = ask(client, "How do I reset my password?")
    client.force_login(alice.user)
    assert client.post(reverse("chatbot:feedback", args=[reply.pk]), {"helpful": "yes"}).status_code == 404
