"""Identity resolution and merges."""

import datetime as dt
import json
from pathlib import Path

import pytest

from ingestion import interface
from ingestion.errors import IngestionError
from ingestion.models import Customer, CustomerMerge, Event, ExternalRef, Interaction, Order
from ingestion.services import events, identity, interactions, orders
from ingestion.tests.factories import CustomerFactory, ExternalRefFactory, OrderFactory

pytestmark = pytest.mark.django_db

SHOPIFY = Path("/work/shared/data/shopify")


def order(ext, customer_id=None, email=None, day=1):
    rec = {"external_id": ext, "placed_at": f"2024-01-{day:02d}T10:00:00Z", "total": "10.00"}
    if customer_id is not None:
        rec["customer_id"] = customer_id
    if email is not None:
        rec["email"] = email
    return rec


def test_same_customer_id_and_email_resolve_to_one_customer():
    orders.orders_ingest(
        source="shop", records=[order("1", "c1"), order("2", "c1"), order("3", email="a@x.io")]
    )
    orders.orders_ingest(source="shop", records=[order("4", "c1", "A@X.io")])
    assert Customer.objects.count() == 2  # c1 and a@x.io were different customers until order 4
    assert CustomerMerge.objects.count() == 1
    live = Customer.objects.get(merged_into__isnull=True)
    assert set(Order.objects.values_list("customer_id", flat=True)) == {live.pk}


def test_merge_repoints_refs_and_history_and_keeps_everything():
    older = orders.orders_ingest(source="shop", records=[order("1", "c-old", day=5)]).customer_ids[0]
    interactions.interactions_ingest(
        source="desk",
        records=[
            {
                "external_id": "t1",
                "email": "bob@x.io",
                "kind": "ticket",
                "occurred_at": "2024-01-02T00:00:00Z",
            }
        ],
    )
    events.events_ingest(
        source="web",
        records=[
            {"message_id": "m1", "email": "bob@x.io", "name": "Viewed", "occurred_at": "2024-01-09T00:00:00Z"}
        ],
    )
    newer = interface.customer_resolve(source="email", external_id="bob@x.io")
    assert newer != older
    before = {m: m.objects.count() for m in (Order, Interaction, Event, ExternalRef)}

    result = orders.orders_ingest(source="shop", records=[order("2", "c-old", "bob@x.io", day=7)])

    assert set(result.customer_ids) >= {older, newer}
    merge = CustomerMerge.objects.get()
    assert (str(merge.merged_customer_id), str(merge.into_id)) == (newer, older)
    assert merge.evidence == {"customer_id": "c-old", "email": "bob@x.io"}
    assert merge.moved["interaction"] == 1 and merge.moved["event"] == 1 and merge.moved["externalref"] == 1
    assert Customer.objects.get(pk=newer).merged_into_id == int(older)
    for model, n in before.items():
        expected = n + (1 if model is Order else 0)
        assert model.objects.count() == expected
        assert set(model.objects.values_list("customer_id", flat=True)) == {int(older)}
    survivor = Customer.objects.get(pk=older)
    assert survivor.email == "bob@x.io"
    assert survivor.first_seen_at == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert survivor.last_seen_at == dt.datetime(2024, 1, 9, tzinfo=dt.UTC)
    summary = interface.customer_get(customer_id=newer)  # the merged id still resolves
    assert summary.customer_id == older and summary.order_count == 2
    assert ("email", "bob@x.io") in summary.external_refs and ("shop", "c-old") in summary.external_refs


def test_merge_inside_one_batch_of_new_customers_creates_one_customer():
    result = orders.orders_ingest(
        source="shop", records=[order("1", "c1"), order("2", email="z@x.io"), order("3", "c1", "z@x.io")]
    )
    assert result.accepted == 3
    assert Customer.objects.count() == 1 and not CustomerMerge.objects.exists()
    assert Customer.objects.get().email == "z@x.io"


