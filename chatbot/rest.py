"""The REST API for conversations, questions and feedback, with its OpenAPI schema (drf-spectacular).

Signed-in browsers use their session; scripts send `Authorization: Bearer <API key>`, and the request then
runs in the key owner's tenant transaction like any page does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import APIException, NotAuthenticated, NotFound, PermissionDenied, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from chatbot.api_keys import membership_for_api_key
from chatbot.conversations import give_feedback, hide_conversation, rename_conversation
from chatbot.models import Conversation, Message
from chatbot.pipeline import QuestionError, answer
from chatbot.presentation import sources_for_display
from chatbot.rate_limits import RateLimited, count_question
from tenancy.context import tenant_context

if TYPE_CHECKING:
    from drf_spectacular.generators import SchemaGenerator


def api_exception_handler(exception: Exception, context: dict) -> Response | None:
    """Every REST error as {"error": {"code": ..., "message": ..., "fields": ...}}."""
    if isinstance(exception, QuestionError):
        return Response({"error": {"code": "invalid_question", "message": str(exception)}}, status=400)
    if isinstance(exception, RateLimited):
        return Response(
            {"error": {"code": "rate_limited", "message": str(exception)}},
            status=429,
            headers={"Retry-After": str(exception.retry_after)},
        )
    if isinstance(exception, Http404):
        exception = NotFound()
    response = exception_handler(exception, context)
    if response is None:
        return None
    code = exception.get_codes() if isinstance(exception, APIException) else "error"
    if isinstance(response.data, dict) and "detail" in response.data:
        body = {"code": code if isinstance(code, str) else "error", "message": str(response.data["detail"])}
    else:
        body = {"code": "invalid", "message": "Some fields are not valid.", "fields": response.data}
    response.data = {"error": body}
    return response


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "what went wrong, for programs: not_found, invalid, ..."},
                "message": {"type": "string", "description": "what went wrong, for people"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": "for invalid input: the messages for each field that is not valid",
                },
            },
        }
    },
}
# The errors every operation can answer with, and those that depend on what the operation takes.
ERRORS_OF_EVERY_OPERATION = {
    "401": "No valid API key or session.",
    "403": "The member's role may not use this operation, or the session's CSRF token is missing.",
}
ERRORS_OF_INPUT = {"400": "The input is not valid: `fields` names what to change."}
ERRORS_OF_BODIES = {
    "413": "The request body is larger than Lantern accepts.",
    "415": "The body is not JSON, form data or multipart form data.",
}
ERRORS_OF_OBJECTS = {"404": "No such object among the member's own."}


def document_error_responses(result: dict, generator: SchemaGenerator, request: Request | None, public: bool) -> dict:
    """drf-spectacular hook: every operation's error responses, each in the one error shape."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            expected = dict(ERRORS_OF_EVERY_OPERATION)
            if operation.get("requestBody"):
                expected |= ERRORS_OF_INPUT | ERRORS_OF_BODIES
            if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
                expected |= ERRORS_OF_INPUT
            if "{" in path:
                expected |= ERRORS_OF_OBJECTS
            responses = operation.setdefault("responses", {})
            for status_code, description in expected.items():
                responses.setdefault(status_code, {"description": description})
            for status_code, response in responses.items():
                if status_code.startswith(("4", "5")):
                    response.setdefault("content", error)
    return result


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`, already resolved by MemberAPIView.dispatch."""

    def authenticate(self, request: Request):
        membership = getattr(request._request, "api_key_membership", None)
        if membership is None:
            return None
        return (membership.user, membership)

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes API-key authentication in the OpenAPI schema as HTTP bearer."""

    target_class = "chatbot.rest.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API key from Settings → API keys."}


class IsMember(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated
        if getattr(request._request, "membership", None) is None:
            raise PermissionDenied
        return True


class MemberAPIView(APIView):
    """A view for members, by session or API key, run inside the member's tenant.

    `roles` names the roles that may use it (tenant admins always may); empty means every member."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsMember]
    roles: tuple[str, ...] = ()

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        if self.roles and not self.membership.has_role(*self.roles):
            raise PermissionDenied(f"Only these roles may use this endpoint: {', '.join(self.roles)}.")

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # PostgreSQL refuses a NUL character in a query, and no stored text holds one.
        with_nul = [name for name, values in request.query_params.lists() if any("\x00" in value for value in values)]
        if with_nul:
            raise serializers.ValidationError({name: ["Remove the NUL character."] for name in with_nul})

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and getattr(request, "membership", None) is None:
            membership = membership_for_api_key(header.removeprefix("Bearer ").strip())
            if membership is not None:
                request.api_key_membership = membership
                request.membership = membership
                with tenant_context(membership.tenant_id):
                    return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    @property
    def membership(self):
        return self.request._request.membership

    def own_conversation(self, conversation_id: int) -> Conversation:
        conversation = Conversation.objects.filter(
            pk=conversation_id, user_id=self.membership.user_id, hidden=False
        ).first()
        if conversation is None:
            raise Http404
        return conversation


class SourceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField()
    version = serializers.IntegerField()
    url = serializers.CharField()


class MessageOutput(serializers.ModelSerializer):
    sources = SourceSerializer(many=True)

    class Meta:
        model = Message
        fields = ["id", "role", "text", "route", "reasons", "sources", "sensitive", "status", "created_at"]


class ConversationOutput(serializers.ModelSerializer):
    class Meta:
        model = Conversation
        fields = ["id", "title", "created_at", "updated_at"]


class ConversationDetailOutput(ConversationOutput):
    messages = MessageOutput(many=True)

    class Meta(ConversationOutput.Meta):
        fields = [*ConversationOutput.Meta.fields, "messages"]


class ConversationListView(MemberAPIView):
    @extend_schema(responses=ConversationOutput(many=True), summary="The member's conversations, newest first")
    def get(self, request: Request) -> Response:
        conversations = Conversation.objects.filter(user_id=self.membership.user_id, hidden=False)[:200]
        return Response(ConversationOutput(conversations, many=True).data)


class RenameInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)


class ConversationDetailView(MemberAPIView):
    @extend_schema(responses=ConversationDetailOutput, summary="One conversation with its messages")
    def get(self, request: Request, conversation_id: int) -> Response:
        return Response(ConversationDetailOutput(self.own_conversation(conversation_id)).data)

    @extend_schema(request=RenameInput, responses=ConversationOutput, summary="Rename a conversation")
    def patch(self, request: Request, conversation_id: int) -> Response:
        rename_input = RenameInput(data=request.data)
        rename_input.is_valid(raise_exception=True)
        conversation = rename_conversation(
            conversation=self.own_conversation(conversation_id), title=rename_input.validated_data["title"]
        )
        return Response(ConversationOutput(conversation).data)

    @extend_schema(responses={204: None}, summary="Delete a conversation (its audit records stay)")
    def delete(self, request: Request, conversation_id: int) -> Response:
        hide_conversation(conversation=self.own_conversation(conversation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class QuestionInput(serializers.Serializer):
    question = serializers.CharField(trim_whitespace=False, allow_blank=True)
    conversation = serializers.IntegerField(required=False, allow_null=True)


class AnswerOutput(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    message_id = serializers.IntegerField()
    text = serializers.CharField()
    route = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    sensitive = serializers.BooleanField()
    sources = SourceSerializer(many=True)
    audit_id = serializers.IntegerField()


class QuestionView(MemberAPIView):
    @extend_schema(
        request=QuestionInput,
        responses={
            201: AnswerOutput,
            404: OpenApiResponse(description="The conversation is not one of the member's own."),
            429: OpenApiResponse(description="Too many questions this minute; Retry-After says how long to wait."),
        },
        summary="Ask a question and get the answer",
    )
    def post(self, request: Request) -> Response:
        question_input = QuestionInput(data=request.data)
        question_input.is_valid(raise_exception=True)
        conversation_id = question_input.validated_data.get("conversation")
        if conversation_id is not None:
            conversation_id = self.own_conversation(conversation_id).pk
        try:
            count_question(tenant_id=self.membership.tenant_id, user_id=self.membership.user_id)
        except RateLimited as error:
            raise Throttled(wait=error.retry_after) from error
        result = answer(
            membership=self.membership,
            question=question_input.validated_data["question"],
            channel="api",
            conversation_id=conversation_id,
        )
        output = {
            "conversation_id": result.conversation_id,
            "message_id": result.message_id,
            "text": result.text,
            "route": result.route,
            "reasons": list(result.reasons),
            "sensitive": result.sensitive,
            "sources": sources_for_display(result.sources),
            "audit_id": result.audit_id,
        }
        return Response(AnswerOutput(output).data, status=status.HTTP_201_CREATED)


class FeedbackInput(serializers.Serializer):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class FeedbackView(MemberAPIView):
    @extend_schema(request=FeedbackInput, responses={201: FeedbackInput}, summary="Rate an answer")
    def post(self, request: Request, message_id: int) -> Response:
        feedback_input = FeedbackInput(data=request.data)
        feedback_input.is_valid(raise_exception=True)
        message = Message.objects.filter(
            pk=message_id, role=Message.Role.ASSISTANT, conversation__user_id=self.membership.user_id
        ).first()
        if message is None:
            raise Http404
        feedback = give_feedback(
            membership=self.membership,
            message=message,
            helpful=feedback_input.validated_data["helpful"],
            comment=feedback_input.validated_data.get("comment", ""),
        )
        return Response({"helpful": feedback.helpful, "comment": feedback.comment}, status=status.HTTP_201_CREATED)
