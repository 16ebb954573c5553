"""The answer streams to the browser as server-sent events and is stored exactly once, however it ends."""

import json

from django.db import connections
from django.urls import reverse

from audit.models import AuditEvent
from chatbot.models import Conversation, Message
from costing.models import UsageRecord
from tenancy.context import tenant_context


def events_of(response) -> list[tuple[str, dict]]:
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def leave(response, monkeypatch) -> None:
    """Close the response the way a WSGI server does when the reader disconnects.

    The end of a request closes the database connection, which would end the test's own transaction."""
    monkeypatch.setattr(connections["default"], "close_if_unusable_or_obsolete", lambda: None)
    response.close()


def test_answer_streams_opening_deltas_and_done_and_is_stored_once(client, bob, acme_faqs):
    client.force_login(bob.user)
    response = client.post(reverse("chatbot:ask_stream"), {"question": "How do I reset my password?"})
    assert response["Content-Type"] == "text/event-stream"
    events = events_of(response)
    names = [name for name, _ in events]
    assert names[0] == "opening" and names[-1] == "done"
    assert names.count("delta") >= 2
    opening = events[0][1]
    assert opening["route"] in {"local", "extractive"}
    assert opening["badge"]["label"]
    assert opening["sources"][0]["external_id"] == "IT-PW-1"
    text = "".join(payload["text"] for name, payload in events if name == "delta")
    assert "sso.acme.example/reset" in text
    with tenant_context(bob.tenant_id):
        assert AuditEvent.objects.filter(kind="question").count() == 1
        assert UsageRecord.objects.count() == 1
        reply = Message.objects.get(role="assistant")
    assert reply.text == text
    assert reply.status == "complete"
    assert events[-1][1]["message_id"] == reply.pk


def test_reader_leaving_mid_stream_keeps_what_was_shown_marked_interrupted(client, bob, acme_faqs, monkeypatch):
    client.force_login(bob.user)
    response = client.post(reverse("chatbot:ask_stream"), {"question": "How do I reset my password?"})
    chunks = iter(response.streaming_content)
    next(chunks)  # opening
    shown = json.loads(next(chunks).decode().split("data: ", 1)[1])["text"]
    leave(response, monkeypatch)
    with tenant_context(bob.tenant_id):
        reply = Message.objects.get(role="assistant")
        assert AuditEvent.objects.filter(kind="question").count() == 1
        assert UsageRecord.objects.count() == 1
        event = AuditEvent.objects.get(kind="question")
    assert reply.status == "interrupted"
    assert reply.text == shown
    assert event.payload["status"] == "interrupted"


def test_stream_continues_the_same_conversation(client, bob, acme_faqs):
    client.force_login(bob.user)
    first = events_of(client.post(reverse("chatbot:ask_stream"), {"question": "How do I reset my password?"}))
    conversation_id = first[0][1]["conversation_id"]
    events_of(
        client.post(reverse("chatbot:ask_stream"), {"question": "vpn not working", "conversation": conversation_id})
    )
    with tenant_context(bob.tenant_id):
        assert Conversation.objects.count() == 1
        assert Message.objects.filter(conversation_id=conversation_id).count() == 4


def test_empty_and_oversized_questions_get_a_stated_reason_and_store_nothing(client, bob):
    client.force_login(bob.user)
    empty = client.post(reverse("chatbot:ask_stream"), {"question": "  "})
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "invalid_question"
    long = client.post(reverse("chatbot:ask_stream"), {"question": "x" * 5000})
    assert long.status_code == 400
    assert "2000" in long.json()["error"]["message"]
    with tenant_context(bob.tenant_id):
        assert not Message.objects.exists()
        assert not Conversation.objects.exists()


def test_asking_too_fast_is_refused_with_a_clear_message(client, bob, acme_faqs, settings):
    settings.LANTERN_RATE_LIMIT_USER_PER_MINUTE = 1
    from django.core.cache import cache

    cache.clear()
    client.force_login(bob.user)
    events_of(client.post(reverse("chatbot:ask_stream"), {"question": "How do I reset my password?"}))
    refused = client.post(reverse("chatbot:ask_stream"), {"question": "How do I reset my password?"})
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert refused.json()["error"]["code"] == "rate_limited"
    cache.clear()


def test_streaming_is_post_only(client, bob):
    client.force_login(bob.user)
    assert client.get(reverse("chatbot:ask_stream"), {"question": "VPN?"}).status_code == 405


def test_a_question_with_an_id_number_shows_it_stayed_in_house(client, bob, acme_faqs):
    client.force_login(bob.user)
    events = events_of(
        client.post(reverse("chatbot:ask_stream"), {"question": "My ID is A123456789, how do I reset my password?"})
    )
    badge = events[0][1]["badge"]
    assert badge["route"] in {"local", "extractive", "refused"}
    assert badge["in_house"]
