"""A small OpenAI-compatible chat server on loopback, the only fake in Lantern's tests.

It speaks the wire format the `openai` SDK expects (JSON for plain answers, server-sent events for streams),
records every request, and can be told to be slow, hang, fail, or answer with garbage:

    with FakeLLMServer() as server:
        server.fail(500, times=1)
        backend = backend_for("local", BackendConfig(base_url=server.base_url, model="fake-model"))
        ...
        assert len(server.requests) == 2
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

DEFAULT_MODEL = "fake-model"
HANG_LIMIT_SECONDS = 120.0
GARBAGE_KINDS = ("not_json", "no_choices")
BREAK_KINDS = ("drop", "garbage", "error", "stall")


@dataclass(frozen=True)
class Behaviour:
    """How the server answers chat completions until told otherwise."""

    text: str | None = None  # None: the default echo answer, see default_answer()
    delay_seconds: float = 0.0  # before the response starts
    chunk_delay_seconds: float = 0.0  # between streamed chunks
    hang: bool = False  # never answer, until the server is reset or stopped
    status: int = 200
    failures_left: int | None = None  # with a failing status: calls that fail before it answers; None: all
    retry_after_ms: int | None = None
    garbage: str = ""  # "not_json" or "no_choices"
    usage: bool = True
    break_kind: str = ""  # a stream that breaks midway: one of BREAK_KINDS
    break_after_events: int = 0  # events sent whole before it breaks


def default_answer(body: dict[str, Any]) -> str:
    """The answer given when no text is set: checkable from the request that asked it."""
    messages = body.get("messages") or [{}]
    question = str(messages[-1].get("content", ""))
    return f"The sources answer this [1]. Your message was {len(question)} characters long."


def count_words(text: str) -> int:
    """The fake server's token count: one token per whitespace-separated word."""
    return len(text.split())


