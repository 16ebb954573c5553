"""The OpenAI-compatible API: `/v1/chat/completions` (plain and streamed) and `/v1/models`.

Every call runs the same pipeline as the web chat; the extra `lantern` field of a response carries the route,
its reasons and the sources. Errors have OpenAI's shape, so SDKs raise their usual exceptions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chatbot.api_keys import membership_for_api_key
from chatbot.pipeline import Answer, Opening, QuestionError, prepare_question, stream_answer
from chatbot.presentation import sources_for_display
from chatbot.rate_limits import RateLimited, count_question
from routing.backends.base import ChatTurn
from tenancy.context import tenant_context
from tenancy.models import Membership

MODEL_ID = "lantern"
MAX_REQUEST_BYTES = 256 * 1024


def openai_error(status: int, message: str, *, error_type: str, code: str, param: str | None = None) -> JsonResponse:
    """An error in the shape OpenAI's clients read."""
    return JsonResponse(
        {"error": {"message": message, "type": error_type, "param": param, "code": code}}, status=status
    )


def _authenticated_membership(request: HttpRequest) -> Membership | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return membership_for_api_key(header.removeprefix("Bearer ").strip())


def _unauthorized() -> JsonResponse:
    return openai_error(
        401,
        "Incorrect API key provided. Create one on Lantern's API keys page.",
        error_type="invalid_request_error",
        code="invalid_api_key",
    )


@csrf_exempt
@require_GET
def models(request: HttpRequest) -> HttpResponse:
    if _authenticated_membership(request) is None:
        return _unauthorized()
    return JsonResponse({"object": "list", "data": [_model()]})


def _model() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": 1735689600, "owned_by": "lantern"}


@csrf_exempt
@require_POST
def chat_completions(request: HttpRequest) -> HttpResponse:
    membership = _authenticated_membership(request)
    if membership is None:
        return _unauthorized()
    if len(request.body) > MAX_REQUEST_BYTES:
        return openai_error(
            413,
            f"The request is larger than {MAX_REQUEST_BYTES} bytes.",
            error_type="invalid_request_error",
            code="request_too_large",
        )
    try:
        body = json.loads(request.body)
        question, history = _question_and_history(body.get("messages"))
    except (ValueError, TypeError, AttributeError) as error:
        return openai_error(
            400,
            str(error) or "The body must be JSON.",
            error_type="invalid_request_error",
            code="invalid_request",
            param="messages",
        )
    if body.get("model") not in (MODEL_ID, None, ""):
        return openai_error(
            404,
            f"The model {body.get('model')!r} does not exist; use {MODEL_ID!r}.",
            error_type="invalid_request_error",
            code="model_not_found",
            param="model",
        )
    try:
        count_question(tenant_id=membership.tenant_id, user_id=membership.user_id)
        with tenant_context(membership.tenant_id):
            prepared = prepare_question(membership=membership, question=question, channel="api", history=history)
    except RateLimited as error:
        response = openai_error(429, str(error), error_type="rate_limit_error", code="rate_limit_exceeded")
        response["Retry-After"] = str(error.retry_after)
        return response
    except QuestionError as error:
        code = "context_length_exceeded" if len(question) > settings.LANTERN_MAX_QUESTION_CHARS else "invalid_question"
        return openai_error(400, str(error), error_type="invalid_request_error", code=code, param="messages")
    completion_id = f"chatcmpl-{prepared.correlation_id.hex}"
    if body.get("stream"):
        response = StreamingHttpResponse(
            _chunks(stream_answer(prepared), completion_id), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    result = None
    for event in stream_answer(prepared):
        if isinstance(event, Answer):
            result = event
    assert result is not None
    return JsonResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": result.text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": result.tokens_in,
                "completion_tokens": result.tokens_out,
                "total_tokens": result.tokens_in + result.tokens_out,
            },
            "lantern": _extras(result),
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _question_and_history(messages: object) -> tuple[str, tuple[ChatTurn, ...]]:
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list.")
    turns = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(part.get("text", "") for part in content if part.get("type") == "text")
        if role in ("user", "assistant") and isinstance(content, str):
            turns.append(ChatTurn(role=role, content=content))
    if not turns or turns[-1].role != "user":
        raise ValueError("The last message must be the user's question.")
    return turns[-1].content, tuple(turns[:-1])


def _extras(result: Answer | Opening) -> dict:
    extras = {
        "route": result.route,
        "reasons": list(result.reasons),
        "sensitive": result.sensitive,
        "sources": sources_for_display(result.sources),
        "conversation_id": result.conversation_id,
    }
    if isinstance(result, Answer):
        extras |= {"audit_id": result.audit_id, "message_id": result.message_id, "status": result.status}
    return extras


def _chunks(stream: Iterator[Opening | str | Answer], completion_id: str) -> Iterator[bytes]:
    created = int(time.time())

    def chunk(delta: dict, finish_reason: str | None = None, **extra: object) -> bytes:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

    try:
        for event in stream:
            if isinstance(event, Opening):
                yield chunk({"role": "assistant", "content": ""}, lantern=_extras(event))
            elif isinstance(event, str):
                yield chunk({"content": event})
            else:
                finish_reason = "stop" if event.status == "complete" else "error"
                yield chunk(
                    {},
                    finish_reason,
                    usage={
                        "prompt_tokens": event.tokens_in,
                        "completion_tokens": event.tokens_out,
                        "total_tokens": event.tokens_in + event.tokens_out,
                    },
                    lantern=_extras(event),
                )
        yield b"data: [DONE]\n\n"
    finally:
        stream.close()
