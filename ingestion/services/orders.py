"""Orders and their lines, stored exactly once per (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ingestion.models import Order, OrderLine
from ingestion.services import _db
from ingestion.services.pipeline import Kind, ingest
from ingestion.services.validation import order_clean

# Columns written per order after source, external_id and customer_id (also used by bench/ingest.py).
ORDER_FIELDS = (
    "placed_at",
    "currency",
    "total",
    "subtotal",
    "discount_total",
    "refunded_total",
    "item_count",
    "status",
    "cancelled_at",
    "channel",
    "source_updated_at",
)
ORDER_STAMP_FIELDS = ("ingested_at", "updated_at")  # the batch's time
LINE_FIELDS = ("order_id", "sku", "product_id", "title", "category", "quantity", "unit_price", "discount")


def _order_row(r: dict, now: datetime) -> tuple:
    return (
        r["placed_at"],
        r["currency"],
        r["total"],
        r["subtotal"],
        r["discount_total"],
        r["refunded_total"],
        r["item_count"],
        r["status"],
        r["cancelled_at"],
        r["channel"],
        r["updated_at"],
    )


def _lines_insert(order_ids: list[int], records: list[dict]) -> None:
    rows = [(oid, *line) for oid, r in zip(order_ids, records, strict=True) for line in r["lines"]]
    _db.insert_rows(OrderLine, LINE_FIELDS, rows, return_ids=False)


def _lines_replace(order_ids: list[int], records: list[dict]) -> None:
    OrderLine.objects.filter(order_id__in=order_ids).delete()
    _lines_insert(order_ids, records)


ORDERS = Kind(
    name="orders",
    model=Order,
    key_column="external_id",
    id_key="external_id",
    cleaner=order_clean,
    time_field="placed_at",
    versioned=True,
    insert_fields=ORDER_FIELDS,
    row=_order_row,
    update_fields=(*ORDER_FIELDS, "updated_at"),
    stamp_fields=ORDER_STAMP_FIELDS,
    after_insert=_lines_insert,
    after_update=_lines_replace,
)


def orders_ingest(*, source: str, records: Sequence[dict[str, Any]], via: str = "api", audit: bool = True):
    """Store new orders, apply newer versions, skip duplicates and stale versions."""
    return ingest(ORDERS, source=source, records=records, via=via, audit=audit)
