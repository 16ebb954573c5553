"""Template filters for the knowledge pages: Markdown rendered safely, and field names as people read them."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from knowledge.curation import FIELD_LABELS

register = template.Library()

# Raw HTML in the text is escaped, and markdown-it refuses javascript:, vbscript:, file: and data: links,
# so what a curator or an uploaded file writes cannot run in an employee's browser.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


@register.filter
def markdown(text: str) -> SafeString:
    """The text rendered from Markdown to safe HTML."""
    return mark_safe(_MARKDOWN.render(text or ""))  # noqa: S308 - raw HTML is disabled above


@register.filter
def field_labels(names: Iterable[str]) -> str:
    """Field names as the forms label them, separated by commas."""
    return ", ".join(str(FIELD_LABELS.get(name, name)) for name in names)
