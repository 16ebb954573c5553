"""The fake LLM server speaks OpenAI's wire format, so tests that use it test something real."""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_server import FakeLLMServer, count_words, default_answer

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Where is the VPN client?"},
]


@pytest.fixture
def server():
    with FakeLLMServer() as running:
        yield running


def client(server, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=5, **options)


def raw_post(server, body: dict) -> tuple[int, dict[str, str], str]:
    address = urlparse(server.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    content = response.read().decode()
    connection.close()
    return response.status, {name.lower(): value for name, value in response.getheaders()}, content


def test_starts_in_milliseconds_on_a_loopback_port():
    started = time.perf_counter()
    with FakeLLMServer() as server:
        assert time.perf_counter() - started < 0.5
        assert urlparse(server.base_url).hostname == "127.0.0.1"
        assert server.base_url.endswith("/v1")


def test_plain_completion_through_the_sdk(server):
    completion = client(server).chat.completions.create(model="fake-model", messages=MESSAGES)

    assert completion.choices[0].message.content == default_answer({"messages": MESSAGES})
    assert "24 characters" in completion.choices[0].message.content
    assert completion.usage.prompt_tokens == count_words("Be brief. Where is the VPN client?")
    assert server.requests == [{"model": "fake-model", "messages": MESSAGES}]


def test_streamed_completion_through_the_sdk_ends_with_usage(server):
    server.answer("Open the EIP portal [1].")

    chunks = list(
        client(server).chat.completions.create(
            model="fake-model", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Open the EIP portal [1]."
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 5
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_stream_is_server_sent_events_ending_in_done(server):
    server.answer("Hi [1].")

    status, headers, content = raw_post(server, {"model": "m", "messages": MESSAGES, "stream": True})

    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    events = content.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert all(event.startswith("data: {") for event in events[:-2])
    assert {payload["object"] for payload in payloads} == {"chat.completion.chunk"}
    assert all("usage" not in payload for payload in payloads)  # only sent when include_usage is asked for


def test_lists_its_model(server):
    assert [model.id for model in client(server).models.list()] == ["fake-model"]


def test_fails_the_first_calls_then_answers(server):
    server.fail(503, times=2, retry_after_ms=1)

    statuses = [raw_post(server, {"model": "m", "messages": MESSAGES})[0] for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert len(server.requests) == 3


def test_failure_statuses_become_the_sdks_errors(server):
    server.fail(401)

    with pytest.raises(openai.AuthenticationError):
        client(server).chat.completions.create(model="fake-model", messages=MESSAGES)


def test_garbage_is_not_json(server):
    server.garbage("not_json")

    status, _headers, content = raw_post(server, {"model": "m", "messages": MESSAGES})

    assert status == 200
    with pytest.raises(ValueError):
        json.loads(content)


def test_reset_releases_a_hanging_request_and_forgets_requests(server):
    server.hang()
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_post_or_error(server)))
    thread.start()
    while not server.requests:
        time.sleep(0.01)

    server.reset()
    thread.join(timeout=2)

    assert not thread.is_alive()
    assert outcome == ["connection closed"]
    assert server.requests == []


def test_a_stopped_server_refuses_connections_even_from_a_kept_alive_pool():
    with FakeLLMServer() as server:
        sdk = client(server)
        sdk.chat.completions.create(model="fake-model", messages=MESSAGES)

    with pytest.raises(openai.APIConnectionError):
        sdk.chat.completions.create(model="fake-model", messages=MESSAGES)


def test_serves_concurrent_slow_requests_in_parallel(server):
    server.slow(delay_seconds=0.3)
    sdk = client(server)
    threads = [
        threading.Thread(target=sdk.chat.completions.create, kwargs={"model": "m", "messages": MESSAGES})
        for _ in range(8)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert time.perf_counter() - started < 1.0
    assert len(server.requests) == 8


def _post_or_error(server) -> str:
    try:
        raw_post(server, {"model": "m", "messages": MESSAGES})
    except (http.client.HTTPException, ConnectionError):
        return "connection closed"
    return "answered"
