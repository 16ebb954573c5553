"""The REST API for curators: FAQ entries, listed, created and edited through knowledge.faqs."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chatbot.rest import MemberAPIView
from knowledge.faqs import save_faq_entry
from knowledge.models import FaqEntry, Language, Status
from tenancy.models import Department, Role

PAGE_SIZE = 50
MAX_QUESTION_CHARS = 2000
MAX_ANSWER_CHARS = 20000
MAX_ALTERNATIVES = 50


class FaqEntryOutput(serializers.ModelSerializer):
    alternatives = serializers.ListField(child=serializers.CharField())
    owner_department = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = FaqEntry
        fields = [
            "id",
            "external_id",
            "question",
            "answer",
            "category",
            "language",
            "tags",
            "status",
            "owner_department",
            "alternatives",
            "version",
            "created_at",
            "updated_at",
        ]


class FaqEntryInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    question = serializers.CharField(max_length=MAX_QUESTION_CHARS)
    answer = serializers.CharField(max_length=MAX_ANSWER_CHARS)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=20, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    owner_department = serializers.CharField(max_length=50, required=False, allow_blank=True)
    alternatives = serializers.ListField(
        child=serializers.CharField(max_length=MAX_QUESTION_CHARS), max_length=MAX_ALTERNATIVES, required=False
    )

    def validate_owner_department(self, code: str) -> int | None:
        if not code:
            return None
        department = Department.objects.filter(code=code).first()
        if department is None:
            raise serializers.ValidationError(f"No department has the code {code!r}.")
        return department.pk


class FaqListPage(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    results = FaqEntryOutput(many=True)


class CuratorAPIView(MemberAPIView):
    roles = (Role.CURATOR,)

    def save(self, data: dict, *, entry: FaqEntry | None = None) -> FaqEntry:
        """Create or update an entry the way the curator pages do: a revision, chunks and audit events."""
        current = {
            "external_id": entry.external_id if entry else "",
            "category": entry.category if entry else "",
            "language": entry.language if entry else Language.ZH_HANT,
            "tags": entry.tags if entry else [],
            "status": entry.status if entry else Status.DRAFT,
            "owner_department": entry.owner_department_id if entry else None,
            "alternatives": entry.alternatives if entry else [],
        }
        values = {**current, **data}
        if entry is not None and values["external_id"] != entry.external_id:
            raise serializers.ValidationError({"external_id": ["The external id of an entry cannot change."]})
        if entry is None and values["external_id"] and FaqEntry.objects.filter(external_id=values["external_id"]):
            raise serializers.ValidationError({"external_id": ["An entry with this external id exists already."]})
        saved, _created = save_faq_entry(
            tenant_id=self.membership.tenant_id,
            entry_id=entry.pk if entry else None,
            external_id=values["external_id"],
            question=values["question"],
            answer=values["answer"],
            category=values["category"],
            language=values["language"],
            tags=values["tags"],
            status=values["status"],
            owner_department_id=values["owner_department"],
            alternatives=values["alternatives"],
            edited_by_id=self.membership.user_id,
        )
        return saved


class FaqEntryListView(CuratorAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=Status.values),
            OpenApiParameter("category", str),
            OpenApiParameter("language", enum=Language.values),
            OpenApiParameter("q", str, description="text in the question, the answer or an alternative"),
            OpenApiParameter("page", int),
        ],
        responses=FaqListPage,
        operation_id="faqs_list",
        summary="The tenant's FAQ entries, newest first",
    )
    def get(self, request: Request) -> Response:
        entries = FaqEntry.objects.select_related("owner_department").order_by("-updated_at", "-pk")
        status_filter = request.query_params.get("status", "")
        if status_filter:
            if status_filter not in Status.values:
                raise serializers.ValidationError({"status": [f"Use one of {', '.join(Status.values)}."]})
            entries = entries.filter(status=status_filter)
        if category := request.query_params.get("category", "").strip():
            entries = entries.filter(category=category)
        if language := request.query_params.get("language", ""):
            if language not in Language.values:
                raise serializers.ValidationError({"language": [f"Use one of {', '.join(Language.values)}."]})
            entries = entries.filter(language=language)
        if text := request.query_params.get("q", "").strip()[:200]:
            entries = entries.filter(
                Q(question__icontains=text) | Q(answer__icontains=text) | Q(chunks__text__icontains=text)
            ).distinct()
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise serializers.ValidationError({"page": ["A page is a whole number from 1."]}) from None
        count = entries.count()
        offset = (page - 1) * PAGE_SIZE
        results = entries[offset : offset + PAGE_SIZE] if offset < count else []
        return Response({"count": count, "page": page, "results": FaqEntryOutput(results, many=True).data})

    @extend_schema(
        request=FaqEntryInput,
        responses={201: FaqEntryOutput},
        operation_id="faqs_create",
        summary="Create an FAQ entry",
    )
    def post(self, request: Request) -> Response:
        entry_input = FaqEntryInput(data=request.data)
        entry_input.is_valid(raise_exception=True)
        entry = self.save(entry_input.validated_data)
        return Response(FaqEntryOutput(entry).data, status=status.HTTP_201_CREATED)


class FaqEntryDetailView(CuratorAPIView):
    def entry(self, entry_id: int) -> FaqEntry:
        entry = FaqEntry.objects.select_related("owner_department").filter(pk=entry_id).first()
        if entry is None:
            raise Http404
        return entry

    @extend_schema(responses=FaqEntryOutput, operation_id="faq_retrieve", summary="One FAQ entry")
    def get(self, request: Request, entry_id: int) -> Response:
        return Response(FaqEntryOutput(self.entry(entry_id)).data)

    @extend_schema(
        request=FaqEntryInput(partial=True),
        responses=FaqEntryOutput,
        operation_id="faq_update",
        summary="Change an FAQ entry (a new revision; publishing or archiving is audited)",
    )
    def patch(self, request: Request, entry_id: int) -> Response:
        entry = self.entry(entry_id)
        entry_input = FaqEntryInput(data=request.data, partial=True)
        entry_input.is_valid(raise_exception=True)
        values = {"question": entry.question, "answer": entry.answer, **entry_input.validated_data}
        return Response(FaqEntryOutput(self.save(values, entry=entry)).data)
