"""Celery beat entries of this app, merged into settings.CELERY_BEAT_SCHEDULE."""

BEAT_SCHEDULE: dict = {
    "generation-caches-refresh": {"task": "generation.tasks.generation_caches_refresh", "schedule": 3600.0},
    "generation-logs-purge": {"task": "generation.tasks.generation_logs_purge", "schedule": 86400.0},
}
