"""Knowledge's entries for CELERY_BEAT_SCHEDULE (merged in config/settings.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Hourly: a tenant that grew past the thresholds gets its own vector index and lexical snapshot, and the
    # snapshots take in the past hour's new terms.
    "knowledge-refresh-large-tenants": {
        "task": "knowledge.tasks.refresh_large_tenants",
        "schedule": crontab(minute=40),
    },
}
