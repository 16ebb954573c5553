"""The employee's chat pages."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from chatbot.models import Conversation
from chatbot.pipeline import QuestionError, answer
from tenancy.access import member_required


def get_conversation_for_user(request: HttpRequest, conversation_id: int) -> Conversation:
    """The member's own visible conversation, or 404 (also for any id of another user or tenant)."""
    conversation = Conversation.objects.filter(
        pk=conversation_id, user_id=request.user.pk, hidden=False
    ).first()
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


@member_required
def chat(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    conversation = get_conversation_for_user(request, conversation_id) if conversation_id else None
    conversations = Conversation.objects.filter(user_id=request.user.pk, hidden=False)[:50]
    return render(
        request,
        "chatbot/chat.html",
        {
            "conversation": conversation,
            "conversations": conversations,
            "chat_messages": conversation.messages.all() if conversation else [],
        },
    )


@member_required
@require_POST
def ask(request: HttpRequest) -> HttpResponse:
    conversation_id = request.POST.get("conversation") or None
    if conversation_id is not None:
        if not conversation_id.isdigit():
            raise Http404("No such conversation.")
        conversation_id = get_conversation_for_user(request, int(conversation_id)).pk
    try:
        reply = answer(
            membership=request.membership,
            question=request.POST.get("question", ""),
            channel="web",
            conversation_id=conversation_id,
        )
    except QuestionError as error:
        messages.error(request, str(error))
        return (
            redirect("chatbot:conversation", conversation_id) if conversation_id else redirect("chatbot:chat")
        )
    return redirect("chatbot:conversation", reply.conversation_id)
