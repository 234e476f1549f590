"""Celery beat entries of this app, merged into settings.CELERY_BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "intelligence-train-nightly": {
        "task": "intelligence.models_train",
        "schedule": crontab(hour=2, minute=15),
    },
    "intelligence-score-hourly": {"task": "intelligence.customers_score_all", "schedule": crontab(minute=40)},
}
