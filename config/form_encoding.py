"""Form posts whose text cannot be stored as it was typed are refused, in the error shape of the part of the site
that was called, before any view saves a field.

Django reads form fields that are not UTF-8 (Big5 or UTF-16 text labelled as UTF-8, say) without complaint: a
URL-encoded body as Latin-1 or with U+FFFD (�) in place of the bytes, a multipart field with U+FFFD. A view would
then save the question or title as mojibake. PostgreSQL cannot store NUL characters at all, and no one types
the other control characters into a form."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
REPLACEMENT_CHARACTER = "\ufffd"
# C0 controls other than tab, line feed and carriage return: no one types them into a form.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class FormEncodingMiddleware:
    """Refuses a POSTed form with text that was not UTF-8 or holds control characters (400, nothing saved)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict) -> None:
        if request.method != "POST" or request.content_type not in FORM_CONTENT_TYPES:
            return
        texts = [text for name, values in request.POST.lists() for text in (name, *values)]
        if not _is_utf8(request, texts):
            raise BadRequest(
                _(
                    "The form's text could not be read: it was not sent as UTF-8. "
                    "Send it again from the page, or encode the text as UTF-8."
                )
            )
        if any(CONTROL_CHARACTERS.search(text) for text in texts):
            raise BadRequest(
                _("The form contains control characters (such as NUL), which cannot be saved: remove them.")
            )


def _is_utf8(request: HttpRequest, texts: list[str]) -> bool:
    """Whether the form's fields were sent as UTF-8: the URL-encoded body itself is checked; multipart fields
    have been decoded already, and U+FFFD in them stands for bytes that were not UTF-8."""
    if request.content_type == "multipart/form-data":
        return not any(REPLACEMENT_CHARACTER in text for text in texts)
    try:
        parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True
