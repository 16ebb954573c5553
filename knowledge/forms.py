"""The curator's forms: an FAQ entry, the list's filters and bulk actions, and file uploads."""

from __future__ import annotations

import re
from pathlib import PurePath

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from knowledge.curation import FaqFilters
from knowledge.documents import MEBIBYTE, DocumentError, check_document
from knowledge.models import FaqEntry, Language, Status
from knowledge.spreadsheets import SpreadsheetError, check_faq_spreadsheet
from tenancy.models import Department

MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 20000
MAX_ALTERNATIVES = 50
MAX_UPLOAD_BYTES = 10 * MEBIBYTE
DOCUMENT_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".txt", ".pdf", ".docx")
SPREADSHEET_SUFFIXES = (".csv", ".xlsx")

# Tags may be separated the way people type them: commas (also the Chinese ones), 、, semicolons or lines.
_TAG_SEPARATORS = re.compile(r"[,，、;；\n]+")


def _department_choices() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False, empty_label=_("No department")
    )


class FaqEntryForm(forms.Form):
    """An FAQ entry as the curator writes it; alternatives one per line, tags separated by commas."""

    question = forms.CharField(
        label=_("Question"),
        max_length=MAX_QUESTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The question as employees would ask it."),
    )
    answer = forms.CharField(
        label=_("Answer"),
        max_length=MAX_ANSWER_CHARS,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Markdown: **bold**, lists with -, links as [text](https://…)."),
    )
    alternatives = forms.CharField(
        label=_("Other ways to ask"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: colloquial wordings, typos, the other language. They are searched too."),
    )
    category = forms.CharField(
        label=_("Category"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"list": "faq-categories", "autocomplete": "off"}),
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate tags with commas."))
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    owner_department = _department_choices()
    external_id = forms.CharField(
        label=_("External ID"),
        max_length=100,
        required=False,
        help_text=_("Your own key, used to update this entry from a spreadsheet import."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    unanswered = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, entry: FaqEntry | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entry = entry
        self.fields["owner_department"].queryset = Department.objects.order_by("name")
        if entry is not None:
            # The external id is the key a spreadsheet updates the entry by: it is set once, when created.
            del self.fields["external_id"]

    def clean_alternatives(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["alternatives"].splitlines() if line.strip()]
        unique = list(dict.fromkeys(lines))
        if len(unique) > MAX_ALTERNATIVES:
            raise forms.ValidationError(
                _("At most %(limit)d other ways to ask fit; this has %(count)d."),
                params={"limit": MAX_ALTERNATIVES, "count": len(unique)},
            )
        too_long = [line for line in unique if len(line) > MAX_QUESTION_CHARS]
        if too_long:
            raise forms.ValidationError(
                _("Each way to ask may be at most %(limit)d characters."), params={"limit": MAX_QUESTION_CHARS}
            )
        return unique

    def clean_tags(self) -> list[str]:
        tags = [tag.strip() for tag in _TAG_SEPARATORS.split(self.cleaned_data["tags"]) if tag.strip()]
        if any(len(tag) > 50 for tag in tags):
            raise forms.ValidationError(_("Each tag may be at most 50 characters."))
        return list(dict.fromkeys(tags))

    def clean_external_id(self) -> str:
        external_id = self.cleaned_data["external_id"].strip()
        if external_id and FaqEntry.objects.filter(external_id=external_id).exists():
            raise forms.ValidationError(_("Another FAQ entry already has this external ID."))
        return external_id

    def clean_unanswered(self) -> list[int]:
        return ids_in(self.cleaned_data["unanswered"])

    def clean(self) -> dict:
        cleaned = super().clean()
        question = (cleaned.get("question") or "").strip()
        alternatives = cleaned.get("alternatives") or []
        if question and question in alternatives:
            cleaned["alternatives"] = [line for line in alternatives if line != question]
        return cleaned


class FaqFilterForm(forms.Form):
    """What the FAQ list is narrowed to."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices])
    category = forms.ChoiceField(label=_("Category"), required=False)
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any language")), *Language.choices]
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False, empty_label=_("Any department")
    )

    def __init__(self, *args, categories: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any category")), *((name, name) for name in categories)]
        self.fields["department"].queryset = Department.objects.order_by("name")

    def filters(self) -> FaqFilters:
        """The filters as chosen; a value the form rejects counts as no filter."""
        cleaned = self.cleaned_data if self.is_valid() else {}
        department = cleaned.get("department")
        return FaqFilters(
            search=cleaned.get("q", ""),
            status=cleaned.get("status", ""),
            category=cleaned.get("category", ""),
            language=cleaned.get("language", ""),
            department_id=department.pk if department else None,
        )


class BulkStatusForm(forms.Form):
    """A status change for the entries ticked in the list."""

    ACTIONS = {"publish": Status.PUBLISHED, "archive": Status.ARCHIVED, "draft": Status.DRAFT}

    action = forms.ChoiceField(
        choices=[("publish", _("Publish")), ("archive", _("Archive")), ("draft", _("Back to draft"))]
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        entry_ids = [int(value) for value in self.data.getlist("entries") if value.isdecimal()]
        if not entry_ids:
            raise forms.ValidationError(_("Select one or more entries first."))
        cleaned["entry_ids"] = entry_ids
        return cleaned

    @property
    def status(self) -> str:
        return self.ACTIONS[self.cleaned_data["action"]]


class StatusForm(forms.Form):
    """A status change for one entry or document."""

    status = forms.ChoiceField(choices=Status.choices)


def _check_upload(upload, suffixes: tuple[str, ...], kinds: str) -> None:
    if PurePath(upload.name).suffix.lower() not in suffixes:
        raise forms.ValidationError(
            _("Lantern cannot read %(name)s: choose %(kinds)s."), params={"name": upload.name, "kinds": kinds}
        )
    if upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(
            _("%(name)s is larger than 10 MB: split it into smaller files."), params={"name": upload.name}
        )
    if upload.size == 0:
        raise forms.ValidationError(_("%(name)s is empty."), params={"name": upload.name})


def _content_of(upload: UploadedFile) -> bytes:
    """The uploaded file's bytes, leaving it to be read again from the start."""
    content = upload.read()
    upload.seek(0)
    return content


def _check_document(upload: UploadedFile) -> None:
    try:
        check_document(upload.name, _content_of(upload), max_bytes=MAX_UPLOAD_BYTES)
    except DocumentError as error:
        raise forms.ValidationError(error.message) from error


def ids_in(text: str) -> list[int]:
    """The whole numbers in a comma-separated list; anything else in it is left out."""
    return [int(part) for part in (part.strip() for part in text.split(",")) if part.isdecimal()]


class FaqFileForm(forms.Form):
    """A CSV or Excel file of FAQ entries to check or import."""

    file = forms.FileField(
        label=_("CSV or Excel file"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"})
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        _check_upload(upload, SPREADSHEET_SUFFIXES, _("a .csv or .xlsx file"))
        try:
            check_faq_spreadsheet(upload.name, _content_of(upload))
        except SpreadsheetError as error:
            raise forms.ValidationError(error.message) from error
        return upload


class DocumentForm(forms.Form):
    """A document to upload, with an optional title and owner department."""

    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ",".join(DOCUMENT_SUFFIXES)})
    )
    title = forms.CharField(
        label=_("Title"), max_length=300, required=False, help_text=_("Leave empty to use the document's own title.")
    )
    owner_department = _department_choices()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_department"].queryset = Department.objects.order_by("name")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        _check_upload(upload, DOCUMENT_SUFFIXES, _("Markdown, HTML, text, PDF or Word (.docx)"))
        _check_document(upload)
        return upload


class DocumentFileForm(forms.Form):
    """A new version of a document's file."""

    file = forms.FileField(
        label=_("New version of the file"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(DOCUMENT_SUFFIXES)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        _check_upload(upload, DOCUMENT_SUFFIXES, _("Markdown, HTML, text, PDF or Word (.docx)"))
        _check_document(upload)
        return upload


class QuestionIdsForm(forms.Form):
    """Unanswered questions by id, comma-separated."""

    questions = forms.CharField()

    def clean_questions(self) -> list[int]:
        return ids_in(self.cleaned_data["questions"])
