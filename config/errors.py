"""What a request gets when it fails on the server: a clear, retryable 503 while the database is away,
in the error shape of the part of the site that was called."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: a database outage becomes 503 with Retry-After; anything else stays a 500."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, error)
        message = _(
            "The database is briefly unavailable, so nothing was saved for this request. "
            "Please try again in a few seconds."
        )
        response = _shaped(request, status=503, code="database_unavailable", message=message)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith(("/v1/", "/api/")):
        return _shaped(request, status=500, code="server_error", message=_("Something went wrong on our side."))
    return defaults.server_error(request)


def _shaped(request: HttpRequest, *, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith("/v1/"):
        body = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
        return JsonResponse(body, status=status)
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
