"""Costing's entries for CELERY_BEAT_SCHEDULE (merged in config/settings.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Hourly and idempotent: a missed run is caught up by the next; yesterday is complete from 00:20 on.
    "costing-roll-up-all-tenants": {
        "task": "costing.tasks.roll_up_all_tenants",
        "schedule": crontab(minute=20),
    },
}
