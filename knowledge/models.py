"""What a tenant's assistant knows: FAQ entries, documents, and the searchable chunks made from them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField

from tenancy.models import Department, Tenant, TenantOwnedModel, TenantQuerySet, TenantScopedManager


class Language(models.TextChoices):
    ZH_HANT = "zh-hant", "繁體中文"
    EN = "en", "English"


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class FaqEntry(TenantOwnedModel):
    """A question and its curated answer, owned by a department."""

    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    question = models.TextField(_("question"))
    answer = models.TextField(_("answer"), help_text=_("Markdown"))
    category = models.CharField(_("category"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANT)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("tags"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    owner_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("owner department")
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~models.Q(external_id=""),
                name="faq_external_id_unique_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return self.question[:80]

    @property
    def alternatives(self) -> list[str]:
        return [chunk.text for chunk in self.chunks.all() if chunk.kind == Chunk.Kind.ALTERNATIVE]


class FaqRevision(TenantOwnedModel):
    """The state of an FAQ entry after one edit: who, when, what changed."""

    faq_entry = models.ForeignKey(FaqEntry, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(auto_now_add=True)
    changed_fields = ArrayField(models.CharField(max_length=40), default=list)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["faq_entry", "version"], name="faq_revision_version_unique")]

    def __str__(self) -> str:
        return f"v{self.version}"


class Document(TenantOwnedModel):
    """An uploaded policy or manual, split into chunks that are retrieved next to FAQ entries."""

    class State(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    title = models.CharField(_("title"), max_length=300)
    filename = models.CharField(_("file name"), max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PUBLISHED)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.PROCESSING)
    error = models.TextField(blank=True)
    owner_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("owner department")
    )
    version = models.PositiveIntegerField(default=1)
    # The readable text by section (heading path, anchor, text, page), for the document page.
    sections = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.title

    @property
    def is_markdown(self) -> bool:
        """Whether the section texts are Markdown (from .md or .html files) rather than plain text."""
        return self.filename.lower().endswith((".md", ".markdown", ".html", ".htm"))


class ChunkQuerySet(TenantQuerySet):
    def published(self) -> ChunkQuerySet:
        return self.filter(
            models.Q(faq_entry__status=Status.PUBLISHED)
            | models.Q(document__status=Status.PUBLISHED, document__state=Document.State.READY)
        )


class Chunk(TenantOwnedModel):
    """One searchable piece of text: an FAQ question, one of its alternative phrasings, or a document section."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        ALTERNATIVE = "alternative", _("Alternative phrasing")
        DOCUMENT = "document", _("Document section")

    faq_entry = models.ForeignKey(FaqEntry, null=True, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(Document, null=True, on_delete=models.CASCADE, related_name="chunks")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    heading = models.CharField(max_length=500, blank=True)
    anchor = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    embedding = VectorField(dimensions=settings.LANTERN_EMBEDDING_DIMENSIONS, null=True)
    lexical = SearchVectorField(null=True)

    objects = TenantScopedManager.from_queryset(ChunkQuerySet)()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(faq_entry__isnull=False, document__isnull=True)
                | models.Q(faq_entry__isnull=True, document__isnull=False),
                name="chunk_belongs_to_one_source",
            )
        ]
        # No vector index over every tenant's chunks: search never orders by one (a tenant's own partial
        # index serves it, see knowledge.retrieval), and keeping it would cost every chunk written.
        indexes = [
            GinIndex(name="chunk_lexical_gin", fields=["lexical"]),
            models.Index(fields=["tenant", "faq_entry"], name="chunk_tenant_entry"),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class ImportJob(TenantOwnedModel):
    """A long piece of curator work (an import, an upload, a re-embedding) with its progress and row results."""

    class Kind(models.TextChoices):
        FAQ_IMPORT = "faq_import", _("FAQ import")
        DOCUMENT = "document", _("Document")
        REEMBED = "reembed", _("Re-embedding")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    filename = models.CharField(max_length=300, blank=True)
    content = models.BinaryField(null=True)
    dry_run = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The department that owns the FAQ entries an import creates (the file has no department column).
    owner_department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"


class UnansweredQuestionQuerySet(TenantQuerySet):
    def open(self) -> UnansweredQuestionQuerySet:
        """Questions no curator has yet turned into an FAQ entry or dismissed."""
        return self.filter(faq_entry__isnull=True, dismissed_at__isnull=True)


class UnansweredQuestion(TenantOwnedModel):
    """An employee question that found no confident answer, stored with personal data already redacted."""

    class Reason(models.TextChoices):
        NO_MATCH = "no_match", _("No matching answer")
        NOT_HELPFUL = "not_helpful", _("Answer not helpful")

    question = models.TextField(_("question"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # The chat message, by id only: the chatbot's tables belong to the chatbot app.
    message_id = models.BigIntegerField(null=True, blank=True)
    embedding = VectorField(dimensions=settings.LANTERN_EMBEDDING_DIMENSIONS, null=True)
    asked_at = models.DateTimeField(_("asked"), auto_now_add=True)
    faq_entry = models.ForeignKey(
        FaqEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="unanswered_questions"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager.from_queryset(UnansweredQuestionQuerySet)()

    class Meta:
        ordering = ["-asked_at"]
        verbose_name = _("unanswered question")
        verbose_name_plural = _("unanswered questions")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "message_id", "reason"],
                condition=models.Q(message_id__isnull=False),
                name="unanswered_once_per_message_and_reason",
            )
        ]
        indexes = [models.Index(fields=["tenant", "asked_at"], name="unanswered_tenant_asked")]

    def __str__(self) -> str:
        return self.question[:80]


class LexicalSnapshot(TenantOwnedModel):
    """A large tenant's BM25 collection statistics as of its last refresh (``knowledge.lexicon``)."""

    sources = models.PositiveIntegerField()
    average_length = models.FloatField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="lexical_snapshot_one_per_tenant")]


class TermFrequency(TenantOwnedModel):
    """How many of a large tenant's sources and chunks held a term at the last refresh."""

    # The unique (tenant, term) index serves every lookup; one on the tenant alone would only slow refreshes.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    term = models.TextField()
    sources = models.PositiveIntegerField()
    chunks = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "term"], name="term_frequency_unique_per_tenant")]
