"""Marketing test fixtures: real CDNOW customers in ingestion, and a stand-in for the
intelligence/generation calls where a test needs to control them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from generation import interface as generation
from ingestion import interface as ingestion
from intelligence import interface as intelligence

CDNOW = Path("/work/shared/data/cdnow/CDNOW_sample.txt")


def cdnow_records(*, customers: int, offset: int = 0) -> list[dict]:
    """Real CDNOW purchase lines of `customers` customers (by sample id), as order records."""
    by_customer: dict[str, list[list[str]]] = defaultdict(list)
    with CDNOW.open() as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 5:
                by_customer[parts[1]].append(parts)
    chosen = sorted(by_customer)[offset : offset + customers]
    records = []
    for sample_id in chosen:
        for n, (_, sid, day, qty, dollars) in enumerate(by_customer[sample_id]):
            records.append(
                {
                    "external_id": f"{sid}-{day}-{n}",
                    "customer_id": f"cdnow-{sid}",
                    "email": f"cdnow{sid}@example.org",
                    "placed_at": f"{day[:4]}-{day[4:6]}-{day[6:]}T12:00:00Z",
                    "total": dollars,
                    "item_count": int(qty),
                }
            )
    return records


def ingest_cdnow(*, customers: int, offset: int = 0) -> list[str]:
    """Ingest real CDNOW orders; the platform ids of those customers, in a stable order."""
    result = ingestion.ingest_orders(
        source="cdnow", records=cdnow_records(customers=customers, offset=offset)
    )
    assert not result.rejected, result.rejected
    return sorted(set(result.customer_ids), key=int)


@pytest.fixture
def shoppers(db) -> list[str]:
    return ingest_cdnow(customers=24)


@dataclass
class FakePlatform:
    """Answers for the intelligence/generation calls; records what was asked."""

    audience: list[str] = field(default_factory=list)
    bands: dict[str, str] = field(default_factory=dict)
    queries: list[dict] = field(default_factory=list)
    analyze_calls: int = 0
    timing_calls: int = 0
    timing_with_profile: int = 0
    generate_calls: int = 0
    # The next 09:00 UTC at least a day ahead, as a timing model would answer.
    send_at: datetime = field(
        default_factory=lambda: (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
    )

    def customers_query(self, *, filters, limit=100):
        self.queries.append(filters)
        ids = self.audience
        cond = filters.get("all", [{}])[0]
        if cond.get("field") == "risk_band":
            ids = [c for c, band in self.bands.items() if band in cond["value"]]
        return intelligence.CustomerQueryResult(count=len(ids), customer_ids=tuple(ids[:limit]))

    def analyze_customer(self, *, customer_id=None, context=None):
        self.analyze_calls += 1
        return {"customer_id": customer_id, "risk_band": self.bands.get(customer_id, "unknown")}

    def optimize_timing(self, *, customer_profile=None, customer_id=None, message_type="email"):
        self.timing_calls += 1
        self.timing_with_profile += customer_profile is not None
        return generation.SendTimeRecommendation(
            weekday=self.send_at.weekday(),
            weekday_name=self.send_at.strftime("%A"),
            hour=self.send_at.hour,
            next_send_at=self.send_at,
            confidence="medium",
            reason="test",
        )

    def generate_message(self, *, customer_profile=None, customer_id=None, context=None):
        customer_id = customer_profile["customer_id"] if customer_profile else customer_id
        self.generate_calls += 1
        return generation.GeneratedMessage(
            subject=f"Come back, customer {customer_id}",
            body=f"A note written for {customer_id} ({context['goal']}).",
            notes="",
            goal=context["goal"],
            channel=context["channel"],
            tone=context["constraints"]["tone"],
            backend="offline",
            model="test",
        )


@pytest.fixture
def platform(monkeypatch) -> FakePlatform:
    fake = FakePlatform()
    monkeypatch.setattr(intelligence, "customers_query", fake.customers_query)
    monkeypatch.setattr(intelligence, "analyze_customer", fake.analyze_customer)
    monkeypatch.setattr(generation, "optimize_timing", fake.optimize_timing)
    monkeypatch.setattr(generation, "generate_message", fake.generate_message)
    return fake


@pytest.fixture
def after_send(platform) -> datetime:
    """A moment when every message of the fake platform is due."""
    return platform.send_at + timedelta(minutes=1)
