"""A/B tests: conversion per variant from the platform's orders, z-test, winner when significant."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ingestion import interface as ingestion
from marketing.errors import CampaignStateConflict, InvalidCampaign
from marketing.models import ABTest, Campaign, OutboxMessage
from marketing.services import stats


@transaction.atomic
def abtest_create(
    *, campaign: Campaign, name: str = "", conversion_window_days: int = 14, alpha: float = 0.05
) -> ABTest:
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise CampaignStateConflict("An A/B test must exist before the campaign is sent.")
    if hasattr(campaign, "ab_test"):
        raise CampaignStateConflict("The campaign already has an A/B test.")
    if campaign.variants.count() < 2:
        raise InvalidCampaign("An A/B test needs a campaign with at least two variants.")
    if not 0 < alpha < 1 or conversion_window_days < 1:
        raise InvalidCampaign("alpha is in (0, 1) and the window at least one day.")
    return ABTest.objects.create(
        campaign=campaign,
        name=name or f"{campaign.name} A/B",
        conversion_window_days=conversion_window_days,
        alpha=alpha,
    )


@dataclass(frozen=True)
class VariantResult:
    variant_id: int
    variant: str
    recipients: int
    conversions: int
    conversion_rate: float
    # Wilson interval of the conversion rate at the test's confidence (1 - alpha); None without sends.
    ci_low: float | None
    ci_high: float | None
    z: float | None  # against the control (the first variant); None for the control
    p_value: float | None
    test: str | None  # "z", or "fisher" when the counts are too small for the z-test
    significant: bool  # p_value below alpha shared out over the treatments (Bonferroni)


@dataclass(frozen=True)
class ABTestResult:
    ab_test_id: int
    campaign_id: int
    conversion_window_days: int
    alpha: float
    control_variant_id: int
    variants: tuple[VariantResult, ...]
    winner_variant_id: int | None
    winner: str | None
    complete: bool  # every recipient's window has closed
    evaluated_at: datetime


def abtest_evaluate(*, ab_test: ABTest, now: datetime | None = None) -> ABTestResult:
    """Compute and store the result. Conversion: an order in (sent_at, sent_at + window]."""
    now = now or timezone.now()
    variants = list(ab_test.campaign.variants.order_by("id"))
    sends = list(
        OutboxMessage.objects.filter(
            campaign_id=ab_test.campaign_id, enrollment__isnull=True, status=OutboxMessage.Status.SENT
        ).values_list("customer_id", "variant_id", "sent_at")
    )
    converted = _converted(sends=sends, window=timedelta(days=ab_test.conversion_window_days))
    counts = {v.pk: [0, 0] for v in variants}
    for customer_id, variant_id, _ in sends:
        if variant_id in counts:
            counts[variant_id][0] += 1
            counts[variant_id][1] += customer_id in converted
    control = variants[0]
    n_c, x_c = counts[control.pk]
    # Each treatment is compared with the control: k-1 tests, so alpha is shared out among them
    # (Bonferroni), or an A/B/n test would find a "winner" by chance far more often than alpha.
    per_test_alpha = ab_test.alpha / max(1, len(variants) - 1)
    results = []
    for variant in variants:
        n, x = counts[variant.pk]
        test = (
            None
            if variant is control
            else stats.proportions_compare(successes_a=x_c, n_a=n_c, successes_b=x, n_b=n)
        )
        interval = stats.wilson_interval(successes=x, n=n, confidence=1 - ab_test.alpha)
        results.append(
            VariantResult(
                variant_id=variant.pk,
                variant=variant.name,
                recipients=n,
                conversions=x,
                conversion_rate=x / n if n else 0.0,
                ci_low=interval[0] if interval else None,
                ci_high=interval[1] if interval else None,
                z=test.z if test else None,
                p_value=test.p_value if test else None,
                test=test.method if test else None,
                significant=bool(test and test.p_value < per_test_alpha),
            )
        )
    winner = _winner(results)
    window_end = max((s[2] for s in sends), default=now) + timedelta(days=ab_test.conversion_window_days)
    result = ABTestResult(
        ab_test_id=ab_test.pk,
        campaign_id=ab_test.campaign_id,
        conversion_window_days=ab_test.conversion_window_days,
        alpha=ab_test.alpha,
        control_variant_id=control.pk,
        variants=tuple(results),
        winner_variant_id=winner.variant_id if winner else None,
        winner=winner.variant if winner else None,
        complete=bool(sends) and now >= window_end,
        evaluated_at=now,
    )
    ab_test.winner_id = result.winner_variant_id
    ab_test.evaluated_at = now
    ab_test.last_result = _jsonable(result)
    ab_test.save(update_fields=["winner", "evaluated_at", "last_result"])
    return result


def _converted(*, sends: list[tuple[str, int, datetime]], window: timedelta) -> set[str]:
    """Customers with an order within the window after their send: one platform read."""
    if not sends:
        return set()
    import pandas as pd

    orders = ingestion.orders_frame(customer_ids=[s[0] for s in sends])
    if orders.empty:
        return set()
    sent = pd.DataFrame(sends, columns=["customer_id", "variant_id", "sent_at"])
    sent["sent_at"] = pd.to_datetime(sent["sent_at"], utc=True)
    orders = orders[["customer_id", "placed_at"]].astype({"customer_id": str})
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True)
    joined = orders.merge(sent, on="customer_id")
    hit = (joined["placed_at"] > joined["sent_at"]) & (joined["placed_at"] <= joined["sent_at"] + window)
    return set(joined.loc[hit, "customer_id"])


def _winner(results: list[VariantResult]) -> VariantResult | None:
    """The best treatment that beats the control significantly; or the control if it beats all of them."""
    control, treatments = results[0], results[1:]
    better = [r for r in treatments if r.significant and r.conversion_rate > control.conversion_rate]
    if better:
        return max(better, key=lambda r: r.conversion_rate)
    if treatments and all(r.significant and r.conversion_rate < control.conversion_rate for r in treatments):
        return control
    return None


def _jsonable(result: ABTestResult) -> dict:
    data = asdict(result)
    data["evaluated_at"] = result.evaluated_at.isoformat()
    return data
