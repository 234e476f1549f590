"""Celery beat entries of this app, merged into settings.CELERY_BEAT_SCHEDULE."""

BEAT_SCHEDULE: dict = {
    "marketing-campaigns-send-due": {"task": "marketing.tasks.campaigns_send_due", "schedule": 60.0},
    "marketing-campaigns-send-stalled": {"task": "marketing.tasks.campaigns_send_stalled", "schedule": 300.0},
    "marketing-outbox-deliver": {"task": "marketing.tasks.outbox_deliver", "schedule": 60.0},
    "marketing-journeys-advance": {"task": "marketing.tasks.journeys_advance", "schedule": 900.0},
    "marketing-segments-snapshot": {"task": "marketing.tasks.segments_snapshot", "schedule": 86400.0},
}
