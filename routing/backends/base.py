"""What every answering backend shares: inputs and outputs, errors, streaming, and its circuit breaker.

A backend answers a question from retrieved sources. `Backend.stream()` returns an `AnswerStream`: iterate
it for text deltas as they arrive, then read `.generation` for the whole answer with its token counts and
latency. `Backend.generate()` does both in one call. Subclasses implement `_start()` only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Self

from knowledge.retrieval import SearchHit
from routing import prompts, tokens
from routing.breaker import CircuitBreaker, breaker_for

# Less time than this for an attempt would rarely see a model's first word: when the answer's time budget is
# nearly spent, a backend makes fewer retries instead.
MIN_ATTEMPT_SECONDS = 1.0


@dataclass(frozen=True)
class ChatTurn:
    """An earlier message of the conversation."""

    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Generation:
    """A finished answer and what it took to produce it."""

    text: str
    backend: str  # "extractive", "local" or "cloud"
    model: str  # empty for the extractive answerer
    tokens_in: int
    tokens_out: int
    tokens_estimated: bool  # counted offline because the backend reported no usage
    latency_ms: float


@dataclass(frozen=True)
class BackendConfig:
    """Where an OpenAI-compatible backend is and how long to wait for it."""

    base_url: str = ""
    model: str = ""  # empty: the first model the server lists
    api_key: str = ""
    # For each attempt: connecting, waiting for the first byte, and each wait between streamed chunks.
    timeout_seconds: float = 20.0
    max_retries: int = 2  # further attempts on timeouts, connection errors, 408, 409, 429 and 5xx


@dataclass(frozen=True)
class Usage:
    """Token usage as a backend reported it."""

    tokens_in: int
    tokens_out: int


class BackendErrorKind(StrEnum):
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # unreachable, not configured, or answered with an error status
    BAD_RESPONSE = "bad_response"  # answered, but not with a usable answer
    CIRCUIT_OPEN = "circuit_open"  # refused without trying: the backend failed too often lately


class BackendError(Exception):
    """A backend could not answer. The message names the backend and the failure, never the question."""

    def __init__(self, message: str, *, backend: str, kind: BackendErrorKind, status_code: int | None = None) -> None:
        super().__init__(f"{backend} backend {message}")
        self.backend = backend
        self.kind = kind
        self.status_code = status_code


@dataclass(frozen=True)
class Reply:
    """An answer a subclass has started: the model producing it, its text pieces, then perhaps its usage."""

    model: str
    parts: Iterator[str | Usage]


class AnswerStream(Iterator[str]):
    """An answer as it arrives: iterate for text deltas; after the last one, `generation` holds it whole.

        with backend.stream(question=question, sources=hits) as answer:
            for delta in answer:
                send(delta)
        generation = answer.generation

    Failures before the first delta (an error status, a timeout, garbage, an empty answer) are raised by
    `Backend.stream()` itself, which reads up to the first delta, so a caller can fall back to another
    backend before showing anything; failures later, and running past the deadline, are raised from the
    iteration. Both are BackendError. Leaving the `with` block early closes the connection to the backend.
    """

    def __init__(
        self,
        *,
        backend: Backend,
        reply: Reply,
        messages: Sequence[dict[str, str]],
        started: float,
        deadline: float | None = None,
    ) -> None:
        self._backend = backend
        self._reply = reply
        self._messages = messages
        self._started = started
        self._deadline = deadline
        self._pieces: list[str] = []
        self._unread: str | None = None
        self._usage: Usage | None = None
        self._generation: Generation | None = None
        self._closed = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        if self._unread is not None:
            piece, self._unread = self._unread, None
            return piece
        if self._closed:
            raise StopIteration
        piece = self._read()
        if piece is None:
            raise StopIteration
        return piece

    def read_first_delta(self) -> None:
        """Read ahead up to the first delta, which iteration then returns first; raises BackendError."""
        if self._unread is None and not self._closed:
            self._unread = self._read()

    def _read(self) -> str | None:
        """The next text piece, or None once the answer is finished."""
        while True:
            try:
                part = next(self._reply.parts, None)
            except Exception:
                self._closed = True
                self._backend.breaker.record_failure()
                raise
            if self._deadline is not None and time.perf_counter() > self._deadline:
                self.close()
                raise BackendError(
                    "ran past the time allowed for the answer",
                    backend=self._backend.name,
                    kind=BackendErrorKind.TIMEOUT,
                )
            if part is None:
                self._finish()
                return None
            if isinstance(part, Usage):
                self._usage = part
            elif part:
                self._pieces.append(part)
                return part

    @property
    def generation(self) -> Generation:
        """The whole answer; only once every delta has been read."""
        if self._generation is None:
            raise RuntimeError("the answer is not finished: read every delta of the stream first")
        return self._generation

    def close(self) -> None:
        """Stop reading early and release the backend's connection."""
        if self._closed:
            return
        self._closed = True
        close_parts = getattr(self._reply.parts, "close", None)
        if close_parts is not None:
            close_parts()
        self._backend.breaker.record_cancelled()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _finish(self) -> None:
        self._closed = True
        text = "".join(self._pieces)
        if not text.strip():
            self._backend.breaker.record_failure()
            raise BackendError(
                "returned an empty answer", backend=self._backend.name, kind=BackendErrorKind.BAD_RESPONSE
            )
        usage, estimated = self._usage, False
        if usage is None:
            usage = Usage(tokens.count_message_tokens(self._messages), tokens.count_tokens(text))
            estimated = True
        self._generation = Generation(
            text=text,
            backend=self._backend.name,
            model=self._reply.model,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            tokens_estimated=estimated,
            latency_ms=(time.perf_counter() - self._started) * 1000,
        )
        self._backend.breaker.record_success()


