"""What operators get: metrics, readiness, JSON logs with the correlation id and no sensitive value,
throttled logins."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from audit.models import AuditEvent
from chatbot.api_keys import create_api_key
from config.metrics import reason_label
from tenancy.context import tenant_context
from tests.chatbot.conftest import acme_faqs  # noqa: F401  (published FAQ entries for acme)

SENSITIVE_QUESTION = "我的身分證字號是 A123456789，手機 0912-345-678，王愛麗的薪水是多少？"
SENSITIVE_VALUES = ("A123456789", "0912-345-678", "0912345678", "王愛麗")


def sample(client, name: str, **labels: str) -> float:
    """The current value of one sample on /metrics (0 when it has not appeared yet)."""
    body = client.get(reverse("metrics")).content.decode()
    for family in text_string_to_metric_families(body):
        for found in family.samples:
            if found.name == name and all(found.labels.get(key) == value for key, value in labels.items()):
                return found.value
    return 0.0


def ask_stream(client, question: str):
    response = client.post(reverse("chatbot:ask_stream"), {"question": question})
    body = b"".join(response.streaming_content).decode()
    return response, body


@pytest.fixture
def json_log_lines(settings):
    """Every log line written during the test, formatted as in production, at DEBUG for every logger."""
    stream = io.StringIO()
    config = {**settings.LOGGING}
    config["handlers"] = {
        "capture": {
            "class": "logging.StreamHandler",
            "stream": stream,
            "formatter": "json",
            "filters": ["context"],
        }
    }
    config["root"] = {"handlers": ["capture"], "level": "DEBUG"}
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    logging.config.dictConfig(settings.LOGGING)


def test_reason_labels_drop_scores_and_keep_entity_types():
    assert reason_label("faq_match:0.91") == "faq_match"
    assert reason_label("length>300") == "length"
    assert reason_label("pii:TW_NATIONAL_ID") == "pii:TW_NATIONAL_ID"
    assert reason_label("budget_exceeded") == "budget_exceeded"


def test_a_sensitive_question_counts_its_route_and_entity_types(client, bob, acme_faqs):  # noqa: F811
    client.force_login(bob.user)
    detections_before = sample(client, "lantern_pii_detections_total", type="TW_NATIONAL_ID")
    local_before = sample(client, "lantern_questions_total", route="local", status="complete")

    ask_stream(client, "我的身分證字號是 A123456789，特休假有幾天？")

    assert sample(client, "lantern_pii_detections_total", type="TW_NATIONAL_ID") == detections_before + 1
    assert sample(client, "lantern_questions_total", route="local", status="complete") == local_before + 1
    assert sample(client, "lantern_routing_reasons_total", reason="pii:TW_NATIONAL_ID") >= 1
    assert sample(client, "lantern_question_seconds_count", route="local") >= 1


def test_metrics_need_the_operators_token_when_one_is_set(client, settings):
    settings.LANTERN_METRICS_TOKEN = "scrape-secret"

    assert client.get(reverse("metrics")).status_code == 401
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert b"lantern_queue_depth" in response.content


def test_readyz_is_ok_with_the_database_and_reports_each_backend(client, db):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["backends"]["extractive"] == "closed"


def test_readyz_stays_in_rotation_but_degraded_when_redis_is_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get(reverse("readyz"))

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["redis"].startswith("unavailable")


def test_log_lines_are_json_with_the_request_id_returned_to_the_caller(client, db, json_log_lines):
    response = client.get("/no-such-page/")

    request_id = response["X-Request-ID"]
    lines = [line for line in json_log_lines() if line["logger"] == "django.request"]
    assert lines, "Django logs a 404 on django.request"
    assert {line["correlation_id"] for line in lines} == {request_id}
    assert {"time", "level", "message"} <= set(lines[0])


def test_the_request_id_leads_an_auditor_to_the_questions_audit_event(client, bob, acme_faqs):  # noqa: F811
    with tenant_context(bob.tenant_id):
        key = create_api_key(membership=bob, name="cli").secret
    response = client.post(
        "/v1/chat/completions",
        data=json.dumps({"model": "lantern", "messages": [{"role": "user", "content": "How do I reset my password?"}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    assert response.status_code == 200
    with tenant_context(bob.tenant_id):
        event = AuditEvent.objects.get(kind="question")
    assert str(event.correlation_id) == response["X-Request-ID"]


def test_no_sensitive_value_reaches_a_log_line_even_at_debug(client, bob, acme_faqs, json_log_lines):  # noqa: F811
    client.force_login(bob.user)
    ask_stream(client, SENSITIVE_QUESTION)
    with tenant_context(bob.tenant_id):
        key = create_api_key(membership=bob, name="cli").secret
    client.post(
        "/v1/chat/completions",
        data=json.dumps({"model": "lantern", "messages": [{"role": "user", "content": SENSITIVE_QUESTION}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    client.post(reverse("login"), {"username": "bob", "password": "A123456789"})

    lines = json_log_lines()
    assert lines, "the requests above write log lines at DEBUG"
    written = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    for value in SENSITIVE_VALUES:
        assert value not in written


def test_repeated_wrong_passwords_lock_the_username_out_and_are_audited(client, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "bob", "password": "wrong"})
        assert response.status_code == 200
    assert client.post(reverse("login"), {"username": "bob", "password": "wrong"}).status_code == 429

    locked = client.post(reverse("login"), {"username": "bob", "password": "pw-bob-1"}, HTTP_ACCEPT_LANGUAGE="en")

    assert locked.status_code == 429
    assert "locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    with tenant_context(bob.tenant_id):
        assert AuditEvent.objects.filter(kind="login_failed").count() >= settings.AXES_FAILURE_LIMIT


def test_a_correct_password_before_the_limit_logs_in_and_resets_the_count(client, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": "bob", "password": "wrong"})

    response = client.post(reverse("login"), {"username": "bob", "password": "pw-bob-1"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.user_id)
