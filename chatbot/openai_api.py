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
from chatbot.pipeline import Answer, Opening, QuestionError, is_valid_text, prepare_question, stream_answer
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


class InvalidRequest(ValueError):
    """A request body that cannot be read as a chat request; the message says what to change."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@csrf_exempt
@require_POST
def chat_completions(request: HttpRequest) -> HttpResponse:
    membership = _authenticated_membership(request)
    if membership is None:
        return _unauthorized()
    if _declared_length(request) and request.content_type != "application/json":
        return openai_error(
            415,
            f"Unsupported media type {request.content_type!r}: send the body as JSON, "
            "with the header Content-Type: application/json.",
            error_type="invalid_request_error",
            code="unsupported_media_type",
        )
    # The declared length is checked before the body is read, so an oversized request is never read at all.
    if _declared_length(request) > MAX_REQUEST_BYTES or len(request.body) > MAX_REQUEST_BYTES:
        return openai_error(
            413,
            f"The request is larger than {MAX_REQUEST_BYTES} bytes.",
            error_type="invalid_request_error",
            code="request_too_large",
        )
    try:
        body = _chat_request(request.body)
        question, history = _question_and_history(body.get("messages"))
    except InvalidRequest as error:
        return openai_error(
            400, error.message, error_type="invalid_request_error", code="invalid_request", param=error.param
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


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _chat_request(raw: bytes) -> dict:
    """The body as a JSON object, or InvalidRequest saying why it is not one."""
    if not raw.strip():
        raise InvalidRequest("The body is empty: send a JSON object with a 'messages' list.")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("The body must be JSON encoded as UTF-8.") from None
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise InvalidRequest("The body's JSON is nested too deeply to read.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object with a 'messages' list.")
    return body


def _question_and_history(messages: object) -> tuple[str, tuple[ChatTurn, ...]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty list.", param="messages")
    turns = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{param} must be an object with a 'role' and a 'content'.", param=param)
        role, content = message.get("role"), message.get("content")
        if isinstance(content, list):
            content = _text_of_parts(content, param=f"{param}.content")
        if role in ("user", "assistant") and isinstance(content, str):
            if not is_valid_text(content):
                raise InvalidRequest(
                    f"{param} contains characters that are not valid text; please send plain text.",
                    param=f"{param}.content",
                )
            turns.append(ChatTurn(role=role, content=content))
    if not turns or turns[-1].role != "user":
        raise InvalidRequest("The last message must be the user's question.", param="messages")
    return turns[-1].content, tuple(turns[:-1])


def _text_of_parts(parts: list, *, param: str) -> str:
    """The text of a message given as content parts; parts other than text (images, audio) are left out."""
    texts = []
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            raise InvalidRequest(
                f'{param}[{index}] must be an object such as {{"type": "text", "text": "..."}}.',
                param=f"{param}[{index}]",
            )
        if part.get("type") == "text":
            text = part.get("text", "")
            if not isinstance(text, str):
                raise InvalidRequest(f"{param}[{index}].text must be a string.", param=f"{param}[{index}].text")
            texts.append(text)
    return "".join(texts)


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
