"""Frames for the ML code: from ingestion (all or some customers) or from inline context."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ingestion import interface as ingestion

CONTEXT_CUSTOMER_ID = "context"


def as_of_datetime(as_of: date) -> datetime:
    """Orders placed before midnight UTC at the start of `as_of` count (as_of is exclusive)."""
    return datetime.combine(as_of, time.min, tzinfo=UTC)


def frames_load(*, as_of: date | None, customer_ids: Iterable[str] | None = None) -> dict:
    cutoff = as_of_datetime(as_of) if as_of else None
    ids = list(customer_ids) if customer_ids is not None else None
    return {
        "orders": ingestion.orders_frame(as_of=cutoff, customer_ids=ids),
        "lines": ingestion.order_lines_frame(as_of=cutoff, customer_ids=ids),
        "interactions": ingestion.interactions_frame(as_of=cutoff, customer_ids=ids),
        "events": ingestion.events_frame(as_of=cutoff, customer_ids=ids),
    }


def latest_data_date(orders) -> date | None:
    if not len(orders):
        return None
    import pandas as pd

    return pd.to_datetime(orders["placed_at"], utc=True).max().date()


def default_as_of(*, orders=None) -> date:
    """Tomorrow (everything so far counts), or the day after the last order if the data is older."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    if orders is None:
        orders = ingestion.orders_frame()
    last = latest_data_date(orders)
    if last is None:
        return tomorrow
    return min(tomorrow, last + timedelta(days=1))


def frames_from_context(*, context: dict[str, Any]) -> dict:
    """Frames in ingestion's shapes built from inline records (nothing is stored)."""
    import pandas as pd

    def records(name: str) -> list[dict]:
        value = context.get(name) or []
        return [r for r in value if isinstance(r, dict)]

    orders = pd.DataFrame(records("orders"))
    n = len(orders)

    def col(frame, name, default):
        return frame[name] if name in frame.columns else pd.Series([default] * len(frame), dtype=object)

    order_frame = pd.DataFrame(
        {
            "order_id": range(1, n + 1),
            "customer_id": CONTEXT_CUSTOMER_ID,
            "source": "context",
            "placed_at": pd.to_datetime(
                col(orders, "placed_at", None), utc=True, errors="coerce", format="mixed"
            ),
            "total": pd.to_numeric(col(orders, "total", None), errors="coerce"),
            "subtotal": pd.to_numeric(col(orders, "subtotal", None), errors="coerce"),
            "discount_total": pd.to_numeric(col(orders, "discount_total", None), errors="coerce"),
            "refunded_total": pd.to_numeric(col(orders, "refunded_total", None), errors="coerce"),
            "item_count": pd.to_numeric(col(orders, "item_count", 1), errors="coerce").fillna(1).astype(int),
            "status": col(orders, "status", None).astype(object),
            "channel": col(orders, "channel", None).astype(object),
            "currency": col(orders, "currency", "USD").astype(object),
        }
    )
    order_frame = order_frame.dropna(subset=["placed_at", "total"]).reset_index(drop=True)
    line_rows = [
        {
            "order_id": i + 1,
            "customer_id": CONTEXT_CUSTOMER_ID,
            "placed_at": o.get("placed_at"),
            "sku": str(line.get("sku") or ""),
            "title": str(line.get("title") or ""),
            "category": str(line.get("category") or ""),
            "quantity": line.get("quantity") or 1,
            "unit_price": line.get("unit_price"),
            "discount": line.get("discount") or 0.0,
        }
        for i, o in enumerate(records("orders"))
        for line in (o.get("lines") or [])
        if isinstance(line, dict)
    ]
    lines = pd.DataFrame(
        line_rows,
        columns=[
            "order_id",
            "customer_id",
            "placed_at",
            "sku",
            "title",
            "category",
            "quantity",
            "unit_price",
            "discount",
        ],
    )
    lines["placed_at"] = pd.to_datetime(lines["placed_at"], utc=True, errors="coerce", format="mixed")
    lines["quantity"] = pd.to_numeric(lines["quantity"], errors="coerce").fillna(1).astype(int)
    lines["unit_price"] = pd.to_numeric(lines["unit_price"], errors="coerce").astype(float)
    lines["discount"] = pd.to_numeric(lines["discount"], errors="coerce").fillna(0.0).astype(float)
    interactions = _timed(
        records("interactions"),
        ["customer_id", "source", "external_id", "channel", "kind", "status", "priority", "occurred_at"],
    )
    events = _timed(records("events"), ["customer_id", "source", "name", "occurred_at"])
    return {"orders": order_frame, "lines": lines, "interactions": interactions, "events": events}


def _timed(rows: list[dict], columns: list[str]):
    import pandas as pd

    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    frame["customer_id"] = CONTEXT_CUSTOMER_ID
    frame["source"] = frame["source"].fillna("context")
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True, errors="coerce", format="mixed")
    return frame.dropna(subset=["occurred_at"]).reset_index(drop=True)


def frames_before(*, data: dict, as_of: date) -> dict:
    """The same frames restricted to rows before as_of."""
    import pandas as pd

    cutoff = pd.Timestamp(as_of_datetime(as_of))
    time_column = {
        "orders": "placed_at",
        "lines": "placed_at",
        "interactions": "occurred_at",
        "events": "occurred_at",
    }
    out = {}
    for name, frame in data.items():
        times = pd.to_datetime(frame[time_column[name]], utc=True) if len(frame) else None
        # Usually nothing is as late as as_of: then the frame is kept, not copied row by row.
        out[name] = frame if times is None or times.max() < cutoff else frame.loc[times < cutoff]
    return out
