"""Load the CDNOW purchase file into the ingestion frame shapes (tests and benchmark)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from intelligence.ml.features import EVENT_COLUMNS, INTERACTION_COLUMNS, LINE_COLUMNS, empty_frame

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "shared" / "data" / "cdnow" / "CDNOW_sample.txt"


def load_cdnow_frames(path: str | Path = DEFAULT_PATH) -> dict[str, pd.DataFrame]:
    """orders (one per line; customer = original id), and empty lines/interactions/events."""
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "quantity", "amount"],
        dtype={"customer_id": str, "sample_id": str, "date": str},
    )
    orders = pd.DataFrame(
        {
            "order_id": range(1, len(raw) + 1),
            "customer_id": raw["customer_id"].astype(str),
            "source": "cdnow",
            "placed_at": pd.to_datetime(raw["date"], format="%Y%m%d").dt.tz_localize("UTC"),
            "total": raw["amount"].astype(float),
            "subtotal": float("nan"),
            "discount_total": float("nan"),
            "refunded_total": float("nan"),
            "item_count": raw["quantity"].astype(int),
            "status": None,
            "channel": None,
            "currency": "USD",
        }
    )
    return {
        "orders": orders,
        "lines": empty_frame(LINE_COLUMNS),
        "interactions": empty_frame(INTERACTION_COLUMNS),
        "events": empty_frame(EVENT_COLUMNS),
    }
