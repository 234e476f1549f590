"""Bulk DataFrame readers."""

import datetime as dt

import pandas as pd
import pytest
from django.core.management import call_command

from ingestion import interface
from ingestion.models import Order
from ingestion.services import events, interactions, orders

pytestmark = pytest.mark.django_db

CDNOW = "/work/shared/data/cdnow/CDNOW_sample.txt"


@pytest.fixture
def cdnow():
    call_command("ingest_file", CDNOW, "--source", "cdnow", "--format", "cdnow", "--no-progress", stdout=None)


def test_orders_frame_holds_every_order_with_types(cdnow, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        df = interface.orders_frame()
    assert len(df) == 6919 and df["customer_id"].nunique() == 2357
    assert list(df.columns) == [
        "order_id",
        "customer_id",
        "source",
        "placed_at",
        "total",
        "subtotal",
        "discount_total",
        "refunded_total",
        "item_count",
        "status",
        "channel",
        "currency",
    ]
    assert str(df["placed_at"].dtype) == "datetime64[us, UTC]" or str(df["placed_at"].dtype).endswith(
        ", UTC]"
    )
    assert df["order_id"].dtype == "int64" and df["item_count"].dtype == "int64"
    assert df["total"].dtype == "float64" and df["subtotal"].isna().all()
    assert isinstance(df["customer_id"].iloc[0], str)
    assert df["total"].sum() == pytest.approx(float(sum(Order.objects.values_list("total", flat=True))))
    assert (df["channel"] == "").all() and (df["currency"] == "USD").all()


def test_orders_frame_as_of_and_customer_filter(cdnow):
    as_of = dt.datetime(1997, 2, 1, tzinfo=dt.UTC)
    df = interface.orders_frame(as_of=as_of)
    assert len(df) == Order.objects.filter(placed_at__lt=as_of).count() > 0
    assert (df["placed_at"] < pd.Timestamp(as_of)).all()
    some = df["customer_id"].unique()[:3].tolist()
    sub = interface.orders_frame(customer_ids=some)
    assert set(sub["customer_id"]) == set(some)
    assert len(sub) == Order.objects.filter(customer_id__in=[int(c) for c in some]).count()
    assert interface.orders_frame(customer_ids=[]).empty


def test_frames_follow_merges_and_lines():
    orders.orders_ingest(
        source="shop",
        records=[
            {
                "external_id": "1",
                "customer_id": "c1",
                "placed_at": "2024-01-01T00:00:00Z",
                "total": "30.00",
                "lines": [
                    {"sku": "A", "title": "Blue", "category": "Jazz", "quantity": 2, "unit_price": "15.00"}
                ],
            },
            {
                "external_id": "2",
                "email": "m@x.io",
                "placed_at": "2024-01-02T00:00:00Z",
                "total": "5.00",
                "lines": [{"sku": "B", "quantity": 1, "unit_price": "5.00", "discount": "1.00"}],
            },
        ],
    )
    interactions.interactions_ingest(
        source="desk",
        records=[
            {"external_id": "t", "email": "m@x.io", "kind": "chat", "occurred_at": "2024-01-03T00:00:00Z"}
        ],
    )
    events.events_ingest(
        source="web",
        records=[
            {"message_id": "e", "email": "m@x.io", "name": "Viewed", "occurred_at": "2024-01-04T00:00:00Z"}
        ],
    )
    orders.orders_ingest(
        source="shop",
        records=[
            {
                "external_id": "3",
                "customer_id": "c1",
                "email": "m@x.io",
                "placed_at": "2024-01-05T00:00:00Z",
                "total": "1.00",
            }
        ],
    )
    live = interface.customer_ids()
    assert len(live) == 1
    for frame in (
        interface.orders_frame(),
        interface.order_lines_frame(),
        interface.interactions_frame(),
        interface.events_frame(),
    ):
        assert set(frame["customer_id"]) == set(live)
    lines = interface.order_lines_frame()
    assert lines[["sku", "title", "category", "quantity", "unit_price", "discount"]].values.tolist() == [
        ["A", "Blue", "Jazz", 2, 15.0, 0.0],
        ["B", "", "", 1, 5.0, 1.0],
    ]
    assert interface.interactions_frame()[["kind", "channel", "status"]].values.tolist() == [["chat", "", ""]]
    assert interface.events_frame()["name"].tolist() == ["Viewed"]
    empty = interface.events_frame(as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert empty.empty and list(empty.columns) == ["customer_id", "source", "name", "occurred_at"]


def test_frames_are_sorted_by_customer_time_and_id_with_exact_times():
    """Rows arrive in any order (PostgreSQL reads them unsorted and sorts in numpy): the frames are
    ordered by customer, time, then id; times keep their microseconds; text keeps its commas,
    quotes and line breaks."""
    same = "2024-03-01T10:00:00.123456Z"
    records = [
        {"external_id": "late", "customer_id": "b", "placed_at": "2024-05-01T00:00:00Z", "total": "1"},
        {"external_id": "tie-1", "customer_id": "a", "placed_at": same, "total": "2"},
        {"external_id": "tie-2", "customer_id": "a", "placed_at": same, "total": "3"},
        {
            "external_id": "early",
            "customer_id": "b",
            "placed_at": "2023-12-31T23:59:59.999999Z",
            "total": "4",
            "lines": [
                {"sku": "z", "title": 'Say "hi", then\nbye', "quantity": 1, "unit_price": "1"},
                {"sku": "y", "title": "", "quantity": 2, "unit_price": "1"},
            ],
        },
        {"external_id": "first-a", "customer_id": "a", "placed_at": "2024-01-01T00:00:00Z", "total": "5"},
    ]
    orders.orders_ingest(source="shop", records=records)
    pk = {o.external_id: (o.customer_id, o.id) for o in Order.objects.all()}
    frame = interface.orders_frame()
    expected = sorted(
        pk, key=lambda e: (pk[e][0], frame.set_index("order_id").loc[pk[e][1], "placed_at"], pk[e][1])
    )
    assert frame["order_id"].tolist() == [pk[e][1] for e in expected]
    assert frame["customer_id"].tolist() == [str(pk[e][0]) for e in expected]
    times = dict(zip(frame["order_id"], frame["placed_at"], strict=True))
    assert times[pk["tie-1"][1]] == pd.Timestamp(same)
    assert times[pk["early"][1]] == pd.Timestamp("2023-12-31T23:59:59.999999Z")
    assert str(frame["placed_at"].dtype) == "datetime64[us, UTC]"
    lines = interface.order_lines_frame()
    assert lines["sku"].tolist() == ["z", "y"]
    assert lines["title"].tolist() == ['Say "hi", then\nbye', ""]
    assert (lines["placed_at"] == pd.Timestamp("2023-12-31T23:59:59.999999Z")).all()
