"""Celery tasks of the ingestion app (thin: they call one service)."""

from celery import shared_task
from django.db import OperationalError

from ingestion import webhook_tasks  # noqa: F401  (registers the Shopify webhook tasks)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def ingest_batch_task(kind: str, source: str, records: list) -> dict:
    """Ingest one large batch. Idempotent: re-running it finds every record already stored."""
    from ingestion.services import files

    try:
        write = files.writer(kind)
    except KeyError:
        raise ValueError(f"Unknown kind {kind!r}.") from None
    result = write(source=source, records=records, via="task")
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "updated": result.updated,
        "rejected": len(result.rejected),
    }
