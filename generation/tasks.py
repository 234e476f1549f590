"""Celery entry points: thin and idempotent."""

from celery import shared_task
from django.db import OperationalError

from generation.services import maintenance


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def generation_caches_refresh() -> int:
    """Recompute the co-purchase matrix and send-time prior. Idempotent."""
    return maintenance.caches_refresh()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def generation_logs_purge(days: int = 90) -> int:
    """Delete generation logs and token counters older than `days`. Idempotent."""
    return maintenance.logs_purge(days=days)
