"""Generation log and per-requester daily token budget (counted in the database)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generation.models import GenerationLog, TokenUsage


def budget_remaining(*, requester: str) -> int:
    budget = int(getattr(settings, "GENERATION_DAILY_TOKEN_BUDGET", 200_000))
    row = TokenUsage.objects.filter(requester=requester, day=timezone.now().date()).first()
    used = row.total_tokens if row else 0
    return budget - used


@transaction.atomic
def tokens_record(*, requester: str, input_tokens: int, output_tokens: int) -> None:
    """Add spent tokens to today's counter (race-free: F() increments on one row)."""
    day = timezone.now().date()
    TokenUsage.objects.get_or_create(requester=requester, day=day)
    TokenUsage.objects.filter(requester=requester, day=day).update(
        requests=F("requests") + 1,
        input_tokens=F("input_tokens") + input_tokens,
        output_tokens=F("output_tokens") + output_tokens,
        updated_at=timezone.now(),
    )


def generation_log(
    *,
    operation: str,
    backend: str,
    customer_id: str = "",
    requester: str = "",
    outcome: str = GenerationLog.Outcome.OK,
    **fields,
) -> GenerationLog:
    return GenerationLog.objects.create(
        operation=operation,
        backend=backend,
        customer_id=customer_id[:64],
        requester=requester[:80],
        outcome=outcome,
        **fields,
    )
