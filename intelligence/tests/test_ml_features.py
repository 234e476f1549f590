"""Features: values on a hand-built shop, order semantics, and NaN for missing sources."""

import numpy as np
import pandas as pd
import pytest

from intelligence.ml import features
from intelligence.ml.cdnow import load_cdnow_frames

# Pure ML (no models), but the app's tests all run under pytest-django.
pytestmark = pytest.mark.django_db

AS_OF = pd.Timestamp("2025-07-01", tz="UTC")


def _orders():
    rows = [
        # order_id, customer, placed_at, total, subtotal, discount, refunded, items, status, channel
        (1, "a", "2025-01-10 10:00", 100.0, 110.0, 10.0, 0.0, 2, "paid", "web"),
        (2, "a", "2025-03-10 19:30", 50.0, 50.0, 0.0, 0.0, 1, "paid", "web"),
        (3, "a", "2025-05-09 12:00", 80.0, 100.0, 20.0, 30.0, 4, "paid", "pos"),
        (4, "a", "2025-05-20 12:00", 70.0, 70.0, 0.0, 0.0, 1, "cancelled", "web"),
        (5, "b", "2025-06-01 09:00", 40.0, 40.0, 0.0, 0.0, 1, "paid", "web"),
        (6, "b", "2025-06-15 09:00", 0.0, 0.0, 0.0, 0.0, 1, "paid", "web"),
        (7, "b", "2025-07-02 09:00", 99.0, 99.0, 0.0, 0.0, 1, "paid", "web"),  # after as_of
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "customer_id",
            "placed_at",
            "total",
            "subtotal",
            "discount_total",
            "refunded_total",
            "item_count",
            "status",
            "channel",
        ],
    )
    frame["placed_at"] = pd.to_datetime(frame["placed_at"]).dt.tz_localize("UTC")
    frame["source"] = "shop"
    frame["currency"] = "EUR"
    return frame


def _lines():
    return pd.DataFrame(
        {
            "order_id": [1, 1, 2, 3, 3],
            "customer_id": ["a"] * 5,
            "placed_at": pd.to_datetime(["2025-01-10"] * 2 + ["2025-03-10"] + ["2025-05-09"] * 2, utc=True),
            "sku": ["s1", "s2", "s1", "s3", "s4"],
            "title": ["t"] * 5,
            "category": ["shoes", "socks", "shoes", "hats", "hats"],
            "quantity": [1, 1, 1, 2, 2],
            "unit_price": [90.0, 20.0, 50.0, 25.0, 25.0],
            "discount": [10.0, 0.0, 0.0, 10.0, 10.0],
        }
    )


def _interactions():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "c"],
            "source": "helpdesk",
            "external_id": ["t1", "t2", "t3"],
            "channel": "email",
            "kind": ["complaint", "question", "question"],
            "status": ["open", "closed", "closed"],
            "priority": ["high", "normal", "normal"],
            "occurred_at": pd.to_datetime(["2025-05-10", "2025-06-20", "2025-06-01"], utc=True),
        }
    )


@pytest.fixture(scope="module")
def shop():
    events = pd.DataFrame(
        {
            "customer_id": ["a"],
            "source": "web",
            "name": ["page_view"],
            "occurred_at": pd.to_datetime(["2025-06-25"], utc=True),
        }
    )
    return features.build_features(_orders(), _lines(), _interactions(), events, as_of=AS_OF)


def test_catalogue_covers_fourteen_axes_and_every_column(shop):
    assert len(features.AXES) == 14
    assert {spec.axis for spec in features.FEATURE_CATALOGUE} == set(features.AXES)
    assert 60 <= len(features.FEATURE_CATALOGUE) <= 80
    assert list(shop.columns) == list(features.FEATURE_NAMES)
    assert all(spec.definition and spec.unit for spec in features.FEATURE_CATALOGUE)
    assert shop.dtypes.eq(float).all()
    assert shop.index.name == "customer_id"


def test_order_semantics_exclude_cancelled_zero_and_future_orders(shop):
    a, b = shop.loc["a"], shop.loc["b"]
    assert a["order_count"] == 3  # the cancelled order is not a purchase
    assert a["total_spend"] == pytest.approx(100 + 50 + 80 - 30)  # net of refunds
    assert a["cancelled_orders"] == 1
    assert a["refund_value_share"] == pytest.approx(30 / 300)
    assert b["order_count"] == 1  # zero-value and post-as_of orders do not count
    assert b["days_since_last_order"] == pytest.approx(30.0)


