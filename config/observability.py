"""Structured logs that carry the request's correlation id, and the middleware that sets it.

Every log line of a request (and of the question it asks) carries `correlation_id`, the id the audit event,
the usage record and the chat messages share, so an operator can follow one question across all three.
Log lines never carry question text: Lantern's own code logs ids and types only, and the libraries that
would log request bodies at DEBUG (the openai SDK, httpx) are held at WARNING in settings.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

_correlation_id: ContextVar[str] = ContextVar("lantern_correlation_id", default="")
_tenant_id: ContextVar[str] = ContextVar("lantern_log_tenant_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"


def current_correlation_id() -> uuid.UUID | None:
    """The id of the request being served, which a question asked in it takes as its correlation id."""
    value = _correlation_id.get()
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@contextmanager
def bound(*, correlation_id: str | uuid.UUID | None = None, tenant_id: int | None = None) -> Iterator[None]:
    """Attach ids to every log line written inside the block, and restore the previous ones after."""
    tokens = []
    if correlation_id is not None:
        tokens.append((_correlation_id, _correlation_id.set(str(correlation_id))))
    if tenant_id is not None:
        tokens.append((_tenant_id, _tenant_id.set(str(tenant_id))))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def bind(*, correlation_id: str | uuid.UUID | None = None, tenant_id: int | None = None) -> None:
    """Attach ids for the rest of the current context (a request, a streamed answer, a task)."""
    if correlation_id is not None:
        _correlation_id.set(str(correlation_id))
    if tenant_id is not None:
        _tenant_id.set(str(tenant_id))


class ContextFilter(logging.Filter):
    """Adds correlation_id and tenant_id to every record, so the JSON formatter can print them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation_id.get()
        record.tenant_id = _tenant_id.get()
        return True


class CorrelationIdMiddleware:
    """Gives each request a fresh correlation id and returns it as X-Request-ID.

    The id is always generated here: a caller-chosen id could repeat and would then tie two audit events
    together. Support staff ask the employee for the X-Request-ID and find the question's audit event by it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        request.correlation_id = request_id
        # Kept until the response is closed, so Django's own request log line and a streamed answer
        # written after this returns still carry it.
        _correlation_id.set(request_id)
        _tenant_id.set("")
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _forget_request_ids(**kwargs) -> None:
    _correlation_id.set("")
    _tenant_id.set("")


request_finished.connect(_forget_request_ids, dispatch_uid="lantern-forget-request-ids")
