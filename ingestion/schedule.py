"""Celery beat entries of this app, merged into settings.CELERY_BEAT_SCHEDULE."""

BEAT_SCHEDULE: dict = {
    # Re-queue stored Shopify deliveries whose processing task was lost.
    "shopify-webhooks-requeue": {
        "task": "ingestion.webhook_tasks.shopify_webhooks_requeue",
        "schedule": 300.0,
    },
}
