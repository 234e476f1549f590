"""Celery beat entries of this app, merged into settings.CELERY_BEAT_SCHEDULE."""

BEAT_SCHEDULE: dict = {
    "support-sla-check": {"task": "support.tasks.sla_check", "schedule": 60.0},
    "support-followups-catch-up": {"task": "support.tasks.followups_catch_up", "schedule": 300.0},
}