def test_blocked_identity_values_never_link():
    records = [
        order(str(i), customer_id=v, email=f"u{i}@x.io") for i, v in enumerate(["0", "-1", "null", "00000"])
    ]
    records.append(order("9", customer_id="anonymous", email="undefined"))
    result = orders.orders_ingest(source="shop", records=records)
    assert result.accepted == 4 and len(result.rejected) == 1  # the last has no usable identity
    assert Customer.objects.count() == 4
    assert not ExternalRef.objects.filter(source="shop").exists()


def test_existing_customer_found_by_email_gets_the_new_source_ref():
    customer = CustomerFactory(email="ann@x.io")
    ExternalRefFactory(source="email", external_id="ann@x.io", customer=customer)
    orders.orders_ingest(source="pos", records=[order("1", "P-77", "ann@x.io")])
    assert interface.customer_resolve(source="pos", external_id="P-77") == str(customer.pk)
    assert Customer.objects.count() == 1


def test_seen_times_widen_in_bulk():
    customer = CustomerFactory()
    ExternalRefFactory(source="shop", external_id="c1", customer=customer)
    OrderFactory(customer=customer, source="shop")
    orders.orders_ingest(source="shop", records=[order("a", "c1", day=10), order("b", "c1", day=3)])
    customer.refresh_from_db()
    assert customer.first_seen_at.day == 3 and customer.last_seen_at.day == 10
    orders.orders_ingest(source="shop", records=[order("c", "c1", day=5)])
    customer.refresh_from_db()
    assert customer.first_seen_at.day == 3 and customer.last_seen_at.day == 10


def test_sync_customer_creates_updates_and_merges():
    payload = json.loads((SHOPIFY / "customer.json").read_text())["customer"]
    data = {
        "customer_id": payload["id"],
        "email": payload["email"],
        "name": f"{payload['first_name']} {payload['last_name']}",
        "phone": payload.get("phone") or "",
    }
    ref = interface.sync_customer(source="shopify", data=data)
    assert ref.created and ref.merged_from == ()
    again = interface.sync_customer(source="shopify", data={**data, "name": "Robert Norman"})
    assert again == interface.CustomerRef(customer_id=ref.customer_id, created=False)
    assert Customer.objects.get().name == "Robert Norman"
    other = orders.orders_ingest(source="pos", records=[order("1", "pos-9")]).customer_ids[0]
    merged = interface.sync_customer(source="pos", data={"customer_id": "pos-9", "email": payload["email"]})
    assert merged.customer_id == ref.customer_id and merged.merged_from == (other,)
    assert Order.objects.get().customer_id == int(ref.customer_id)


def test_sync_customer_rejects_invalid_data():
    with pytest.raises(IngestionError) as exc:
        interface.sync_customer(source="shopify", data={"customer_id": "0", "email": "bad"})
    assert "email" in exc.value.details
    assert not Customer.objects.exists()


def test_resolution_queries_are_bulk(django_assert_max_num_queries):
    records = [order(str(i), f"c{i % 300}", f"p{i % 300}@x.io") for i in range(1500)]
    with django_assert_max_num_queries(60):
        res = identity.customers_resolve(
            source="shop",
            identities=[(r["customer_id"], r["email"], None) for r in records],
            seen=[None] * 1500,
        )
    assert len(set(res.customer_pks)) == 300 and len(res.created) == 300


def test_new_refs_are_written_in_key_order(monkeypatch):
    """Writers that insert the same new refs in one order wait for each other, never in a cycle."""
    from ingestion.services import _db

    written, real_insert = [], _db.insert_absent

    def insert_absent(model, fields, rows):
        written.extend((source, key) for source, key, *_ in rows)
        return real_insert(model, fields, rows)

    monkeypatch.setattr(_db, "insert_absent", insert_absent)
    records = [order(str(i), f"c{(7 * i) % 10}", f"p{(3 * i) % 10}@x.io") for i in range(10)]
    orders.orders_ingest(source="shop", records=records)
    assert len(written) == 20 and written == sorted(written)


