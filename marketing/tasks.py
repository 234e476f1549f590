"""Celery entry points: thin, idempotent, ids and primitives only."""

from celery import shared_task
from django.db import OperationalError

from marketing.models import Campaign, Segment
from marketing.services import campaigns, delivery, journeys, segments


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def campaign_send(campaign_id: int) -> dict:
    """Write a campaign's outbox (retry-safe: nobody gets a second message), then deliver what is due."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status in (Campaign.Status.SENT, Campaign.Status.CANCELLED):
        return {"campaign_id": campaign_id, "skipped": f"already {campaign.status}"}
    report = campaigns.campaign_send(campaign=campaign)
    outbox_deliver.delay_on_commit()
    return {"campaign_id": campaign_id, "queued": report.queued, "suppressed": report.suppressed}


@shared_task
def campaigns_send_due() -> int:
    due = campaigns.campaigns_send_due()
    for campaign_id in due:
        campaign_send.delay_on_commit(campaign_id)
    return len(due)


@shared_task
def campaigns_send_stalled() -> int:
    """Queue again the sends owed but stalled (never queued while the broker was down, or died)."""
    stalled = campaigns.campaigns_send_stalled()
    for campaign_id in stalled:
        campaign_send.delay_on_commit(campaign_id)
    return len(stalled)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def outbox_deliver() -> int:
    """Deliver due outbox messages (each at most once)."""
    return delivery.outbox_deliver_due()


@shared_task
def journeys_advance() -> dict:
    enrolled = journeys.journeys_enroll_all()
    report = journeys.enrollments_advance()
    return {"enrolled": enrolled, "advanced": report.advanced, "messages": report.messages}


@shared_task
def segments_snapshot() -> int:
    return segments.segments_snapshot_all()


@shared_task
def segment_snapshot(segment_id: int) -> int:
    return segments.segment_snapshot_take(segment=Segment.objects.get(pk=segment_id)).pk
