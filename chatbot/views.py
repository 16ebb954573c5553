"""The employee's chat pages: conversations, the streamed answer, feedback, and personal API keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chatbot.api_keys import create_api_key, revoke_api_key
from chatbot.conversations import give_feedback, hide_conversation, rename_conversation
from chatbot.forms import ApiKeyForm, FeedbackForm, RenameForm, RevokeForm, first_error
from chatbot.models import ApiKey, Conversation, Message
from chatbot.pipeline import Answer, Opening, QuestionError, answer, prepare_question, stream_answer
from chatbot.presentation import route_badge, sources_for_display
from chatbot.rate_limits import RateLimited, count_question
from tenancy.access import member_required


def get_conversation_for_user(request: HttpRequest, conversation_id: int) -> Conversation:
    """The member's own visible conversation, or 404 (also for any id of another user or tenant)."""
    conversation = Conversation.objects.filter(pk=conversation_id, user_id=request.user.pk, hidden=False).first()
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def get_answer_for_user(request: HttpRequest, message_id: int) -> Message:
    """One of the member's own answers, or 404."""
    message = Message.objects.filter(
        pk=message_id, role=Message.Role.ASSISTANT, conversation__user_id=request.user.pk
    ).first()
    if message is None:
        raise Http404("No such answer.")
    return message


