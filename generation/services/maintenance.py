"""Periodic upkeep: warm the shared caches, purge old logs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from generation.models import GenerationLog, TokenUsage
from generation.services import content, timing


def caches_refresh() -> int:
    """Recompute the co-purchase matrix and the population send-time pattern; items in the matrix."""
    model = content.copurchase_matrix(refresh=True)
    from django.core.cache import cache

    cache.delete("generation:timing:population:v1")
    timing.population_pattern()
    return 0 if model is None else len(model.items)


def logs_purge(*, days: int = 90) -> int:
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = GenerationLog.objects.filter(created_at__lt=cutoff).delete()
    TokenUsage.objects.filter(day__lt=cutoff.date()).delete()
    return deleted
