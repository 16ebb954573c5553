"""Login throttling: django-axes locks out a username from an address after repeated failures."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for every login made over HTTP.

    Logins without a request (management commands, Django's test client) cannot come from the network,
    so they skip the check instead of failing the way Axes' own backend does.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
