"""The synthetic shop: deterministic, valid for the ingest path, behaviour types that differ."""

from datetime import date
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from ingestion import interface
from ingestion.models import Event, Interaction, Order, OrderLine
from ingestion.synthetic import BLOCK_CUSTOMERS, CHANNELS, catalogue, shop_blocks

pytestmark = pytest.mark.django_db


def _shop(customers: int, seed: int = 3, **kw):
    blocks = list(shop_blocks(customers=customers, seed=seed, **kw))
    return {
        name: [rec for b in blocks for rec in getattr(b, name)]
        for name in ("customers", "orders", "interactions", "events")
    }


@pytest.fixture(scope="module")
def big_shop():
    """Enough customers for per-type statistics (generation only, no database)."""
    shop = _shop(4000, seed=11)
    truth = pd.DataFrame(shop["customers"]).set_index("customer_id")
    orders = pd.DataFrame([{k: v for k, v in o.items() if k != "lines"} for o in shop["orders"]])
    orders["type"] = orders["customer_id"].map(truth["type"])
    orders["placed_at"] = pd.to_datetime(orders["placed_at"])
    return shop, truth, orders


def test_same_seed_same_records_and_different_seed_differs():
    a, b, c = _shop(300, seed=5), _shop(300, seed=5), _shop(300, seed=6)
    assert a == b
    assert a["orders"] != c["orders"]
    assert {o["external_id"] for o in a["orders"]}.isdisjoint({o["external_id"] for o in c["orders"]})


def test_blocks_do_not_depend_on_the_total_size():
    small = _shop(BLOCK_CUSTOMERS, seed=9)
    larger = _shop(BLOCK_CUSTOMERS + 10, seed=9)
    n = len(small["orders"])
    assert larger["orders"][:n] == small["orders"]


def test_records_are_consistent_and_within_the_window(big_shop):
    shop, _, orders = big_shop
    assert orders["external_id"].is_unique
    assert orders["placed_at"].min() >= pd.Timestamp("2024-07-01", tz="UTC")
    assert orders["placed_at"].max() < pd.Timestamp("2026-07-01", tz="UTC")
    assert set(orders["channel"]) == set(CHANNELS)
    assert {"fulfilled", "refunded", "partially_refunded", "cancelled"} <= set(orders["status"])
    for o in shop["orders"][:2000]:
        gross = sum(round(li["unit_price"] * li["quantity"], 2) for li in o["lines"])
        assert o["subtotal"] == pytest.approx(gross, abs=0.011)
        assert o["total"] == pytest.approx(o["subtotal"] - o["discount_total"], abs=0.011)
        assert 0 <= o["refunded_total"] <= o["total"] + 0.001
        assert o["updated_at"] >= o["placed_at"]
    assert len({i["external_id"] for i in shop["interactions"]}) == len(shop["interactions"])
    assert len({e["message_id"] for e in shop["events"]}) == len(shop["events"])
    kinds = {i["kind"] for i in shop["interactions"]}
    assert {"ticket", "chat", "email", "review"} <= kinds
    names = {e["name"] for e in shop["events"]}
    assert {"email_opened", "email_clicked", "viewed_product", "added_to_cart"} <= names


def test_behaviour_types_differ_measurably(big_shop):
    _, truth, orders = big_shop
    by_type = orders.groupby("type")
    discount_share = by_type["discount_total"].apply(lambda s: (s > 0).mean())
    assert discount_share["deal_hunter"] > 3 * discount_share["loyal_regular"]
    aov = by_type["total"].mean()
    assert aov["big_ticket"] == aov.max()
    per_customer = by_type.size() / truth["type"].value_counts()
    assert per_customer["loyal_regular"] > 5 * per_customer["one_and_done"]
    refund_share = by_type["refunded_total"].apply(lambda s: (s > 0).mean())
    assert refund_share["big_ticket"] > refund_share["loyal_regular"]
    holiday = orders["placed_at"].dt.month.isin([11, 12])
    holiday_share = holiday.groupby(orders["type"]).mean()
    assert holiday_share["seasonal_holiday"] > 2 * holiday_share["loyal_regular"]
    pos_share = (orders["channel"] == "pos").groupby(orders["type"]).mean()
    assert pos_share["big_ticket"] > pos_share["deal_hunter"]


