"""The exactly-once write path: validation, dedup, versions, bulk behaviour."""

import json
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from ingestion.interface import customers_changed
from ingestion.models import Customer, Event, IngestionBatch, Interaction, Order, OrderLine
from ingestion.services import events, interactions, orders
from ingestion.services.files import read_cdnow
from ingestion.services.validation import identity_blocked, order_clean

pytestmark = pytest.mark.django_db

DATA = Path("/work/shared/data")


def cdnow_records(n: int) -> list[dict]:
    with open(DATA / "cdnow" / "CDNOW_sample.txt", "rb") as fh:
        return list(islice(read_cdnow(fh), n))


def shopify_order() -> dict:
    from ingestion.shopify import order_record_from_payload

    return order_record_from_payload(json.loads((DATA / "shopify" / "order.json").read_text())["order"])


def test_new_orders_are_stored_with_lines_and_customers():
    records = cdnow_records(200)
    result = orders.orders_ingest(source="cdnow", records=records)
    assert (result.accepted, result.duplicates, result.updated, result.rejected) == (200, 0, 0, ())
    assert Order.objects.count() == 200
    first = Order.objects.get(source="cdnow", external_id="00004-19970101-1")
    assert first.total == Decimal("29.33") and first.item_count == 2
    assert first.placed_at.isoformat() == "1997-01-01T00:00:00+00:00"
    n_customers = len({r["customer_id"] for r in records})
    assert Customer.objects.count() == n_customers
    assert len(result.customer_ids) == n_customers
    batch = IngestionBatch.objects.get()
    assert (batch.kind, batch.via, batch.accepted) == ("orders", "api", 200)


def test_resending_is_all_duplicates_with_one_lookup_and_no_writes():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    records = cdnow_records(500)
    orders.orders_ingest(source="cdnow", records=records)
    with CaptureQueriesContext(connection) as ctx:
        result = orders.orders_ingest(source="cdnow", records=records, audit=False)
    # Besides savepoints, PostgreSQL takes the writers' lock (shared) first: `_db.writers_lock`.
    sql = [
        q["sql"] for q in ctx.captured_queries if not any(s in q["sql"] for s in ("SAVEPOINT", "advisory"))
    ]
    assert len(sql) == 1 and sql[0].startswith("SELECT") and "ingestion_order" in sql[0]
    assert (result.accepted, result.duplicates, result.updated) == (0, 500, 0)
    assert result.customer_ids == ()
    assert Order.objects.count() == 500


def test_bulk_insert_is_not_per_row(django_assert_max_num_queries, on_postgres):
    # PostgreSQL: COPY per table, and per transaction (customers, then records) its savepoint
    # here and the writers' lock, and the customers held for the records. SQLite: bulk_create
    # batches of its 999-parameter limit.
    with django_assert_max_num_queries(17 if on_postgres else 100):
        result = orders.orders_ingest(source="cdnow", records=cdnow_records(3000))
    assert result.accepted == 3000


def test_newer_version_updates_order_and_replaces_lines():
    rec = shopify_order()
    assert orders.orders_ingest(source="shopify", records=[rec]).accepted == 1
    order = Order.objects.get(external_id="450789469")
    assert order.lines.count() == len(rec["lines"]) > 0
    newer = {
        **rec,
        "updated_at": "2030-01-01T00:00:00Z",
        "status": "refunded",
        "refunded_total": rec["total"],
        "lines": rec["lines"][:1],
    }
    result = orders.orders_ingest(source="shopify", records=[newer])
    assert (result.accepted, result.updated, result.duplicates) == (0, 1, 0)
    order.refresh_from_db()
    assert order.status == "refunded" and order.refunded_total == order.total
    assert list(order.lines.values_list("sku", flat=True)) == [rec["lines"][0]["sku"]]
    assert OrderLine.objects.count() == 1


def test_older_or_equal_version_never_overwrites():
    rec = {**shopify_order(), "updated_at": "2030-01-01T00:00:00Z"}
    orders.orders_ingest(source="shopify", records=[rec])
    stale = {**rec, "updated_at": "2020-01-01T00:00:00Z", "total": "1.00"}
    same = {**rec, "total": "2.00"}
    no_version = {k: v for k, v in rec.items() if k != "updated_at"} | {"total": "3.00"}
    result = orders.orders_ingest(source="shopify", records=[stale])
    assert (result.updated, result.duplicates) == (0, 1)
    for r in (same, no_version):
        assert orders.orders_ingest(source="shopify", records=[r]).duplicates == 1
    assert Order.objects.get().total == Decimal(rec["total"])


def test_duplicates_inside_one_batch_newest_wins():
    base = cdnow_records(1)[0]
    v1 = {**base, "total": "1.00", "updated_at": "1998-01-01T00:00:00Z"}
    v3 = {**base, "total": "3.00", "updated_at": "1998-03-01T00:00:00Z"}
    v2 = {**base, "total": "2.00", "updated_at": "1998-02-01T00:00:00Z"}
    result = orders.orders_ingest(source="cdnow", records=[v1, v3, v2, v3])
    # As if sent one at a time: v1 is new, v3 updates it, v2 is stale and v3 is then known.
    assert (result.accepted, result.updated, result.duplicates) == (1, 1, 2)
    assert Order.objects.get().total == Decimal("3.00")


