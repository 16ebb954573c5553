"""/v1/chat/completions fuzzed: it is not a DRF view, so not in the OpenAPI schema, and Hypothesis sends it
bodies of its own making: chat requests with every kind of wrong part, any JSON at all, and bytes that are not
JSON. No answer is a server error, a refusal is an OpenAI-shaped error that stores nothing, and an answer is a
chat completion."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chatbot.api_keys import create_api_key
from chatbot.models import Conversation, Message
from tenancy.context import tenant_context

JSON = "application/json"
# Characters that have broken text handling before: NUL and other controls, lone surrogates, a byte-order mark,
# the replacement character, right-to-left override, Chinese.
AWKWARD = st.sampled_from(["\x00", "\x1b", "\ud800", "\udfff", "\ufeff", "\ufffd", "\u202e", "特", "é", "\n"])
# st.text never draws lone surrogates, so text is joined from characters.
TEXT = st.lists(AWKWARD | st.characters(codec=None, exclude_categories=()), max_size=30).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
QUESTION = st.sampled_from(["How do I reset my password?", "特休假有幾天？", "  "]) | TEXT
TURN = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"]), "content": QUESTION})
ASKING = st.fixed_dictionaries(
    {
        "role": st.just("user"),
        "content": QUESTION | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": QUESTION}), max_size=2),
    }
)
# A chat request as a client sends it, with awkward text where a person types.
CHAT_REQUEST = st.fixed_dictionaries(
    {"messages": st.tuples(st.lists(TURN, max_size=3), ASKING).map(lambda parts: [*parts[0], parts[1]])},
    optional={"model": st.sampled_from(["lantern", ""]), "stream": st.booleans()},
)
# The same with any part of any type.
CONTENT_PART = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]) | JSON_VALUES, "text": QUESTION})
MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "tool"]) | JSON_VALUES,
        "content": QUESTION | st.lists(CONTENT_PART | JSON_VALUES, max_size=3) | JSON_VALUES,
    }
)
MALFORMED_CHAT_REQUEST = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE | JSON_VALUES, max_size=4) | JSON_VALUES},
    optional={
        "model": st.sampled_from(["lantern", "gpt-4o", ""]) | JSON_VALUES,
        "stream": st.booleans() | JSON_VALUES,
        "temperature": JSON_VALUES,
    },
)
BODIES = (
    CHAT_REQUEST.map(lambda body: json.dumps(body).encode())
    | MALFORMED_CHAT_REQUEST.map(lambda body: json.dumps(body).encode())
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=100)
)


@pytest.fixture
def bob_key(bob, settings) -> str:
    settings.LANTERN_RATE_LIMIT_USER_PER_MINUTE = 0
    settings.LANTERN_RATE_LIMIT_TENANT_PER_MINUTE = 0
    with tenant_context(bob.tenant_id):
        return create_api_key(membership=bob, name="fuzz").secret


def stored(membership) -> int:
    with tenant_context(membership.tenant_id):
        return Conversation.objects.count() + Message.objects.count()


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES)
@example(body=json.dumps({"messages": [{"role": "user", "content": "VPN?\ud800"}]}).encode())
def test_any_body_gets_a_completion_or_a_clear_error_never_a_server_error(client, bob, acme_faqs, bob_key, body):
    before = stored(bob)
    response = client.post(
        reverse("openai:chat_completions"), body, content_type=JSON, HTTP_AUTHORIZATION=f"Bearer {bob_key}"
    )
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] and error["message"]
        assert stored(bob) == before
    elif response.streaming:
        assert b"".join(response.streaming_content).endswith(b"data: [DONE]\n\n")
    else:
        assert isinstance(response.json()["choices"][0]["message"]["content"], str)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[1]", "The body must be a JSON object with a 'messages' list."),
        (b'{"messages": [1]}', "messages[0] must be an object with a 'role' and a 'content'."),
        (b'{"messages": [{"role": "user", "content": [1]}]}', "messages[0].content[0] must be an object"),
        (b'{"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}', "content[0].text must be"),
        (b'{"messages": [{"role": "assistant", "content": "\\udfff"}, {"role": "user", "content": "?"}]}', "not valid"),
    ],
)
def test_a_request_of_the_wrong_shape_is_refused_naming_the_part_to_fix(client, bob, bob_key, body, says):
    response = client.post(
        reverse("openai:chat_completions"), body, content_type=JSON, HTTP_AUTHORIZATION=f"Bearer {bob_key}"
    )
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]
    assert stored(bob) == 0
