"""The backends that answer questions: the extractive answerer and OpenAI-compatible servers, local or cloud.

A caller streams an answer and then reads its generation:

backend = backend_for("local", config_from_settings("local"))
with backend.stream(question=question, sources=hits, language="zh-hant") as answer:
    for delta in answer:
        send(delta)
generation = answer.generation
"""

from __future__ import annotations

from django.conf import settings

from routing.backends.base import (
    AnswerStream,
    Backend,
    BackendConfig,
    BackendError,
    BackendErrorKind,
    ChatTurn,
    Generation,
)
from routing.backends.extractive import ExtractiveBackend
from routing.backends.openai_compatible import OpenAICompatibleBackend

BACKEND_NAMES = ("extractive", "local", "cloud")

__all__ = [
    "BACKEND_NAMES",
    "AnswerStream",
    "Backend",
    "BackendConfig",
    "BackendError",
    "BackendErrorKind",
    "ChatTurn",
    "ExtractiveBackend",
    "Generation",
    "OpenAICompatibleBackend",
    "backend_for",
    "config_from_settings",
]


def backend_for(name: str, config: BackendConfig) -> Backend:
    """The backend for "extractive", "local" or "cloud"; local without a server is the extractive answerer."""
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKEND_NAMES}")
    if name == "extractive" or (name == "local" and not config.base_url):
        return ExtractiveBackend(config)
    if not config.base_url:
        raise BackendError("is not configured", backend=name, kind=BackendErrorKind.UNAVAILABLE)
    return OpenAICompatibleBackend(name, config)


def config_from_settings(name: str) -> BackendConfig:
    """The "local" or "cloud" backend's configuration from LANTERN_LOCAL_* or LANTERN_CLOUD_* settings."""
    if name not in ("local", "cloud"):
        return BackendConfig()
    prefix = f"LANTERN_{name.upper()}_"
    return BackendConfig(
        base_url=getattr(settings, prefix + "BASE_URL", ""),
        model=getattr(settings, prefix + "MODEL", ""),
        api_key=getattr(settings, prefix + "API_KEY", ""),
        timeout_seconds=getattr(settings, "LANTERN_BACKEND_TIMEOUT_SECONDS", BackendConfig.timeout_seconds),
        max_retries=getattr(settings, "LANTERN_BACKEND_MAX_RETRIES", BackendConfig.max_retries),
    )
