"""Prometheus metrics for operators, served at /metrics.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the
workers (docker-compose does): each worker writes its samples there and a scrape adds them up. Label values
are routes, reason codes, entity types and backend names: never question text, users or tenants' terms.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

QUESTIONS = Counter("lantern_questions", "Questions answered, by route and outcome.", ["route", "status"])
ROUTING_REASONS = Counter(
    "lantern_routing_reasons", "Reason codes behind routing decisions (values such as scores stripped).", ["reason"]
)
FALLBACKS = Counter("lantern_fallbacks", "Answers that moved to another backend, by the backend moved to.", ["to"])
PII_DETECTIONS = Counter("lantern_pii_detections", "Sensitive values found in questions, by entity type.", ["type"])
PII_SCAN_FAILURES = Counter("lantern_pii_scan_failures", "PII scans that failed and were treated as sensitive.")
QUESTION_SECONDS = Histogram(
    "lantern_question_seconds",
    "Time from receiving a question to its stored answer, by route.",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40),
)
BUDGET_ALERTS = Counter("lantern_budget_alerts", "Department budget limits crossed, by level.", ["level"])

# Reason codes with a value after the colon that is a number or free-form carry only their name as a label.
_REASON_KEEPS_VALUE = ("pii", "fallback", "entity", "department")


def reason_label(reason: str) -> str:
    """A bounded label for a reason code: "faq_match:0.91" → "faq_match", "pii:TW_NATIONAL_ID" kept."""
    name, _, value = reason.partition(":")
    if name in _REASON_KEEPS_VALUE and value.replace("_", "").isalnum():
        return f"{name}:{value}"
    return name.split(">")[0].split("<")[0] or "unknown"


def observe_question(
    *,
    route: str,
    status: str,
    reasons: Iterable[str],
    entity_types: Iterable[str],
    detection_failed: bool,
    seconds: float,
) -> None:
    """Count one stored answer; never raises, because metrics must not break an answer."""
    try:
        QUESTIONS.labels(route=route, status=status).inc()
        QUESTION_SECONDS.labels(route=route).observe(seconds)
        for reason in reasons:
            if reason.startswith("fallback:"):
                FALLBACKS.labels(to=reason.partition(":")[2]).inc()
            else:
                ROUTING_REASONS.labels(reason=reason_label(reason)).inc()
        for entity_type in entity_types:
            PII_DETECTIONS.labels(type=entity_type).inc()
        if detection_failed:
            PII_SCAN_FAILURES.inc()
    except Exception:  # a metrics bug is logged, the answer goes on
        logger.exception("could not record question metrics")


class ScrapeTimeCollector(Collector):
    """Values read when Prometheus scrapes: Celery queue depth and the backends' circuit-breaker states."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("lantern_queue_depth", "Celery tasks waiting in Redis, by queue.", labels=["queue"])
        for queue, length in _queue_depths():
            depth.add_metric([queue], length)
        yield depth
        breakers = GaugeMetricFamily(
            "lantern_backend_circuit_open", "1 while a backend's circuit breaker is open.", labels=["backend"]
        )
        for backend, is_open in _breaker_states():
            breakers.add_metric([backend], 1.0 if is_open else 0.0)
        yield breakers


def _queue_depths() -> list[tuple[str, int]]:
    if not settings.REDIS_URL:
        return []
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        return [("celery", int(client.llen("celery")))]
    except redis.RedisError:
        return []


def _breaker_states() -> list[tuple[str, bool]]:
    """The breakers of the process answering the scrape (each process keeps its own)."""
    from routing.breaker import BreakerState, backend_health

    states: dict[str, bool] = {}
    for status in backend_health().breakers:
        states[status.name] = states.get(status.name, False) or status.state == BreakerState.OPEN
    return sorted(states.items())


_scrape_time_collector = ScrapeTimeCollector()
REGISTRY.register(_scrape_time_collector)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; with LANTERN_METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    token = settings.LANTERN_METRICS_TOKEN
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), token.encode()):
            return HttpResponse("Metrics need the operator's bearer token.\n", status=401, content_type="text/plain")
    started = time.perf_counter()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_scrape_time_collector)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    logger.debug("metrics scraped in %.1f ms", (time.perf_counter() - started) * 1000)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
