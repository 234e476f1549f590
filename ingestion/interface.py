"""The ingestion app's public Python API: the only module other apps import.

Writers are idempotent (exactly-once per (source, external id)); readers
return frozen dataclasses or, for the intelligence app, pandas DataFrames
built in bulk (no per-row Python).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RecordError:
    index: int
    external_id: str | None
    errors: dict[str, list[str]]


@dataclass(frozen=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: tuple[RecordError, ...] = ()
    # Platform ids of customers whose data changed (their intelligence is stale).
    customer_ids: tuple[str, ...] = field(default=(), repr=False)

    @property
    def received(self) -> int:
        return self.accepted + self.duplicates + self.updated + len(self.rejected)


@dataclass(frozen=True)
class CustomerRef:
    customer_id: str
    created: bool
    merged_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerSummary:
    customer_id: str
    email: str
    name: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    external_refs: tuple[tuple[str, str], ...]  # (source, external_id)
    order_count: int
    total_spent: float


@dataclass(frozen=True)
class OrderSummary:
    order_id: str
    placed_at: datetime
    total: float
    status: str


def ingest_orders(*, source: str, records: Sequence[dict[str, Any]]) -> IngestResult:
    """Store orders exactly once per (source, external_id).

    A known order is a duplicate unless its `updated_at` is later than the stored
    one, which replaces it (lines included); a known, not newer record is not
    validated again (nothing of it is written). Inside one batch the newest
    version of a key wins, ties keep the first. Invalid records are reported in
    `rejected` and never stored. Raises IngestionError for an invalid source.
    """
    from ingestion.services import orders

    return orders.orders_ingest(source=source, records=records)


def ingest_interactions(*, source: str, records: Sequence[dict[str, Any]]) -> IngestResult:
    from ingestion.services import interactions

    return interactions.interactions_ingest(source=source, records=records)


def ingest_events(*, source: str, records: Sequence[dict[str, Any]]) -> IngestResult:
    from ingestion.services import events

    return events.events_ingest(source=source, records=records)


def sync_customer(*, source: str, data: dict[str, Any]) -> CustomerRef:
    from ingestion.services import identity

    return identity.customer_sync(source=source, data=data)


def customer_get(*, customer_id: str) -> CustomerSummary:
    """Raises ingestion.errors.CustomerNotFound. Follows merges."""
    from ingestion import selectors

    return selectors.customer_summary(customer_id=customer_id)


def customers_get(*, customer_ids: Iterable[str]) -> dict[str, CustomerSummary]:
    """`customer_get` for many at once (a fixed number of queries): `{requested id: summary}`;
    ids that name no customer are left out, merged ids give their survivor's summary."""
    from ingestion import selectors

    return selectors.customer_summaries(customer_ids=list(customer_ids))


def orders_recent(*, customer_id: str, limit: int = 5) -> list[OrderSummary]:
    """A customer's newest orders (one indexed query; a merged id reads its survivor's). An unknown
    customer has none. For profile views; analysis reads `orders_frame`."""
    from ingestion import selectors

    return selectors.orders_recent(customer_id=customer_id, limit=limit)


def customer_resolve(*, source: str, external_id: str) -> str | None:
    """The platform id for a source's customer id, or None."""
    from ingestion import selectors

    return selectors.customer_resolve(source=source, external_id=external_id)


def customer_ids(*, since: datetime | None = None) -> list[str]:
    """Ids of live (unmerged) customers, optionally only those seen since a time."""
    from ingestion import selectors

    return selectors.customer_ids(since=since)


def orders_frame(*, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per order placed before `as_of` (all when None).

    Columns: order_id (int), customer_id (str), source, placed_at (UTC),
    total, subtotal, discount_total, refunded_total (float), item_count (int),
    status, channel, currency.
    """
    from ingestion import frames

    return frames.orders_frame(as_of=as_of, customer_ids=customer_ids)


def order_lines_frame(
    *, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per order line. Columns: order_id, customer_id, placed_at, sku,
    title, category, quantity (int), unit_price, discount (float)."""
    from ingestion import frames

    return frames.order_lines_frame(as_of=as_of, customer_ids=customer_ids)


def interactions_frame(
    *, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Columns: customer_id, source, external_id, channel, kind, status, priority, occurred_at."""
    from ingestion import frames

    return frames.interactions_frame(as_of=as_of, customer_ids=customer_ids)


def events_frame(*, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Columns: customer_id, source, name, occurred_at."""
    from ingestion import frames

    return frames.events_frame(as_of=as_of, customer_ids=customer_ids)


# Sent (after commit) with `customer_ids: tuple[str, ...]` whenever ingestion
# changes customers' data, so higher layers can refresh what they derived.
customers_changed = Signal()
