"""Questions per minute, per person and per tenant, counted in the cache shared by every worker."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


class RateLimited(Exception):
    """Too many questions this minute; `retry_after` says how many seconds to wait."""

    def __init__(self, *, scope: str, retry_after: int) -> None:
        super().__init__(f"Too many questions from this {scope}; try again in {retry_after} seconds.")
        self.scope = scope
        self.retry_after = retry_after


def count_question(*, tenant_id: int, user_id: int) -> None:
    """Count one question against both limits; raise RateLimited when either is exceeded."""
    window = int(time.time() // WINDOW_SECONDS)
    retry_after = WINDOW_SECONDS - int(time.time() % WINDOW_SECONDS)
    for scope, key, limit in (
        ("user", f"lantern:rate:user:{user_id}:{window}", settings.LANTERN_RATE_LIMIT_USER_PER_MINUTE),
        ("tenant", f"lantern:rate:tenant:{tenant_id}:{window}", settings.LANTERN_RATE_LIMIT_TENANT_PER_MINUTE),
    ):
        if limit <= 0:
            continue
        cache.add(key, 0, WINDOW_SECONDS + 5)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, WINDOW_SECONDS + 5)
            count = 1
        if count > limit:
            raise RateLimited(scope=scope, retry_after=retry_after)
