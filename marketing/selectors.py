"""Marketing reads: campaign results, snapshots."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from marketing.models import Campaign, OutboxMessage, SegmentSnapshot


@dataclass(frozen=True)
class VariantDelivery:
    variant_id: int | None
    variant: str
    counts: dict[str, int]  # status -> messages


@dataclass(frozen=True)
class CampaignResults:
    campaign_id: int
    status: str
    total: int
    counts: dict[str, int]  # status -> messages
    suppressed_reasons: dict[str, int]
    variants: tuple[VariantDelivery, ...]
    ab_test: dict | None  # the A/B test's last evaluation, if any


def campaign_results(*, campaign: Campaign) -> CampaignResults:
    """Delivery counts per status, suppression reason and variant (three grouped queries)."""
    outbox = OutboxMessage.objects.filter(campaign=campaign, enrollment__isnull=True)
    counts = {row["status"]: row["n"] for row in outbox.values("status").annotate(n=Count("id")).order_by()}
    reasons = {
        row["suppressed_reason"]: row["n"]
        for row in outbox.filter(status=OutboxMessage.Status.SUPPRESSED)
        .values("suppressed_reason")
        .annotate(n=Count("id"))
        .order_by()
    }
    per_variant: dict[int | None, dict[str, int]] = {v.pk: {} for v in campaign.variants.all()}
    for row in outbox.values("variant_id", "status").annotate(n=Count("id")).order_by():
        per_variant.setdefault(row["variant_id"], {})[row["status"]] = row["n"]
    names = dict(campaign.variants.values_list("pk", "name"))
    ab_test = getattr(campaign, "ab_test", None)
    return CampaignResults(
        campaign_id=campaign.pk,
        status=campaign.status,
        total=sum(counts.values()),
        counts=counts,
        suppressed_reasons=reasons,
        variants=tuple(
            VariantDelivery(variant_id=vid, variant=names.get(vid, "(deleted)"), counts=c)
            for vid, c in per_variant.items()
        ),
        ab_test=ab_test.last_result if ab_test and ab_test.last_result else None,
    )


def snapshot_latest_pair(*, segment_id: int) -> tuple[SegmentSnapshot, SegmentSnapshot] | None:
    """(older, newer): the two most recent snapshots of a segment, or None with fewer than two."""
    latest = list(SegmentSnapshot.objects.filter(segment_id=segment_id).order_by("-taken_at", "-id")[:2])
    return (latest[1], latest[0]) if len(latest) == 2 else None


def snapshot_previous(*, snapshot: SegmentSnapshot) -> SegmentSnapshot | None:
    """The segment's snapshot taken just before this one."""
    return (
        SegmentSnapshot.objects.filter(segment_id=snapshot.segment_id)
        .filter(Q(taken_at__lt=snapshot.taken_at) | Q(taken_at=snapshot.taken_at, id__lt=snapshot.pk))
        .order_by("-taken_at", "-id")
        .first()
    )
