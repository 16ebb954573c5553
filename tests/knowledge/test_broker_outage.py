"""Work a request queues is never lost to a broker outage: with Redis away, it runs in the request instead."""

from __future__ import annotations

import pytest
from celery import Celery
from django.conf import settings as django_settings

from config.celery import app, enqueue, enqueue_after_commit
from knowledge import uploads
from knowledge.models import Document

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: the connection is refused at once


@pytest.fixture
def broker_down():
    """The project's Celery app, no longer eager, pointed at a broker nobody runs."""
    saved = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = UNREACHABLE_BROKER
    forget_connections()
    yield
    app.conf.task_always_eager, app.conf.broker_url = saved
    forget_connections()


def forget_connections() -> None:
    """Drop the app's cached connection and producer pools, so the next call connects to the broker_url set."""
    app._pool = None
    app.amqp._producer_pool = None


def test_a_task_that_cannot_be_queued_runs_inline_and_says_so(caplog):
    standalone = Celery("probe", broker=UNREACHABLE_BROKER)
    standalone.conf.broker_transport_options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    ran = []

    @standalone.task(name="probe.remember")
    def remember(value: int) -> None:
        ran.append(value)

    enqueue(remember, 7)
    assert ran == [7]
    assert "broker unavailable" in caplog.text and "probe.remember" in caplog.text


def test_queueing_waits_for_the_commit(db, django_capture_on_commit_callbacks):
    standalone = Celery("probe", broker=UNREACHABLE_BROKER)
    standalone.conf.broker_transport_options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    ran = []

    @standalone.task(name="probe.after_commit")
    def remember(value: int) -> None:
        ran.append(value)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_after_commit(remember, 3)
        assert ran == []
    assert len(callbacks) == 1 and ran == [3]


def test_an_upload_with_redis_down_is_processed_in_the_request(
    broker_down, dora, in_tenant, django_capture_on_commit_callbacks
):
    content = b"# Leave\n\nAnnual leave is 7 days after one year of service.\n"
    with in_tenant(dora.tenant), django_capture_on_commit_callbacks(execute=True):
        document, created = uploads.upload_document(tenant_id=dora.tenant_id, filename="leave.md", content=content)
    with in_tenant(dora.tenant):
        document = Document.objects.get(pk=document.pk)
        assert created and document.state == Document.State.READY
        assert document.chunks.count() == 1
