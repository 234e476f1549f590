from celery import shared_task

from quimbi_site import idempotency


@shared_task
def idempotency_records_purge() -> int:
    """Drop idempotency records past their retention. Idempotent."""
    return idempotency.records_purge()
