"""Frames for the ML code: from ingestion (all or some customers) or from inline context."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ingestion import interface as ingestion

CONTEXT_CUSTOMER_ID = "context"
# Inline records are read within the limits ingestion stores (validation/fields.py): times from
# 1900 to 2199, money below 10^12, counts from 0 to 1,000,000. A value outside them, or of
# another type, counts as missing (a row without a time or total is left out), as an unreadable
# one always did: the models never see a year 0, an infinite total or a dict where text belongs.
_MIN_TIME = datetime(1900, 1, 1, tzinfo=UTC)
_MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
_MONEY_LIMIT = 10**12
_COUNT_LIMIT = 1_000_000


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

    orders = records("orders")
    n = len(orders)

    def col(name: str, default=None) -> list:
        return [o.get(name, default) for o in orders]

    order_frame = pd.DataFrame(
        {
            "order_id": range(1, n + 1),
            "customer_id": CONTEXT_CUSTOMER_ID,
            "source": "context",
            "placed_at": _times(col("placed_at")),
            "total": _numbers(col("total"), limit=_MONEY_LIMIT),
            "subtotal": _numbers(col("subtotal"), limit=_MONEY_LIMIT),
            "discount_total": _numbers(col("discount_total"), limit=_MONEY_LIMIT),
            "refunded_total": _numbers(col("refunded_total"), limit=_MONEY_LIMIT),
            "item_count": _numbers(col("item_count"), limit=_COUNT_LIMIT).fillna(1).astype(int),
            "status": _texts(col("status"), default=None),
            "channel": _texts(col("channel"), default=None),
            "currency": _texts(col("currency", "USD"), default="USD"),
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
            "quantity": line.get("quantity"),
            "unit_price": line.get("unit_price"),
            "discount": line.get("discount"),
        }
        for i, o in enumerate(orders)
        for line in (o.get("lines") if isinstance(o.get("lines"), list) else [])
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
    lines["placed_at"] = _times(lines["placed_at"])
    lines["quantity"] = _numbers(lines["quantity"], limit=_COUNT_LIMIT).fillna(1).astype(int)
    lines["unit_price"] = _numbers(lines["unit_price"], limit=_MONEY_LIMIT)
    lines["discount"] = _numbers(lines["discount"], limit=_MONEY_LIMIT).fillna(0.0)
    interactions = _timed(
        records("interactions"),
        ["customer_id", "source", "external_id", "channel", "kind", "status", "priority", "occurred_at"],
    )
    events = _timed(records("events"), ["customer_id", "source", "name", "occurred_at"])
    return {"orders": order_frame, "lines": lines, "interactions": interactions, "events": events}


def _timed(rows: list[dict], columns: list[str]):
    import pandas as pd

    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    for name in columns:
        if name != "occurred_at":
            frame[name] = _texts(frame[name], default=None)
    frame["customer_id"] = CONTEXT_CUSTOMER_ID
    frame["source"] = frame["source"].fillna("context")
    frame["occurred_at"] = _times(frame["occurred_at"])
    return frame.dropna(subset=["occurred_at"]).reset_index(drop=True)


def _times(values: Iterable[Any]):
    """ISO 8601 strings as UTC times; NaT for anything else or outside 1900-2199."""
    import pandas as pd

    text = pd.Series([v if isinstance(v, str) else None for v in values], dtype=object)
    times = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    return times.where((times >= _MIN_TIME) & (times < _MAX_TIME))


def _numbers(values: Iterable[Any], *, limit: float):
    """Numbers or numeric strings from 0 up to (not including) `limit`; NaN for anything else."""
    import pandas as pd

    # A bool is no number here (True would count as 1), as in ingestion.
    plain = [v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else None for v in values]
    numbers = pd.to_numeric(pd.Series(plain, dtype=object), errors="coerce").astype(float)
    return numbers.where((numbers >= 0) & (numbers < limit))


def _texts(values: Iterable[Any], *, default: str | None):
    """Text values as they are; `default` for anything that is not a string."""
    import pandas as pd

    return pd.Series([v if isinstance(v, str) else default for v in values], dtype=object)


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
