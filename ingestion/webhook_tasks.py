"""Celery tasks of the Shopify webhook path (thin: they call ingestion.webhooks).

`ingestion/tasks.py` imports this module so that workers register the tasks.
"""

from celery import shared_task
from django.db import OperationalError


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def shopify_webhook_process(delivery_pk: int) -> str:
    """Process one stored Shopify delivery. Idempotent."""
    from ingestion import webhooks

    return webhooks.webhook_delivery_process(delivery_pk=delivery_pk)


@shared_task
def shopify_webhooks_requeue() -> int:
    """Re-enqueue deliveries whose processing task was lost. Idempotent."""
    from ingestion import webhooks

    return webhooks.webhook_deliveries_requeue()