def test_counts_do_not_depend_on_the_batch_size():
    base = cdnow_records(1)[0]
    versions = [
        {**base, "total": f"{n}.00", "updated_at": f"1998-0{n}-01T00:00:00Z"} for n in (1, 2, 2, 3, 1)
    ]
    whole = orders.orders_ingest(source="whole", records=versions)
    singles = [orders.orders_ingest(source="singles", records=[v]) for v in versions]
    assert (
        (whole.accepted, whole.updated, whole.duplicates)
        == (
            sum(r.accepted for r in singles),
            sum(r.updated for r in singles),
            sum(r.duplicates for r in singles),
        )
        == (1, 2, 2)
    )


def test_newer_versions_of_a_rejected_record_are_not_counted_as_updates():
    base = {**cdnow_records(1)[0], "platform_customer_id": 987654}
    v1 = {**base, "updated_at": "1998-01-01T00:00:00Z"}
    v2 = {**base, "updated_at": "1998-02-01T00:00:00Z"}
    result = orders.orders_ingest(source="cdnow", records=[v1, v2])
    assert (result.accepted, result.updated, result.duplicates) == (0, 0, 1)
    assert [e.index for e in result.rejected] == [1]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total": float("nan")}, "total"),
        ({"total": float("inf")}, "total"),
        ({"total": "Infinity"}, "total"),
        ({"total": -5}, "total"),
        ({"total": 2**70}, "total"),
        ({"total": "1e15"}, "total"),
        ({"total": True}, "total"),
        ({"total": None}, "total"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"placed_at": "0001-01-01T00:00:00Z"}, "placed_at"),
        ({"placed_at": 19970101}, "placed_at"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"external_id": "bad\x00id"}, "external_id"),
        ({"external_id": ["list"]}, "external_id"),
        ({"channel": "c" * 1_000_000}, "channel"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"status": "lost"}, "status"),
        ({"lines": "not a list"}, "lines"),
        ({"lines": [{"quantity": "many"}]}, "lines[0].quantity"),
        ({"lines": [{"unit_price": float("nan")}]}, "lines[0].unit_price"),
        ({"customer_id": "0", "email": None}, "customer_id"),
        ({"customer_id": None, "email": "not-an-email"}, "email"),
    ],
)
def test_invalid_records_are_rejected_and_never_stored(change, field):
    good, bad = cdnow_records(2)
    result = orders.orders_ingest(source="cdnow", records=[good, {**bad, **change}])
    assert result.accepted == 1
    [error] = result.rejected
    assert error.index == 1 and field in error.errors
    assert list(Order.objects.values_list("external_id", flat=True)) == [good["external_id"]]


def test_non_dict_record_is_rejected():
    result = orders.orders_ingest(source="cdnow", records=["nope", 3])
    assert [e.index for e in result.rejected] == [0, 1]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_naive_times_are_utc_and_offsets_are_converted():
    clean, errors = order_clean(
        {"external_id": "1", "customer_id": "c", "placed_at": "2024-05-01T12:00:00-05:00", "total": "1"}
    )
    assert not errors and clean["placed_at"].isoformat() == "2024-05-01T17:00:00+00:00"
    clean, _ = order_clean(
        {"external_id": "1", "customer_id": "c", "placed_at": "2024-05-01 12:00", "total": 1}
    )
    assert clean["placed_at"].isoformat() == "2024-05-01T12:00:00+00:00"


@pytest.mark.parametrize("value", ["", "0", "000", "-1", "null", "NULL", "anonymous", "undefined", "0-0"])
def test_blocked_identity_values(value):
    assert identity_blocked(value)


def test_customers_changed_is_sent_after_commit(django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, customer_ids, **kwargs):
        received.append(customer_ids)

    customers_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = orders.orders_ingest(source="cdnow", records=cdnow_records(10))
        with django_capture_on_commit_callbacks(execute=True):
            orders.orders_ingest(source="cdnow", records=cdnow_records(10))
    finally:
        customers_changed.disconnect(receiver)
    assert received == [result.customer_ids]
    assert set(result.customer_ids) == {str(pk) for pk in Customer.objects.values_list("pk", flat=True)}


def test_events_dedup_on_message_id_forever():
    rec = {
        "message_id": "m-1",
        "customer_id": "00004",
        "name": "Product Viewed",
        "occurred_at": "2024-01-01T00:00:00Z",
        "properties": {"sku": "A1"},
    }
    first = events.events_ingest(source="web", records=[rec, rec])
    later = {**rec, "occurred_at": "2025-06-01T00:00:00Z", "name": "Other"}
    again = events.events_ingest(source="web", records=[later])
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (1, 1, 0, 1)
    assert Event.objects.get().properties == {"sku": "A1"}


