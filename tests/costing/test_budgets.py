"""Budgets: a crossed limit alerts once by e-mail and webhook, and a hard limit takes the cloud away."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connections
from django.utils import timezone

import costing
from audit.models import AuditEvent
from costing.alerts import deliver_budget_alert
from costing.budgets import budget_status, department_over_hard_budget, set_budget
from costing.defaults import seed_tenant
from costing.models import BudgetAlert
from costing.profiles import save_costing_settings
from routing.router import BackendHealth, Policy, Target, decide
from tenancy.context import tenant_context
from tenancy.provisioning import add_member, create_tenant
from tests.costing.conftest import metered

# Each cloud question below costs $0.15: a million tokens in at GPT-4o mini's list price.
QUESTION_COST = Decimal("0.15")


class WebhookReceiver:
    """A small HTTP server on loopback that records what is posted to it."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/budget"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def ask_cloud(member, count: int = 1) -> None:
    for _ in range(count):
        metered(member, at=timezone.now(), tokens_in=1_000_000, tokens_out=0)


def budget(member, *, soft=None, hard=None, currency="USD"):
    with tenant_context(member.tenant_id):
        return set_budget(
            tenant_id=member.tenant_id,
            department_id=member.department_id,
            soft_limit=None if soft is None else Decimal(soft),
            hard_limit=None if hard is None else Decimal(hard),
            currency=currency,
        )


def over_hard(member) -> bool:
    return department_over_hard_budget(tenant_id=member.tenant_id, department_id=member.department_id)


def route_for(member) -> Target:
    """Where the router sends a long, non-sensitive question from the member, with the budget fact."""
    with tenant_context(member.tenant_id):
        decision = decide(
            policy=Policy(mode="hybrid"),
            entity_types=(),
            detection_failed=False,
            confidence=0.1,
            length=5_000,
            department_code=member.department.code,
            over_budget=over_hard(member),
            health=BackendHealth(local_available=True, cloud_available=True),
        )
    return decision.target


def test_crossing_the_soft_limit_sends_one_email_and_records_one_audit_event(
    dave, fiona, mailoutbox, django_capture_on_commit_callbacks
):
    budget(dave, soft="0.30", hard="10.00")

    with django_capture_on_commit_callbacks(execute=True):
        ask_cloud(dave, 5)

    assert len(mailoutbox) == 1
    assert "ENG" in mailoutbox[0].subject
    assert mailoutbox[0].to == ["fiona@acme.example"]
    with tenant_context(dave.tenant_id):
        alert = BudgetAlert.objects.get()
        event = AuditEvent.objects.get(kind="budget_exceeded")
        assert alert.level == "soft_exceeded"
        assert alert.emailed_at is not None
        assert event.payload["department"] == "ENG"
        assert event.payload["level"] == "soft_exceeded"
    assert not over_hard(dave)


def test_crossing_the_hard_limit_alerts_once_and_keeps_the_department_off_the_cloud(
    dave, bob, fiona, webhook, mailoutbox, django_capture_on_commit_callbacks
):
    with tenant_context(dave.tenant_id):
        save_costing_settings(tenant_id=dave.tenant_id, fields={"alert_webhook_url": webhook.url})
    budget(dave, soft="0.15", hard="0.30")
    budget(bob, hard="0.30")
    assert route_for(dave) == Target.CLOUD

    with django_capture_on_commit_callbacks(execute=True):
        ask_cloud(dave, 2)
    with django_capture_on_commit_callbacks(execute=True):
        ask_cloud(dave, 3)

    assert over_hard(dave)
    assert route_for(dave) == Target.LOCAL
    assert not over_hard(bob)
    assert route_for(bob) == Target.CLOUD
    assert len(mailoutbox) == 2
    assert [body["level"] for body in webhook.bodies] == ["soft_exceeded", "hard_exceeded"]
    assert webhook.bodies[1]["department"] == "ENG"
    assert webhook.bodies[1]["tenant"] == "acme"
    with tenant_context(dave.tenant_id):
        assert BudgetAlert.objects.count() == 2
        assert AuditEvent.objects.filter(kind="budget_exceeded").count() == 2
        assert all(alert.webhook_sent_at for alert in BudgetAlert.objects.all())


