"""Celery beat entries of the site layer, merged into settings.CELERY_BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "purge-idempotency-records": {"task": "quimbi_site.tasks.idempotency_records_purge", "schedule": 3600.0},
    # Daily, at a quiet hour: removes audit events past QUIMBI_AUDIT_RETENTION_DAYS.
    "audit-events-prune": {
        "task": "quimbi_site.tasks.audit_events_prune",
        "schedule": crontab(hour=3, minute=5),
    },
}
