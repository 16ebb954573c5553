"""Read-only admin views of the knowledge base for support staff; curators work in the knowledge pages."""

from django.contrib import admin

from knowledge.models import Document, FaqEntry, ImportJob, UnansweredQuestion


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the knowledge pages, which keep revisions, chunks and the audit chain right."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FaqEntry)
class FaqEntryAdmin(ReadOnlyAdmin):
    list_display = ("question", "external_id", "category", "language", "status", "version", "updated_at")
    list_filter = ("status", "language", "category")
    search_fields = ("question", "answer", "external_id")


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("title", "filename", "state", "status", "version", "uploaded_at")
    list_filter = ("state", "status")
    search_fields = ("title", "filename")
    exclude = ("content",)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("filename", "kind", "dry_run", "state", "done", "total", "created_at")
    list_filter = ("kind", "state", "dry_run")
    exclude = ("content",)


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(ReadOnlyAdmin):
    list_display = ("question", "reason", "asked_at", "faq_entry", "dismissed_at")
    list_filter = ("reason",)
    search_fields = ("question",)
    exclude = ("embedding",)
