"""Real records for the data API tests: CDNOW purchases and Bitext support tickets."""

import csv
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from pathlib import Path

import pytest
from django.conf import settings

SHARED_DATA = Path(settings.BASE_DIR).parent / "shared" / "data"


def _path(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


@cache
def _cdnow_rows(n: int) -> tuple:
    with _path("cdnow", "CDNOW_sample.txt").open() as fh:
        return tuple(tuple(line.split()) for line in islice(fh, n))


def cdnow_orders(n: int) -> list[dict]:
    """Order records for the first `n` CDNOW sample purchases (customer = original id)."""
    records = []
    for i, (customer, _sample_id, day, qty, dollars) in enumerate(_cdnow_rows(n)):
        placed = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
        records.append(
            {
                "external_id": f"cdnow-{customer}-{day}-{i}",
                "customer_id": customer,
                "placed_at": placed.isoformat(),
                "total": dollars,
                "currency": "USD",
                "channel": "web",
                "lines": [
                    {
                        "sku": "CD",
                        "title": "Compact disc",
                        "category": "music",
                        "quantity": int(qty),
                        "unit_price": f"{float(dollars) / max(int(qty), 1):.2f}",
                    }
                ],
            }
        )
    return records


def cdnow_events(n: int) -> list[dict]:
    return [
        {
            "message_id": f"cdnow-evt-{customer}-{day}-{i}",
            "customer_id": customer,
            "name": "Placed Order",
            "occurred_at": datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC).isoformat(),
            "properties": {"quantity": int(qty), "revenue": float(dollars)},
        }
        for i, (customer, _sample_id, day, qty, dollars) in enumerate(_cdnow_rows(n))
    ]


@cache
def _tickets(n: int) -> tuple:
    path = _path("support_tickets", "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    with path.open(newline="") as fh:
        return tuple(islice(csv.DictReader(fh), n))


def ticket_interactions(n: int) -> list[dict]:
    """Interaction records for the first `n` Bitext support requests."""
    return [
        {
            "external_id": f"bitext-{i}",
            "email": f"customer{i % 7}@example.com",
            "kind": "ticket",
            "channel": "chat",
            "status": "open",
            "occurred_at": f"2026-01-{1 + i % 28:02d}T09:30:00+00:00",
            "metadata": {"intent": row["intent"], "category": row["category"], "text": row["instruction"]},
        }
        for i, row in enumerate(_tickets(n))
    ]
