"""What a request gets when it cannot be served: a request that cannot be read, a URL that leads nowhere, a
failure on the server (a clear, retryable 503 while the database is away), each in the error shape of the part
of the site that was called."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MEBIBYTE = 1024 * 1024


def form_status(form: Form) -> int:
    """The status of a page shown again: 400 when it is because its posted form is not valid, 200 otherwise."""
    return 400 if form.is_bound and form.errors else 200


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler400: a request too large or unreadable to parse, said plainly; nothing was saved."""
    if isinstance(exception, RequestDataTooBig):
        message = _(
            "The request is too large: Lantern reads at most %(megabytes)s MB of form or JSON data. "
            "Shorten the text, or upload large content as a file."
        ) % {"megabytes": f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / MEBIBYTE:.1f}"}
        return error_response(request, status=413, code="request_too_large", message=message)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        message = _("The form has too many fields or files; send fewer at a time.")
        return error_response(request, status=400, code="too_many_fields", message=message)
    if isinstance(exception, MultiPartParserError):
        message = _("The form could not be read: it was cut off or is not valid multipart data. Send it again.")
        return error_response(request, status=400, code="unreadable_form", message=message)
    if isinstance(exception, BadRequest) and str(exception):
        return error_response(request, status=400, code="bad_request", message=str(exception))
    return error_response(request, status=400, code="bad_request", message=_("The request could not be read."))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler404: the APIs and scripts answer in their error shape, browsers get the usual page."""
    if request.path.startswith(("/v1/", "/api/")) or not request.accepts("text/html"):
        return error_response(request, status=404, code="not_found", message=_("There is nothing at this address."))
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: a database outage becomes 503 with Retry-After; anything else stays a 500."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, error)
        message = _(
            "The database is briefly unavailable, so nothing was saved for this request. "
            "Please try again in a few seconds."
        )
        response = error_response(request, status=503, code="database_unavailable", message=message)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith(("/v1/", "/api/")):
        return error_response(request, status=500, code="server_error", message=_("Something went wrong on our side."))
    return defaults.server_error(request)


def error_response(request: HttpRequest, *, status: int, code: str, message: str) -> HttpResponse:
    """An error in the shape of the part of the site that was called: OpenAI's under /v1/, the REST API's
    under /api/ and for scripts that do not read HTML, plain words for a browser."""
    if request.path.startswith("/v1/"):
        error_type = "server_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
        return JsonResponse(body, status=status)
    if request.path.startswith("/api/") or not request.accepts("text/html"):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
