"""Cached on-demand intelligence, keyed by customer and model version, and its invalidation.

A cached answer holds the stamp of the stored row it was built from (the row's computed_at,
new on every scoring run, batch or per-customer, and its stale flag, set when new data
arrives). A read compares it with the row's current stamp, one narrow query, so an answer
never outlives a scoring run or new data in any process: deleting keys cannot do that with
a per-process (local-memory) cache, where a run in the CLI or a worker never reaches the web
server's cache."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from intelligence import interface
from intelligence.models import CustomerIntelligence

KEY = "intel:analysis:{version}:{customer}"
Stamp = tuple[datetime, bool] | None  # (computed_at, stale) of the stored row; None without one


def _timeout() -> int:
    return int(getattr(settings, "QUIMBI_INTELLIGENCE_CACHE_SECONDS", 3600))


def cache_key(*, customer_id: str, version_id: int) -> str:
    return KEY.format(version=version_id, customer=customer_id)


def row_stamp(row: CustomerIntelligence | None) -> Stamp:
    return (row.computed_at, row.stale) if row is not None else None


def stored_stamp(*, customer_id: str) -> Stamp:
    """The stamp of the customer's stored row as it is now (the unique customer_id index)."""
    rows = CustomerIntelligence.objects.filter(customer_id=customer_id)
    return rows.values_list("computed_at", "stale").first()


def analysis_get(*, customer_id: str, version_id: int) -> interface.CustomerIntelligence | None:
    """The cached answer while the stored row it was built from is unchanged; else None."""
    entry = cache.get(cache_key(customer_id=customer_id, version_id=version_id))
    if not isinstance(entry, tuple):
        return None  # nothing cached (no query: the caller reads the row anyway), or an old bare answer
    stamp, intel = entry
    return intel if stamp == stored_stamp(customer_id=customer_id) else None


def analysis_set(*, intel: interface.CustomerIntelligence, version_id: int, stamp: Stamp) -> None:
    """Cache `intel` with the stamp of the stored row it was built from, read before building:
    a scoring run that commits meanwhile changes the row's stamp, so the next read rebuilds."""
    key = cache_key(customer_id=intel.customer_id, version_id=version_id)
    cache.set(key, (stamp, intel), _timeout())


def customers_invalidate(*, customer_ids: Iterable[str], rescore: bool = True) -> None:
    """Drop cached answers of these customers (active model) and queue their re-score."""
    from intelligence.services import registry

    ids = sorted({str(c) for c in customer_ids})
    version = registry.active_version_get()
    if not ids or version is None:
        return
    cache.delete_many([cache_key(customer_id=c, version_id=version.pk) for c in ids])
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
