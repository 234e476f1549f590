"""Idempotency records: begin, complete, abandon (used by the middleware)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from quimbi_site.models import IdempotencyRecord

# A request still "in flight" after this long died without cleaning up
# (worker killed, database dropped): a retry may take the key over.
STALE_IN_FLIGHT = timedelta(minutes=2)


def record_begin(*, owner: str, key: str, fingerprint: str, path: str) -> tuple[IdempotencyRecord, bool]:
    """Claim the key, or return the existing record. Raises IntegrityError on a race."""
    now = timezone.now()
    expired_before = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if existing is not None:
        stale = existing.in_flight and existing.created_at < now - STALE_IN_FLIGHT
        if existing.created_at >= expired_before and not stale:
            return existing, False
        # Expired keys run as new requests (documented in README).
        IdempotencyRecord.objects.filter(pk=existing.pk).delete()
    with transaction.atomic():
        record = IdempotencyRecord.objects.create(
            owner=owner, key=key, request_fingerprint=fingerprint, path=path
        )
    return record, True


def record_complete(*, record: IdempotencyRecord, response) -> None:
    record.status_code = response.status_code
    record.response_body = bytes(response.content)
    record.response_content_type = response.get("Content-Type", "application/json")
    record.completed_at = timezone.now()
    record.save(update_fields=["status_code", "response_body", "response_content_type", "completed_at"])


def record_abandon(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def records_purge(*, older_than_hours: int | None = None) -> int:
    hours = older_than_hours or settings.IDEMPOTENCY_KEY_TTL_HOURS
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - timedelta(hours=hours)
    ).delete()
    return deleted
