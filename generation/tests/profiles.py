"""Real customer profiles for tests, computed from the CDNOW purchase histories.

Until the intelligence app scores stored customers, tests build
CustomerIntelligence objects from CDNOW's real histories: order counts, spend,
recency and inter-purchase gaps are the customers' own; churn probability is
the simple recency-vs-usual-gap rule stated in `_churn`, predicted value a
naive run-rate (spend per day x 365 x (1 - churn)).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from intelligence.interface import (
    AxisLabel,
    ChurnPrediction,
    CustomerDNA,
    CustomerIntelligence,
    Factor,
    HistoricStats,
    LTVForecast,
)

CDNOW = Path("/work/shared/data/cdnow/CDNOW_sample.txt")
AS_OF = date(1998, 7, 1)
# CDNOW sells music only; these are its genre shelves, assigned by customer id so
# that category-driven text can be checked (the source itself has no categories).
GENRES = ("Rock", "Jazz", "Classical", "Pop", "Country", "Soundtracks")


@lru_cache(maxsize=1)
def cdnow_histories():
    import pandas as pd

    df = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    days = df.groupby(["sample_id", "date"], as_index=False)["amount"].sum()
    g = days.groupby("sample_id")
    hist = pd.DataFrame(
        {
            "orders": g.size(),
            "spent": g["amount"].sum(),
            "first": g["date"].min(),
            "last": g["date"].max(),
        }
    )
    return hist


def _churn(orders: int, days_since: int, gap: float | None) -> tuple[float, str]:
    usual = gap if gap else 180.0
    ratio = days_since / usual
    p = min(0.97, max(0.03, 0.15 + 0.25 * (ratio - 1) - 0.03 * orders))
    return round(p, 3), f"gap since last order is {ratio:.1f}x their usual"


def cdnow_profile(sample_id: int) -> CustomerIntelligence:
    row = cdnow_histories().loc[sample_id]
    orders, spent = int(row["orders"]), float(row["spent"])
    first, last = (
        row["first"].to_pydatetime().replace(tzinfo=UTC),
        row["last"].to_pydatetime().replace(tzinfo=UTC),
    )
    gap = (last - first).days / (orders - 1) if orders > 1 else None
    days_since = (datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC) - last).days
    p, label = _churn(orders, days_since, gap)
    active_days = max((last - first).days, 30)
    predicted = round(spent / active_days * 365 * (1 - p), 2)
    band = "high" if p >= 0.66 else "medium" if p >= 0.33 else "low"
    cid = str(sample_id)
    genres = (GENRES[sample_id % len(GENRES)], GENRES[(sample_id // 7) % len(GENRES)])
    return CustomerIntelligence(
        customer_id=cid,
        as_of=AS_OF,
        computed_at=datetime(1998, 7, 1, tzinfo=UTC),
        dna=CustomerDNA(
            axes=(
                AxisLabel("price_sensitivity", "deal_hunter" if spent / orders < 25 else "full_price", 0.7),
            ),
            archetype="Loyal Collector"
            if orders >= 5
            else "Occasional Buyer"
            if orders >= 2
            else "One-Time Buyer",
        ),
        churn=ChurnPrediction(
            customer_id=cid,
            probability=p,
            horizon_days=90,
            risk_band=band,
            top_factors=(Factor("recency_ratio", label, days_since / (gap or 180), 0.4, "raises"),),
            recommendations=("send a personal check-in",) if band == "high" else (),
            model="test-recency-rule",
            model_version="test",
            confidence="medium",
            as_of=AS_OF,
        ),
        ltv=LTVForecast(
            customer_id=cid,
            horizon_days=365,
            predicted_spend=predicted,
            p10=predicted * 0.5,
            p90=predicted * 1.6,
            expected_orders=round(orders / active_days * 365 * (1 - p), 2),
            probability_of_purchase=1 - p,
            expected_next_order_date=None,
            historic_value=spent,
            model="test-run-rate",
            model_version="test",
            confidence="low",
        ),
        historic=HistoricStats(
            order_count=orders,
            total_spent=round(spent, 2),
            average_order_value=round(spent / orders, 2),
            average_days_between_orders=gap,
            first_order_at=first,
            last_order_at=last,
            days_since_last_order=days_since,
            top_categories=genres,
        ),
    )


def cdnow_sample_ids() -> list[int]:
    """A spread of real customers: the biggest spender, a one-timer, mid and lapsed ones."""
    hist = cdnow_histories()
    top = int(hist["spent"].idxmax())
    one_timer = int(hist[hist["orders"] == 1].index[0])
    mid = int(hist[(hist["orders"] >= 3) & (hist["orders"] <= 6)].index[0])
    frequent = int(hist["orders"].idxmax())
    return [top, one_timer, mid, frequent]


def shop_profile(customer_id: str) -> dict:
    """A profile dict (the API's shape) for a stored customer, from ingestion's frames:
    order count, spend, last order and top categories are the customer's own."""
    from ingestion import interface as ingestion

    orders = ingestion.orders_frame(customer_ids=[customer_id])
    lines = ingestion.order_lines_frame(customer_ids=[customer_id])
    last = orders["placed_at"].max()
    spent = float(orders["total"].sum() - orders["refunded_total"].sum())
    days_since = (datetime(2026, 7, 1, tzinfo=UTC) - last.to_pydatetime()).days
    gap = (last - orders["placed_at"].min()).days / (len(orders) - 1) if len(orders) > 1 else None
    p, label = _churn(len(orders), days_since, gap)
    return {
        "customer_id": customer_id,
        "dna": {
            "archetype": "Generated Shop Customer",
            "axes": [{"axis": "price_sensitivity", "label": "balanced", "strength": 0.5}],
        },
        "churn": {
            "probability": p,
            "risk_band": "high" if p >= 0.66 else "medium" if p >= 0.33 else "low",
            "top_factors": [{"feature": "recency_ratio", "label": label, "direction": "raises"}],
        },
        "ltv": {"predicted_spend": round(spent * (1 - p), 2), "historic_value": spent},
        "historic": {
            "order_count": len(orders),
            "total_spent": spent,
            "average_order_value": spent / len(orders),
            "last_order_at": last.isoformat(),
            "days_since_last_order": days_since,
            "average_days_between_orders": gap,
            "top_categories": list(lines["category"].value_counts().index[:3]),
        },
    }