def test_raising_the_hard_limit_gives_the_cloud_back(dave):
    budget(dave, hard="0.30")
    ask_cloud(dave, 2)
    assert over_hard(dave)

    budget(dave, hard="10")

    assert not over_hard(dave)


def test_lowering_a_limit_below_this_months_spend_alerts_once_right_away(
    dave, fiona, mailoutbox, django_capture_on_commit_callbacks
):
    ask_cloud(dave, 4)

    with django_capture_on_commit_callbacks(execute=True):
        budget(dave, soft="0.10", hard="0.75")
    with django_capture_on_commit_callbacks(execute=True):
        budget(dave, soft="0.10", hard="0.75")

    assert len(mailoutbox) == 1
    with tenant_context(dave.tenant_id):
        assert list(BudgetAlert.objects.values_list("level", flat=True)) == ["soft_exceeded"]


def test_an_ntd_budget_is_compared_at_the_exchange_rate(dave):
    budget(dave, hard="9.60", currency="NTD")  # NT$9.60 is $0.30 at 32 NTD per USD
    ask_cloud(dave, 1)
    assert not over_hard(dave)

    ask_cloud(dave, 1)

    assert over_hard(dave)
    with tenant_context(dave.tenant_id):
        status = budget_status(department_id=dave.department_id)
    assert status.currency == "NTD"
    assert status.state.spent == Decimal("9.60")


def test_delivering_an_alert_again_sends_nothing_twice(dave, fiona, webhook, mailoutbox):
    with tenant_context(dave.tenant_id):
        save_costing_settings(tenant_id=dave.tenant_id, fields={"alert_webhook_url": webhook.url})
    budget(dave, hard="0.10")
    ask_cloud(dave, 1)

    with tenant_context(dave.tenant_id):
        alert_id = BudgetAlert.objects.get().pk
        first = deliver_budget_alert(alert_id=alert_id)
        second = deliver_budget_alert(alert_id=alert_id)

    assert first.emailed_to == ("fiona@acme.example",)
    assert first.webhook_status == 204
    assert second.webhook_status is None
    assert len(mailoutbox) == 1
    assert len(webhook.bodies) == 1


def test_a_failing_webhook_is_recorded_and_does_not_stop_the_email(dave, fiona, mailoutbox):
    receiver = WebhookReceiver(status=500)
    try:
        with tenant_context(dave.tenant_id):
            save_costing_settings(tenant_id=dave.tenant_id, fields={"alert_webhook_url": receiver.url})
        budget(dave, hard="0.10")
        ask_cloud(dave, 1)
        with tenant_context(dave.tenant_id):
            delivery = deliver_budget_alert(alert_id=BudgetAlert.objects.get().pk)
            alert = BudgetAlert.objects.get()
    finally:
        receiver.close()

    assert delivery.webhook_error == "HTTP 500"
    assert alert.webhook_sent_at is None
    assert len(mailoutbox) == 1


def test_one_departments_budget_never_touches_another_tenant(dave, carol):
    budget(dave, hard="0.10")
    ask_cloud(dave, 1)
    ask_cloud(carol, 3)

    assert over_hard(dave)
    assert not over_hard(carol)
    with tenant_context(carol.tenant_id):
        assert not BudgetAlert.objects.exists()


def test_questions_racing_past_the_limit_raise_exactly_one_alert(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    seed_tenant(tenant_id=acme.pk)
    member = add_member(tenant=acme, username="racer", role="employee", department_code="ENG")
    budget(member, hard=str(QUESTION_COST * 10))

    def ask_five() -> None:
        try:
            for _ in range(5):
                with tenant_context(member.tenant_id):
                    costing.meter(
                        tenant_id=member.tenant_id,
                        department_id=member.department_id,
                        user_id=None,
                        route="cloud",
                        backend="cloud",
                        model="gpt-4o-mini",
                        tokens_in=1_000_000,
                        tokens_out=0,
                        tokens_estimated=False,
                        latency_ms=5.0,
                        correlation_id=uuid.uuid4(),
                        occurred_at=timezone.now(),
                    )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask_five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with tenant_context(acme.pk):
        assert BudgetAlert.objects.count() == 1
        assert budget_status(department_id=member.department_id).state.spent == QUESTION_COST * 20
    assert over_hard(member)
