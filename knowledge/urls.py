from django.urls import path, register_converter

from knowledge import views


class SpreadsheetFormat:
    regex = "csv|xlsx"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SpreadsheetFormat, "spreadsheet")

app_name = "knowledge"

urlpatterns = [
    path("", views.home, name="home"),
    path("faqs/", views.faq_list, name="faq_list"),
    path("faqs/bulk/", views.faq_bulk, name="faq_bulk"),
    path("faqs/new/", views.faq_create, name="faq_create"),
    path("faqs/export.<spreadsheet:format>", views.faq_export, name="faq_export"),
    path("faqs/<int:entry_id>/", views.faq_detail, name="faq_detail"),
    path("faqs/<int:entry_id>/edit/", views.faq_edit, name="faq_edit"),
    path("faqs/<int:entry_id>/status/", views.faq_status, name="faq_status"),
    path("faqs/<int:entry_id>/history/", views.faq_history, name="faq_history"),
    path("faqs/<int:entry_id>/history/<int:version>/restore/", views.faq_restore, name="faq_restore"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/template.<spreadsheet:format>", views.import_template, name="import_template"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/run/", views.import_run, name="import_run"),
    path("documents/", views.document_list, name="document_list"),
    path("documents/<int:document_id>/", views.document_detail, name="document_detail"),
    path("documents/<int:document_id>/file/", views.document_file, name="document_file"),
    path("documents/<int:document_id>/status/", views.document_status, name="document_status"),
    path("documents/<int:document_id>/replace/", views.document_replace, name="document_replace"),
    path("documents/<int:document_id>/process/", views.document_reprocess, name="document_reprocess"),
    path("documents/<int:document_id>/delete/", views.document_delete, name="document_delete"),
    path("unanswered/", views.unanswered_list, name="unanswered_list"),
    path("unanswered/dismiss/", views.unanswered_dismiss, name="unanswered_dismiss"),
]
