"""The Celery application: Redis-backed when REDIS_URL is set, eager in-process otherwise."""

import logging
import os

from celery import Celery, Task
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("lantern")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue(task: Task, *args: object) -> None:
    """Queue the task; when the broker cannot take it (Redis down), run it here and now instead.

    A request that queues work must not fail because Redis is away: running the task inline makes the
    request slower, never wrong, and nothing waits for a broker that may not come back soon."""
    try:
        task.apply_async(args=args, retry=False)
    except OperationalError as error:
        logger.warning("broker unavailable (%s): running %s inline", error, task.name)
        task.apply(args=args, throw=False)


def enqueue_after_commit(task: Task, *args: object) -> None:
    """Queue the task once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue(task, *args))
