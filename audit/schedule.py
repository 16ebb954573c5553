"""Audit's entries for CELERY_BEAT_SCHEDULE (merged in config/settings.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Each tenant's chain head is signed hourly, so a rewrite is caught at most an hour after the fact.
    "audit-checkpoint-all-tenants": {
        "task": "audit.tasks.checkpoint_all_tenants",
        "schedule": 3600.0,
    },
    # A nightly walk of every chain, at a quiet hour; the result is shown on the auditor's page.
    "audit-verify-all-tenants": {
        "task": "audit.tasks.verify_all_tenants",
        "schedule": crontab(hour=3, minute=30),
    },
}