class Backend:
    """A way of answering a question from sources; one subclass per kind of integration."""

    name: str = ""

    def __init__(self, config: BackendConfig | None = None, *, breaker: CircuitBreaker | None = None) -> None:
        self.config = config or BackendConfig()
        self.breaker = breaker or breaker_for(self.name, self.config.base_url)

    def stream(
        self,
        *,
        question: str,
        sources: Sequence[SearchHit],
        history: Sequence[ChatTurn] = (),
        language: str = "en",
        deadline: float | None = None,
    ) -> AnswerStream:
        """Start answering and read up to the first delta; raises BackendError when the backend is refused,
        unreachable, down, or fails before saying anything. `deadline` is a time.perf_counter() value the
        answer may not run past."""
        stream = self._open(
            question=question, sources=sources, history=history, language=language, streaming=True, deadline=deadline
        )
        try:
            stream.read_first_delta()
        except BaseException:
            stream.close()
            raise
        return stream

    def generate(
        self,
        *,
        question: str,
        sources: Sequence[SearchHit],
        history: Sequence[ChatTurn] = (),
        language: str = "en",
    ) -> Generation:
        """Answer in one call, without streaming; raises BackendError when the backend cannot answer."""
        with self._open(
            question=question, sources=sources, history=history, language=language, streaming=False, deadline=None
        ) as answer:
            for _delta in answer:
                pass
        return answer.generation

    def _open(
        self,
        *,
        question: str,
        sources: Sequence[SearchHit],
        history: Sequence[ChatTurn],
        language: str,
        streaming: bool,
        deadline: float | None,
    ) -> AnswerStream:
        messages = prompts.build_messages(question=question, sources=sources, history=history, language=language)
        started = time.perf_counter()
        if deadline is not None and started >= deadline:
            raise BackendError(
                "was not called: no time is left for the answer", backend=self.name, kind=BackendErrorKind.TIMEOUT
            )
        if not self.breaker.before_call():
            raise BackendError(
                "refused the call: circuit open after repeated failures",
                backend=self.name,
                kind=BackendErrorKind.CIRCUIT_OPEN,
            )
        timeout_seconds, max_retries = self._attempts_within(deadline, started)
        try:
            reply = self._start(
                question=question,
                sources=sources,
                language=language,
                messages=messages,
                streaming=streaming,
                timeout_seconds=timeout_seconds,
                max_retries=max_retries,
            )
        except Exception:
            self.breaker.record_failure()
            raise
        return AnswerStream(backend=self, reply=reply, messages=messages, started=started, deadline=deadline)

    def _attempts_within(self, deadline: float | None, now: float) -> tuple[float, int]:
        """Each attempt's timeout and the retries allowed after the first: the configured ones, cut so that every
        attempt and the pauses between them end before the deadline, with fewer retries rather than attempts
        too short to answer."""
        timeout, retries = self.config.timeout_seconds, self.config.max_retries
        if deadline is None:
            return timeout, retries

        def per_attempt(retries: int) -> float:
            return (deadline - now - self.retry_pauses_seconds(retries)) / (retries + 1)

        while retries and per_attempt(retries) < MIN_ATTEMPT_SECONDS:
            retries -= 1
        return min(timeout, per_attempt(retries)), retries

    def retry_pauses_seconds(self, retries: int) -> float:
        """The longest that the pauses before this many retries take together; none here."""
        return 0.0

    def _start(
        self,
        *,
        question: str,
        sources: Sequence[SearchHit],
        language: str,
        messages: Sequence[dict[str, str]],
        streaming: bool,
        timeout_seconds: float,
        max_retries: int,
    ) -> Reply:
        """Begin the answer in at most 1 + max_retries attempts of timeout_seconds each; errors are BackendError."""
        raise NotImplementedError
