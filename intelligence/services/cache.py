"""Cached on-demand intelligence, keyed by customer and model version, and its invalidation."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from intelligence import interface

KEY = "intel:analysis:{version}:{customer}"


def _timeout() -> int:
    return int(getattr(settings, "QUIMBI_INTELLIGENCE_CACHE_SECONDS", 3600))


def cache_key(*, customer_id: str, version_id: int) -> str:
    return KEY.format(version=version_id, customer=customer_id)


def analysis_get(*, customer_id: str, version_id: int) -> interface.CustomerIntelligence | None:
    return cache.get(cache_key(customer_id=customer_id, version_id=version_id))


def analysis_set(*, intel: interface.CustomerIntelligence, version_id: int) -> None:
    cache.set(cache_key(customer_id=intel.customer_id, version_id=version_id), intel, _timeout())


def customers_invalidate(*, customer_ids: Iterable[str], rescore: bool = True) -> None:
    """Drop cached answers of these customers (active model) and queue their re-score."""
    from intelligence.services import registry

    ids = sorted({str(c) for c in customer_ids})
    version = registry.active_version_get()
    if not ids or version is None:
        return
    cache.delete_many([cache_key(customer_id=c, version_id=version.pk) for c in ids])
    from intelligence.models import CustomerIntelligence

    CustomerIntelligence.objects.filter(customer_id__in=ids, stale=False).update(stale=True)
    if rescore:
        from intelligence import tasks

        chunk = int(getattr(settings, "QUIMBI_RESCORE_CHUNK", 500))
        for start in range(0, len(ids), chunk):
            # robust: with the broker down the caller's write is already committed, and failing
            # it then would answer 500 for stored data; the rows are marked stale and the hourly
            # batch scoring picks them up. The failure is logged.
            _queue_after_commit(tasks.customer_rescore, ids[start : start + chunk])


def customer_invalidate(*, customer_id: str) -> None:
    customers_invalidate(customer_ids=[customer_id])


def on_customers_changed(sender, customer_ids=(), **kwargs) -> None:
    """Receiver of ingestion.interface.customers_changed."""
    customers_invalidate(customer_ids=customer_ids)


def _queue_after_commit(task, *args) -> None:
    """`task.delay(*args)` once the transaction commits; a failure to queue is logged, not raised."""

    def queue() -> None:
        task.delay(*args)

    queue.__qualname__ = f"{task.name}.delay"  # what Django's log of a failed callback names
    transaction.on_commit(queue, robust=True)