def test_a_merge_between_resolving_and_storing_moves_the_records_to_the_survivor(monkeypatch):
    """A batch stores its records after committing its customers: a merge committed in between
    is followed, so no record lands on the merged customer."""
    orders.orders_ingest(source="shop", records=[order("1", "c-a"), order("2", "c-b")])
    a, b = (ExternalRef.objects.get(source="shop", external_id=c).customer_id for c in ("c-a", "c-b"))
    real_held = identity.customers_held

    def merge_first(pks):
        identity.customer_merge(survivor_pk=a, merged_pk=b, reason="test", evidence={})
        return real_held(pks)

    monkeypatch.setattr(identity, "customers_held", merge_first)
    result = orders.orders_ingest(source="shop", records=[order("3", "c-b", day=5)])
    assert result.accepted == 1 and str(a) in result.customer_ids
    assert Order.objects.get(external_id="3").customer_id == a
    assert not Order.objects.filter(customer_id=b).exists()
    assert identity.customers_held([b, a, b]) == [a, a, a]


def _customer_deleted_after_resolving(monkeypatch, resolver: str) -> list[list[int]]:
    """Make the first resolution's customers be deleted right after it (committed before the
    batch stores its records, as another session's delete could be); returns each resolution's
    customer pks."""
    real, resolved = getattr(identity, resolver), []

    def resolve_then_delete(**kwargs):
        res = real(**kwargs)
        resolved.append(res.customer_pks)
        if len(resolved) == 1:
            for customer in Customer.objects.filter(pk__in=res.customer_pks):
                identity.customer_delete(customer)
        return res

    monkeypatch.setattr(identity, resolver, resolve_then_delete)
    return resolved


def _orders_point_at_live_customers() -> bool:
    live = set(Customer.objects.values_list("pk", flat=True))
    return set(Order.objects.values_list("customer_id", flat=True)) <= live


def test_holding_a_customer_that_is_gone_is_a_conflict():
    """Orders carry no database foreign key (see Order.customer): the hold is what refuses a
    customer that is gone, as a conflict the batch runs again for."""
    from django.db import IntegrityError

    from ingestion.services import _db

    orders.orders_ingest(source="shop", records=[order("1", "c-a")])
    gone = Order.objects.get().customer
    identity.customer_delete(gone)
    with pytest.raises(IntegrityError) as exc:
        identity.customers_held([gone.pk])
    assert _db.is_conflict(exc.value)


def test_a_customer_deleted_between_resolving_and_storing_gets_no_orders(monkeypatch):
    """The batch runs again: resolving its person again creates them anew."""
    resolved = _customer_deleted_after_resolving(monkeypatch, "customers_resolve")
    result = orders.orders_ingest(source="shop", records=[order("1", "c-a"), order("2", "c-a")])
    assert result.accepted == 2 and len(resolved) == 2
    assert _orders_point_at_live_customers()
    assert set(Order.objects.values_list("customer_id", flat=True)) == {
        ExternalRef.objects.get(source="shop", external_id="c-a").customer_id
    }


def test_a_customer_deleted_between_resolving_and_storing_a_file_chunk_gets_no_orders(monkeypatch):
    """The same in the columnar lane of file imports: its orders go through the record path."""
    from ingestion.services.order_columns import orders_chunk_ingest

    resolved = _customer_deleted_after_resolving(monkeypatch, "spans_resolve")
    lines = [json.dumps({**order(str(i), "c-a"), "total": 10.0}).encode() for i in range(3)]
    result = orders_chunk_ingest(source="shop", lines=lines)
    assert (result.accepted, result.rejected) == (3, ())
    assert len(resolved) == 2  # the lane's, then the record path's
    assert Order.objects.count() == 3 and _orders_point_at_live_customers()


def test_deleting_a_customer_deletes_their_orders_refs_and_history():
    orders.orders_ingest(source="shop", records=[order("1", "c-a", "a@x.io"), order("2", "c-b")])
    a = ExternalRef.objects.get(source="shop", external_id="c-a").customer
    interactions.interactions_ingest(
        source="desk",
        records=[{"external_id": "t1", "customer_id": "c-a", "occurred_at": "2024-01-02T00:00:00Z"}],
    )
    identity.customer_delete(a)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["2"]
    assert not ExternalRef.objects.filter(customer_id=a.pk).exists()
    assert not Interaction.objects.exists()