def test_event_properties_are_capped_and_nan_free():
    base = {"message_id": "m", "customer_id": "c1", "name": "x", "occurred_at": "2024-01-01T00:00:00Z"}
    result = events.events_ingest(
        source="web",
        records=[
            {**base, "properties": {"blob": "x" * 40_000}},
            {**base, "message_id": "m2", "properties": {"v": float("nan")}},
            {**base, "message_id": "m3", "properties": {"v": "a\x00b"}},
            {**base, "message_id": "m4", "properties": [1]},
        ],
    )
    assert [set(e.errors) for e in result.rejected] == [{"properties"}] * 4
    assert not Event.objects.exists()


def test_interactions_are_versioned_like_orders():
    rec = {
        "external_id": "T-1",
        "customer_id": "00004",
        "kind": "ticket",
        "channel": "email",
        "occurred_at": "2024-03-01T09:00:00Z",
        "status": "open",
        "updated_at": "2024-03-01T09:00:00Z",
        "metadata": {"intent": "cancel_order"},
    }
    assert interactions.interactions_ingest(source="helpdesk", records=[rec]).accepted == 1
    solved = {**rec, "status": "solved", "updated_at": "2024-03-02T09:00:00Z"}
    stale = {**rec, "status": "pending", "updated_at": "2024-03-01T10:00:00Z"}
    assert interactions.interactions_ingest(source="helpdesk", records=[solved]).updated == 1
    assert interactions.interactions_ingest(source="helpdesk", records=[stale]).duplicates == 1
    row = Interaction.objects.get()
    assert row.status == "solved" and row.metadata == {"intent": "cancel_order"}


def test_invalid_source_is_refused():
    from ingestion.errors import IngestionError

    with pytest.raises(IngestionError):
        orders.orders_ingest(source="", records=cdnow_records(1))
    assert not Order.objects.exists()


def test_conflict_with_a_concurrent_writer_is_retried_and_counted(monkeypatch):
    """The unique constraint is the last guard: a batch that lost a race is classified again."""
    from ingestion.services import _db

    records = cdnow_records(20)
    orders.orders_ingest(source="cdnow", records=records[:10])
    real = _db.rows_by_key
    calls = {"n": 0}

    def stale_once(model, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1 and model is Order:
            return {}  # as if another writer committed these orders after our look-up
        return real(model, **kwargs)

    monkeypatch.setattr(_db, "rows_by_key", stale_once)
    result = orders.orders_ingest(source="cdnow", records=records)
    assert (result.accepted, result.duplicates) == (10, 10)
    assert Order.objects.count() == 20


def test_known_record_is_a_duplicate_without_full_validation():
    rec = cdnow_records(1)[0]
    orders.orders_ingest(source="cdnow", records=[rec])
    result = orders.orders_ingest(
        source="cdnow", records=[{**rec, "lines": "not checked: nothing is written"}]
    )
    assert (result.duplicates, result.rejected) == (1, ())
    newer_but_invalid = {**rec, "updated_at": "2030-01-01T00:00:00Z", "total": "NaN"}
    result = orders.orders_ingest(source="cdnow", records=[newer_but_invalid])
    assert result.updated == 0 and "total" in result.rejected[0].errors
    assert Order.objects.get().total == Decimal(rec["total"])


def test_ingest_batch_task_runs_the_service():
    from ingestion.tasks import ingest_batch_task

    out = ingest_batch_task.delay("orders", "cdnow", cdnow_records(30)).get()
    assert out == {"accepted": 30, "duplicates": 0, "updated": 0, "rejected": 0}
    assert IngestionBatch.objects.get().via == "task"
    with pytest.raises(ValueError):
        ingest_batch_task("customers", "cdnow", [])


def test_deleting_an_order_or_its_customer_deletes_its_lines():
    """Lines carry no database foreign key (see OrderLine): the ORM's cascade removes them."""
    orders.orders_ingest(source="shopify", records=[shopify_order()])
    order = Order.objects.get()
    assert order.lines.count() > 0
    order.delete()
    assert OrderLine.objects.count() == 0
    orders.orders_ingest(source="shopify", records=[{**shopify_order(), "external_id": "again"}])
    assert OrderLine.objects.count() > 0
    Customer.objects.filter(pk=Order.objects.get().customer_id).delete()
    assert (Order.objects.count(), OrderLine.objects.count()) == (0, 0)


def test_the_collector_is_paused_while_a_batch_is_written_and_restored_after(monkeypatch):
    import gc

    from ingestion.services import pipeline
    from ingestion.services.common import collector_paused

    seen = []
    write = pipeline._write

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_write", spy)
    orders.orders_ingest(source="cdnow", records=cdnow_records(5))
    assert seen == [False] and gc.isenabled()

    def failing(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(pipeline, "_write", failing)
    with pytest.raises(ValueError):
        orders.orders_ingest(source="cdnow", records=cdnow_records(5))
    assert gc.isenabled()

    gc.disable()  # whoever turned it off keeps it off
    try:
        with collector_paused():
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