class FakeLLMServer:
    """An OpenAI-compatible HTTP server on 127.0.0.1 with a random port, serving from a background thread."""

    def __init__(self, *, model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._behaviour = Behaviour()
        self._requests: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._http = _HTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in /v1."""
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The parsed JSON body of every chat completion request so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def headers(self) -> list[dict[str, str]]:
        """The headers of every chat completion request so far, names in lower case."""
        with self._lock:
            return list(self._headers)

    def start(self) -> Self:
        """Serve in a background thread; returns at once."""
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the socket."""
        self._released.set()
        if self._thread is not None:
            self._http.shutdown()
            self._thread = None
        self._http.server_close()
        self._http.close_connections()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Answer normally again and forget the recorded requests; hanging requests are released."""
        self._released.set()
        with self._lock:
            self._behaviour = Behaviour()
            self._requests.clear()
            self._headers.clear()
            self._released = threading.Event()

    def answer(self, text: str) -> None:
        """Answer every question with this text."""
        self._change(text=text)

    def slow(self, *, delay_seconds: float = 0.0, chunk_delay_seconds: float = 0.0) -> None:
        """Wait before the response starts, and between streamed chunks."""
        self._change(delay_seconds=delay_seconds, chunk_delay_seconds=chunk_delay_seconds)

    def hang(self) -> None:
        """Accept requests and never answer them, until reset or stopped."""
        self._change(hang=True)

    def fail(self, status: int, *, times: int | None = None, retry_after_ms: int | None = None) -> None:
        """Answer with an error status: every time, or only the next `times` calls and then normally."""
        self._change(status=status, failures_left=times, retry_after_ms=retry_after_ms)

    def garbage(self, kind: str = "not_json") -> None:
        """Answer 200 with a body that is not JSON ("not_json") or JSON without choices ("no_choices")."""
        if kind not in GARBAGE_KINDS:
            raise ValueError(f"garbage kind must be one of {GARBAGE_KINDS}, not {kind!r}")
        self._change(garbage=kind)

    def break_midway(self, kind: str, *, after_events: int = 3) -> None:
        """Break streamed answers after some events: "drop" the connection, send "garbage", an "error" event
        as OpenAI does when it fails mid-answer, or "stall" until reset or stopped."""
        if kind not in BREAK_KINDS:
            raise ValueError(f"break kind must be one of {BREAK_KINDS}, not {kind!r}")
        self._change(break_kind=kind, break_after_events=after_events)

    def omit_usage(self) -> None:
        """Leave token usage out of answers, as some servers do."""
        self._change(usage=False)

    def _change(self, **changes: Any) -> None:
        with self._lock:
            self._behaviour = replace(self._behaviour, **changes)

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[Behaviour, threading.Event]:
        """Record one chat request and take the behaviour it gets, counting down a limited failure."""
        with self._lock:
            self._requests.append(body)
            self._headers.append(headers)
            behaviour = self._behaviour
            if behaviour.status != 200 and behaviour.failures_left is not None:
                if behaviour.failures_left > 0:
                    self._behaviour = replace(behaviour, failures_left=behaviour.failures_left - 1)
                else:
                    behaviour = replace(behaviour, status=200, failures_left=None)
            return behaviour, self._released


@contextlib.contextmanager
def as_backends(
    settings: Any, local: FakeLLMServer | None, cloud: FakeLLMServer | None, **overrides: object
) -> Iterator[None]:
    """Point Lantern's local and cloud backends (pytest-django's `settings`) at fake servers, None for none,
    with fresh circuit breakers; afterwards the servers answer normally again. `overrides` are more settings,
    e.g. LANTERN_BACKEND_TIMEOUT_SECONDS=0.2."""
    from routing.breaker import reset_breakers

    settings.LANTERN_LOCAL_BASE_URL = local.base_url if local else ""
    settings.LANTERN_LOCAL_MODEL = local.model if local else ""
    settings.LANTERN_CLOUD_BASE_URL = cloud.base_url if cloud else ""
    settings.LANTERN_CLOUD_MODEL = cloud.model if cloud else ""
    settings.LANTERN_BACKEND_MAX_RETRIES = 0
    for name, value in overrides.items():
        setattr(settings, name, value)
    reset_breakers()
    try:
        yield
    finally:
        for server in (local, cloud):
            if server:
                server.reset()
        reset_breakers()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # load tests open many connections at once

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client or stop() cuts a connection; report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Cut kept-alive connections too, so a stopped server is really down for clients with a pool."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChatHandler):
        fake = server

    return Handler


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read requests from FakeLLMServer.requests."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(HTTPStatus.NOT_FOUND, _error_body("Not found.", "invalid_request_error"))
            return
        model = {"id": self.fake.model, "object": "model", "created": 0, "owned_by": "lantern-tests"}
        self._send_json(HTTPStatus.OK, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(HTTPStatus.NOT_FOUND, _error_body("Not found.", "invalid_request_error"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_json(HTTPStatus.BAD_REQUEST, _error_body("The body is not JSON.", "invalid_request_error"))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        behaviour, released = self.fake._record(body, headers)
        self._respond(body, behaviour, released)

    def _respond(self, body: dict[str, Any], behaviour: Behaviour, released: threading.Event) -> None:
        if behaviour.hang:
            released.wait(HANG_LIMIT_SECONDS)
            self.close_connection = True
            return
        if behaviour.delay_seconds and released.wait(behaviour.delay_seconds):
            self.close_connection = True
            return
        if behaviour.status != 200:
            extra = {"retry-after-ms": str(behaviour.retry_after_ms)} if behaviour.retry_after_ms is not None else {}
            self._send_json(behaviour.status, _error_body("The fake server was told to fail.", "server_error"), extra)
            return
        text = default_answer(body) if behaviour.text is None else behaviour.text
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and behaviour.usage
            self._stream(body, text, behaviour, released, include_usage)
        elif behaviour.garbage == "not_json":
            self._send(HTTPStatus.OK, b"<html>upstream proxy error</html>", "application/json")
        elif behaviour.garbage == "no_choices":
            self._send_json(HTTPStatus.OK, {"id": "chatcmpl-fake", "object": "chat.completion"})
        else:
            self._send_json(HTTPStatus.OK, self._completion(body, text, behaviour.usage))

    def _completion(self, body: dict[str, Any], text: str, usage: bool) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.fake.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": _usage(body, text) if usage else None,
        }

    def _stream(
        self,
        body: dict[str, Any],
        text: str,
        behaviour: Behaviour,
        released: threading.Event,
        include_usage: bool,
    ) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if behaviour.garbage == "not_json":
            events = [b"data: this is not json\n\n"]
        elif behaviour.garbage == "no_choices":
            events = [_event({"id": "chatcmpl-fake", "object": "chat.completion.chunk"})]
        else:
            events = [_event(chunk) for chunk in self._chunks(body, text, include_usage)]
        for index, event in enumerate(events):
            if behaviour.break_kind and index == behaviour.break_after_events:
                self._break(behaviour.break_kind, released)
                return
            if index and behaviour.chunk_delay_seconds and released.wait(behaviour.chunk_delay_seconds):
                self.close_connection = True
                return
            self._write_chunk(event)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _break(self, kind: str, released: threading.Event) -> None:
        """Break the stream under way; a dropped or stalled one never sends the end of its chunked body."""
        if kind == "garbage":
            self._write_chunk(b"data: {this is not json\n\n")
        elif kind == "error":
            self._write_chunk(_event({"error": _error_body("The model crashed.", "server_error")["error"]}))
        elif kind == "stall":
            released.wait(HANG_LIMIT_SECONDS)
        self.close_connection = True
        if kind in ("garbage", "error"):
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")

    def _chunks(self, body: dict[str, Any], text: str, include_usage: bool) -> list[dict[str, Any]]:
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time())}
        base["model"] = self.fake.model
        extra = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            return {**base, "choices": [choice], **extra}

        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": piece}) for piece in re.findall(r"\S+\s*|\s+", text)]
        chunks.append(chunk({}, "stop"))
        if include_usage:
            chunks.append({**base, "choices": [], "usage": _usage(body, text)})
        return chunks

    def _write_chunk(self, payload: bytes) -> None:
        self.wfile.write(f"{len(payload):X}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, content: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt_tokens = sum(count_words(str(message.get("content", ""))) for message in body.get("messages", []))
    completion_tokens = count_words(text)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