@member_required
def chat(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    conversation = get_conversation_for_user(request, conversation_id) if conversation_id else None
    return _chat_page(request, conversation)


def _chat_page(request: HttpRequest, conversation: Conversation | None, *, status: int = 200) -> HttpResponse:
    """The chat page; a refused request shows it again, its reason among the page's messages."""
    conversations = Conversation.objects.filter(user_id=request.user.pk, hidden=False)[:50]
    chat_messages = list(conversation.messages.select_related("feedback")) if conversation else []
    language = get_language() or "en"
    for message in chat_messages:
        if message.role == Message.Role.ASSISTANT:
            message.badge = route_badge(
                route=message.route, reasons=message.reasons, sensitive=message.sensitive, language=language
            )
    return render(
        request,
        "chatbot/chat.html",
        {
            "conversation": conversation,
            "conversations": conversations,
            "chat_messages": chat_messages,
            "max_question_chars": settings.LANTERN_MAX_QUESTION_CHARS,
            "chat_strings": _chat_strings(),
        },
        status=status,
    )


def _chat_strings() -> dict[str, str]:
    return {
        "sources": _("Sources"),
        "stopped": _("This answer was stopped before it finished."),
        "lost": _("The connection was lost. Your question is kept; press Retry to ask again."),
        "failed": _("Something went wrong on our side. Your question is kept; press Retry to ask again."),
        "helpful": _("Helpful"),
        "not_helpful": _("Not helpful"),
        "comment": _("Comment (optional)"),
        "thanks": _("Thank you for your feedback."),
        "done": _("Answer complete."),
        "question": _("Was this answer helpful?"),
    }


def _conversation_id_from(request: HttpRequest) -> int | None:
    value = request.POST.get("conversation") or None
    if value is None:
        return None
    if not value.isdecimal():
        raise Http404("No such conversation.")
    return get_conversation_for_user(request, int(value)).pk


@member_required
@require_POST
def ask(request: HttpRequest) -> HttpResponse:
    """The form fallback without JavaScript: answer, then show the conversation."""
    conversation_id = _conversation_id_from(request)
    try:
        count_question(tenant_id=request.membership.tenant_id, user_id=request.user.pk)
        reply = answer(
            membership=request.membership,
            question=request.POST.get("question", ""),
            channel="web",
            conversation_id=conversation_id,
        )
    except (QuestionError, RateLimited) as error:
        messages.error(request, _friendly(error))
        conversation = get_conversation_for_user(request, conversation_id) if conversation_id else None
        if isinstance(error, RateLimited):
            response = _chat_page(request, conversation, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        return _chat_page(request, conversation, status=400)
    return redirect("chatbot:conversation", reply.conversation_id)


@member_required
@require_POST
def ask_stream(request: HttpRequest) -> HttpResponse:
    """Answer as server-sent events: `opening`, then `delta`s, then `done` (or `failed`)."""
    conversation_id = _conversation_id_from(request)
    try:
        count_question(tenant_id=request.membership.tenant_id, user_id=request.user.pk)
        prepared = prepare_question(
            membership=request.membership,
            question=request.POST.get("question", ""),
            channel="web",
            conversation_id=conversation_id,
        )
    except RateLimited as error:
        response = JsonResponse({"error": {"code": "rate_limited", "message": _friendly(error)}}, status=429)
        response["Retry-After"] = str(error.retry_after)
        return response
    except QuestionError as error:
        return JsonResponse({"error": {"code": "invalid_question", "message": _friendly(error)}}, status=400)
    response = StreamingHttpResponse(
        _events(stream_answer(prepared), get_language() or "en"), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _events(stream: Iterator[Opening | str | Answer], language: str) -> Iterator[bytes]:
    try:
        for event in stream:
            if isinstance(event, Opening):
                yield _event(
                    "opening",
                    {
                        "conversation_id": event.conversation_id,
                        "route": event.route,
                        "badge": route_badge(
                            route=event.route, reasons=event.reasons, sensitive=event.sensitive, language=language
                        ),
                        "sources": sources_for_display(event.sources),
                    },
                )
            elif isinstance(event, str):
                yield _event("delta", {"text": event})
            elif event.status == Message.Status.COMPLETE:
                yield _event("done", {"message_id": event.message_id, "conversation_id": event.conversation_id})
            else:
                yield _event(
                    "failed",
                    {
                        "message_id": event.message_id,
                        "message": _(
                            "The answer was cut off because the assistant stopped responding. "
                            "What arrived is kept; you can ask again."
                        ),
                    },
                )
    finally:
        stream.close()


def _event(name: str, payload: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def _friendly(error: Exception) -> str:
    if isinstance(error, RateLimited):
        return _("You are asking faster than your company allows. Please wait %(seconds)s seconds.") % {
            "seconds": error.retry_after
        }
    text = str(error)
    if text == "Please type a question.":
        return _("Please type a question.")
    if text.startswith("The question is ") and "limit is" in text:
        return _("The question is too long; the limit is %(limit)s characters. Please shorten it.") % {
            "limit": settings.LANTERN_MAX_QUESTION_CHARS
        }
    if text.startswith("That conversation"):
        return _("That conversation does not exist or is not yours; start a new one.")
    return _("The question contains characters that cannot be sent; please send plain text.")


@member_required
@require_POST
def rename(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = get_conversation_for_user(request, conversation_id)
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _chat_page(request, conversation, status=400)
    rename_conversation(conversation=conversation, title=form.cleaned_data["title"])
    return redirect("chatbot:conversation", conversation.pk)


@member_required
@require_POST
def delete(request: HttpRequest, conversation_id: int) -> HttpResponse:
    hide_conversation(conversation=get_conversation_for_user(request, conversation_id))
    messages.success(request, _("The conversation was deleted."))
    return redirect("chatbot:chat")


@member_required
@require_POST
def feedback(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_answer_for_user(request, message_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"error": {"code": "invalid_feedback", "message": first_error(form)}}, status=400)
        messages.error(request, first_error(form))
        return _chat_page(request, get_conversation_for_user(request, message.conversation_id), status=400)
    helpful = form.cleaned_data["helpful"] == "yes"
    give_feedback(membership=request.membership, message=message, helpful=helpful, comment=form.cleaned_data["comment"])
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"message_id": message.pk, "helpful": helpful})
    messages.success(request, _("Thank you for your feedback."))
    return redirect("chatbot:conversation", message.conversation_id)


@member_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The member's API keys; a new key's secret is shown on this page once."""
    new_secret = None
    status = 200
    if request.method == "POST":
        form = RevokeForm(request.POST) if "revoke" in request.POST else ApiKeyForm(request.POST)
        if not form.is_valid():
            messages.error(request, first_error(form))
            status = 400
        elif isinstance(form, RevokeForm):
            revoke_api_key(membership=request.membership, api_key_id=form.cleaned_data["revoke"])
            messages.success(request, _("The key was revoked."))
            return redirect("chatbot:api_keys")
        else:
            new_secret = create_api_key(membership=request.membership, name=form.cleaned_data["name"]).secret
    keys = ApiKey.objects.filter(user_id=request.user.pk)
    return render(request, "chatbot/api_keys.html", {"api_keys": keys, "new_secret": new_secret}, status=status)