def test_churned_customers_stop_buying(big_shop):
    _, truth, orders = big_shop
    churned = truth[truth["churned"] & (truth["type"] != "one_and_done")]
    assert 0.2 < truth["churned"].mean() < 0.7
    last = orders.groupby("customer_id")["placed_at"].max()
    churn_at = pd.to_datetime(churned["churned_at"]).dt.tz_localize("UTC")
    # No order more than the weekend-shift day after the churn date.
    assert (last[churned.index] <= churn_at + pd.Timedelta(days=2)).all()
    # Churners are, at the end, much longer without an order than the loyal who stay.
    end = pd.Timestamp("2026-07-01", tz="UTC")
    gap = (end - last).dt.days
    stayers = truth[(truth["type"] == "loyal_regular") & ~truth["churned"]].index
    assert gap[churned.index].median() > 3 * gap[stayers].median()


def test_co_purchases_follow_product_groups(big_shop):
    shop, _, _ = big_shop
    cat = catalogue()
    sku_index = {s: i for i, s in enumerate(cat.sku.tolist())}
    same = total = 0
    for o in shop["orders"]:
        skus = [sku_index[li["sku"]] for li in o["lines"]]
        if len(skus) > 1:
            groups = cat.group_of[skus]
            same += int((groups[1:] == groups[0]).sum())
            total += len(skus) - 1
    # 60 groups: chance would put about 1/60 of second items in the first item's group.
    assert same / total > 0.3
    assert len(cat.sku) == 300 and len(set(cat.category.tolist())) == 12
    assert np.all(cat.price > 0)


def test_every_record_is_accepted_by_the_ingest_path():
    shop = _shop(60, seed=21)
    orders = interface.ingest_orders(source="synthetic", records=shop["orders"])
    assert orders.rejected == () and orders.accepted == len(shop["orders"])
    inter = interface.ingest_interactions(source="synthetic", records=shop["interactions"])
    assert inter.rejected == () and inter.accepted == len(shop["interactions"])
    events = interface.ingest_events(source="synthetic", records=shop["events"])
    assert events.rejected == () and events.accepted == len(shop["events"])
    assert OrderLine.objects.count() == sum(len(o["lines"]) for o in shop["orders"])
    stored = Order.objects.get(source="synthetic", external_id=shop["orders"][0]["external_id"])
    assert float(stored.total) == shop["orders"][0]["total"]


def test_generate_shop_rerun_is_all_duplicates():
    out = StringIO()
    call_command("generate_shop", customers=40, seed=4, source="gen", chunk_size=100, stdout=out, verbosity=0)
    counts = (
        Order.objects.count(),
        OrderLine.objects.count(),
        Interaction.objects.count(),
        Event.objects.count(),
    )
    assert counts[0] > 40 and counts[2] > 0 and counts[3] > 0
    assert "rejected     0" in out.getvalue()

    again = StringIO()
    call_command("generate_shop", customers=40, seed=4, source="gen", stdout=again, verbosity=0)
    assert (
        Order.objects.count(),
        OrderLine.objects.count(),
        Interaction.objects.count(),
        Event.objects.count(),
    ) == counts
    lines = [ln for ln in again.getvalue().splitlines() if "received" in ln]
    assert len(lines) == 3 and all(" accepted         0 " in ln for ln in lines)


def test_generate_shop_end_date_moves_the_window():
    shop = _shop(50, seed=2, end_date=date(2025, 1, 31))
    assert max(o["placed_at"] for o in shop["orders"]) < "2025-02-01"
    assert min(o["placed_at"] for o in shop["orders"]) >= "2023-02-01"
