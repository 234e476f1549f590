from celery import shared_task

from quimbi_site import audit, idempotency


@shared_task
def idempotency_records_purge() -> int:
    """Drop idempotency records past their retention. Idempotent."""
    return idempotency.records_purge()


@shared_task(acks_late=True)
def audit_events_prune() -> int:
    """Drop audit events past QUIMBI_AUDIT_RETENTION_DAYS. Idempotent: a redo finds less to delete."""
    with audit.audit_actor("task:audit_events_prune"):
        return audit.audit_events_prune()
