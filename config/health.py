"""Liveness and readiness for load balancers and orchestrators.

/readyz answers 503 only when the database is unreachable: without it nothing can be answered or audited.
Redis and the LLM backends are reported, but their loss only degrades Lantern (cache misses, tasks run
inline, answers fall back to another backend), so taking the instance out of rotation would not help.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The process can serve: the database answers; Redis and backends are reported alongside."""
    checks = {"database": _database(), "redis": _redis(), "backends": _backends()}
    if checks["database"] != "ok":
        return JsonResponse({"status": "unavailable", **checks}, status=503)
    degraded = checks["redis"] not in ("ok", "not configured") or any(
        state == "open" for state in checks["backends"].values()
    )
    return JsonResponse({"status": "degraded" if degraded else "ok", **checks})


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means not ready
        return f"unavailable: {type(error).__name__}"
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except redis.RedisError as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


def _backends() -> dict[str, str]:
    """Each configured backend with the state of its circuit breaker in this process."""
    from routing.breaker import backend_health

    states = {"extractive": "closed"}
    for name, base_url in (("local", settings.LANTERN_LOCAL_BASE_URL), ("cloud", settings.LANTERN_CLOUD_BASE_URL)):
        if base_url:
            states[name] = "closed"
    for status in backend_health().breakers:
        if status.name in states and states[status.name] != "open":
            states[status.name] = str(status.state)
    return states