def test_values_across_axes(shop):
    a = shop.loc["a"]
    assert a["mean_gap_days"] == pytest.approx((59 + 60) / 2)
    assert a["recency_gap_ratio"] == pytest.approx(a["days_since_last_order"] / a["mean_gap_days"])
    assert a["discount_order_share"] == pytest.approx(2 / 3)
    assert a["avg_discount_rate"] == pytest.approx(30 / 260)
    assert a["category_count"] == 3
    assert a["channel_count"] == 2
    assert a["online_share"] == pytest.approx(2 / 3)
    assert a["interaction_count"] == 2 and a["complaint_share"] == 0.5
    assert a["event_count"] == 1
    assert 0 < a["bgnbd_p_alive"] <= 1
    # A customer known only from support has no order features, but has support ones.
    c = shop.loc["c"]
    assert np.isnan(c["order_count"]) and c["interaction_count"] == 1


def test_cdnow_missing_sources_are_nan_not_invented():
    frames = load_cdnow_frames()
    table = features.build_features(
        frames["orders"],
        frames["lines"],
        frames["interactions"],
        frames["events"],
        as_of=pd.Timestamp("1997-10-01", tz="UTC"),
    )
    assert len(table) == 2357
    missing = [
        "category_count",
        "category_entropy",
        "discount_order_share",
        "channel_count",
        "mean_order_hour",
        "interaction_count",
        "event_count",
        "refund_value_share",
        "cancelled_orders",
    ]
    assert table[missing].isna().all().all()
    present = ["order_count", "days_since_last_order", "avg_order_value", "bgnbd_p_alive", "weekend_share"]
    valid = table["order_count"].notna()
    assert valid.sum() > 2300
    assert table.loc[valid, present].notna().all().all()


def test_top_factors_put_features_without_data_last():
    from intelligence.ml import explain

    frame = pd.DataFrame(
        {"recency_days": [40.0], "mean_order_hour": [np.nan], "frequency_orders": [3.0]}, index=["c1"]
    )
    contributions = pd.DataFrame(
        {"recency_days": [0.2], "mean_order_hour": [0.9], "frequency_orders": [-0.1]}, index=["c1"]
    )
    factors = explain.top_factors(frame, contributions, k=3).loc["c1"]
    assert [f["feature"] for f in factors] == ["recency_days", "frequency_orders", "mean_order_hour"]
    assert factors[0]["direction"] == "raises" and factors[1]["direction"] == "lowers"
    assert factors[2]["value"] is None


def _mixed_sources():
    """A shop that records subtotals and discounts, next to CDNOW-like stored orders: totals only,
    with the database defaults (discount 0, refund 0, status "placed") in the other columns."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(40):
        for k in range(3):
            subtotal = float(rng.integers(20, 120))
            discount = float(rng.choice([0.0, 0.0, 5.0, 15.0])) if c % 4 else 0.0
            refunded = 10.0 if (c % 5 == 0 and k == 0) else 0.0
            rows.append(("shop", f"s{c}", subtotal, subtotal - discount, discount, refunded, "paid"))
    for c in range(40):
        for _ in range(3):
            total = float(rng.integers(10, 90))
            rows.append(("cdnow", f"d{c}", np.nan, total, 0.0, 0.0, "placed"))
    frame = pd.DataFrame(
        rows,
        columns=["source", "customer_id", "subtotal", "total", "discount_total", "refunded_total", "status"],
    )
    frame["order_id"] = range(1, len(frame) + 1)
    frame["placed_at"] = AS_OF - pd.to_timedelta(rng.integers(1, 400, len(frame)), unit="D")
    frame["item_count"] = 1
    frame["channel"] = ""
    frame["currency"] = "USD"
    return frame


def test_a_source_that_records_no_discounts_or_refunds_leaves_them_unknown():
    from intelligence.ml import segmentation

    table = features.build_features(_mixed_sources(), None, None, None, as_of=AS_OF)
    price = [s.name for s in features.FEATURE_CATALOGUE if s.axis == "price_sensitivity"]
    returns = [s.name for s in features.FEATURE_CATALOGUE if s.axis == "returns_refunds"]
    cdnow = table.index.str.startswith("d")
    # The stored zeros of a totals-only source are defaults, not facts.
    assert table.loc[cdnow, price + returns].isna().all().all()
    assert table.loc[cdnow, "order_count"].eq(3).all()
    # A source that records subtotals: no discount is a real 0 (full price), not unknown.
    assert table.loc["s0", "discount_order_share"] == 0.0 and table.loc["s0", "discount_total"] == 0.0
    assert table.loc["s1", "discount_order_share"] >= 0.0 and table.loc["s0", "refunded_order_share"] > 0
    assert table.loc[~cdnow, ["discount_order_share", "refund_value_share"]].notna().all().all()

    seg = segmentation.segmentation_fit(table)
    assigned = segmentation.segmentation_assign(seg, table)
    labels = assigned["axes"].map(lambda axes: axes["price_sensitivity"]["label"])
    assert "price_sensitivity" in seg.axes
    assert labels[cdnow].eq(segmentation.UNKNOWN).all()
    assert not labels[~cdnow].eq(segmentation.UNKNOWN).any()
    strengths = assigned["axes"].map(lambda axes: axes["returns_refunds"]["strength"])
    assert strengths[cdnow].isna().all()
