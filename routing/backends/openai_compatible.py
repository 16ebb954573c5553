"""Any OpenAI-compatible chat server, through the official `openai` SDK: vLLM, Ollama or llama.cpp locally,
OpenAI or a compatible gateway in the cloud.

Retries are the SDK's: up to `max_retries` further attempts, with exponential backoff and jitter (or the
server's Retry-After), on timeouts, connection errors, 408, 409, 429 and 5xx, never on other 4xx statuses.
A stream that breaks after its first delta is not retried, since part of the answer may already be shown.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import openai

from knowledge.retrieval import SearchHit
from routing.backends.base import Backend, BackendConfig, BackendError, BackendErrorKind, Reply, Usage
from routing.breaker import CircuitBreaker

# The SDK refuses to start without a key and would otherwise read OPENAI_API_KEY from the environment,
# sending a cloud key to a local server. Local servers accept any key.
NO_API_KEY = "no-key"
# The SDK's backoff before its first retry, and the longest it waits before any (openai._constants).
_FIRST_RETRY_PAUSE_SECONDS = 0.5
_LONGEST_RETRY_PAUSE_SECONDS = 8.0

_served_models_lock = threading.Lock()
_served_models: dict[str, str] = {}


class OpenAICompatibleBackend(Backend):
    """A chat-completions server at `config.base_url`, answering under the prompt from routing.prompts."""

    def __init__(self, name: str, config: BackendConfig, *, breaker: CircuitBreaker | None = None) -> None:
        if not config.base_url:
            raise ValueError("an OpenAI-compatible backend needs a base URL")
        self.name = name
        super().__init__(config, breaker=breaker)
        self.client = _client_for(config)

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
        client = self.client
        if timeout_seconds < self.config.timeout_seconds or max_retries < self.config.max_retries:
            client = client.with_options(timeout=timeout_seconds, max_retries=max_retries)
        try:
            model = self.config.model or self._served_model()
            if streaming:
                chunks = client.chat.completions.create(
                    model=model, messages=messages, stream=True, stream_options={"include_usage": True}
                )
                return Reply(model=model, parts=self._stream_parts(chunks, timeout_seconds=timeout_seconds))
            completion = client.chat.completions.create(model=model, messages=messages)
        except (openai.OpenAIError, ValueError) as error:
            raise self._error(error, timeout_seconds=timeout_seconds) from error
        return Reply(model=model, parts=iter(self._completion_parts(completion)))

    def retry_pauses_seconds(self, retries: int) -> float:
        """The SDK's pauses before its retries at their longest: 0.5 s, doubling up to 8 s. (A server's
        Retry-After header, which the SDK follows instead, is not bounded by this.)"""
        return sum(min(_FIRST_RETRY_PAUSE_SECONDS * 2**retry, _LONGEST_RETRY_PAUSE_SECONDS) for retry in range(retries))

    def _served_model(self) -> str:
        """The first model the server lists, for local servers configured without a model name."""
        with _served_models_lock:
            model = _served_models.get(self.config.base_url)
        if model is None:
            listed = [entry.id for entry in self.client.models.list().data if getattr(entry, "id", None)]
            if not listed:
                raise BackendError(
                    "lists no models to answer with", backend=self.name, kind=BackendErrorKind.BAD_RESPONSE
                )
            model = listed[0]
            with _served_models_lock:
                _served_models[self.config.base_url] = model
        return model

    def _completion_parts(self, completion: Any) -> list[str | Usage]:
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise self._bad_response("sent an answer without choices")
        content = getattr(getattr(choices[0], "message", None), "content", None)
        if not isinstance(content, str):
            raise self._bad_response("sent an answer without text")
        usage = _usage(getattr(completion, "usage", None))
        return [content] if usage is None else [content, usage]

    def _stream_parts(self, chunks: openai.Stream[Any], *, timeout_seconds: float) -> Iterator[str | Usage]:
        with chunks:  # closes the HTTP response when the reader stops early
            try:
                for chunk in chunks:
                    choices = getattr(chunk, "choices", None)
                    if not isinstance(choices, list):
                        raise self._bad_response("sent a stream chunk without choices")
                    for choice in choices:
                        content = getattr(getattr(choice, "delta", None), "content", None)
                        if isinstance(content, str) and content:
                            yield content
                    usage = _usage(getattr(chunk, "usage", None))
                    if usage is not None:
                        yield usage
            except (openai.OpenAIError, ValueError) as error:
                raise self._error(error, timeout_seconds=timeout_seconds) from error

    def _error(self, error: Exception, *, timeout_seconds: float) -> BackendError:
        """The SDK's error as a BackendError, without the server's text, which may echo the question;
        `timeout_seconds` is what each attempt was given, the configured timeout or less near the deadline."""
        if isinstance(error, openai.APITimeoutError):
            message = f"timed out after {timeout_seconds:.3g} s"
            return BackendError(message, backend=self.name, kind=BackendErrorKind.TIMEOUT)
        if isinstance(error, openai.APIConnectionError):
            return BackendError("could not be reached", backend=self.name, kind=BackendErrorKind.UNAVAILABLE)
        if isinstance(error, openai.APIStatusError):
            return BackendError(
                f"answered with HTTP status {error.status_code}",
                backend=self.name,
                kind=BackendErrorKind.UNAVAILABLE,
                status_code=error.status_code,
            )
        if isinstance(error, openai.APIResponseValidationError):
            return self._bad_response("sent a response that does not match the API")
        if isinstance(error, openai.APIError):
            return BackendError(
                "reported an error while answering", backend=self.name, kind=BackendErrorKind.UNAVAILABLE
            )
        if isinstance(error, ValueError):
            return self._bad_response("sent a response that is not valid JSON")
        return self._bad_response(f"failed with {type(error).__name__}")

    def _bad_response(self, message: str) -> BackendError:
        return BackendError(message, backend=self.name, kind=BackendErrorKind.BAD_RESPONSE)


@lru_cache(maxsize=32)
def _client_for(config: BackendConfig) -> openai.OpenAI:
    """One SDK client per configuration, so answers share its connection pool."""
    return openai.OpenAI(
        base_url=config.base_url,
        api_key=config.api_key or NO_API_KEY,
        timeout=config.timeout_seconds,
        max_retries=config.max_retries,
    )


def _usage(reported: Any) -> Usage | None:
    tokens_in = getattr(reported, "prompt_tokens", None)
    tokens_out = getattr(reported, "completion_tokens", None)
    if not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
        return None
    return Usage(tokens_in, tokens_out)
