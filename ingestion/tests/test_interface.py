"""The public interface: readers of single customers and ids."""

import datetime as dt

import pytest

from ingestion import interface
from ingestion.errors import CustomerNotFound
from ingestion.tests.factories import CustomerFactory, ExternalRefFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_customer_get_summarises_orders_net_of_refunds():
    customer = CustomerFactory(email="ann@x.io", name="Ann")
    ExternalRefFactory(customer=customer, source="shop", external_id="A1")
    OrderFactory(customer=customer, total="100.00", refunded_total="20.00")
    OrderFactory(customer=customer, total="50.00", status="cancelled")
    summary = interface.customer_get(customer_id=str(customer.pk))
    assert summary.order_count == 2 and summary.total_spent == 80.0
    assert summary.external_refs == (("shop", "A1"),)
    assert (summary.email, summary.name) == ("ann@x.io", "Ann")


@pytest.mark.parametrize("bad", ["999999", "abc", "", "1; DROP TABLE"])
def test_customer_get_unknown_raises(bad):
    with pytest.raises(CustomerNotFound):
        interface.customer_get(customer_id=bad)


def test_customers_get_matches_customer_get_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    people = [CustomerFactory(email=f"p{i}@x.io") for i in range(6)]
    for i, person in enumerate(people):
        ExternalRefFactory(customer=person, source="shop", external_id=f"S{i}")
        OrderFactory(customer=person, total="10.00", refunded_total="0.00")
    merged = CustomerFactory(merged_into=people[0])
    ids = [str(p.pk) for p in people] + [str(merged.pk), "999999", "abc"]
    with django_assert_max_num_queries(4):
        got = interface.customers_get(customer_ids=ids)
    assert set(got) == set(ids[:7])  # unknown and malformed ids are left out
    for cid in ids[:7]:
        assert got[cid] == interface.customer_get(customer_id=cid)
    assert got[str(merged.pk)].customer_id == str(people[0].pk)
    assert interface.customers_get(customer_ids=[]) == {}


def test_orders_recent_newest_first_in_two_queries(django_assert_num_queries):
    customer = CustomerFactory()
    merged = CustomerFactory(merged_into=customer)
    for day in (3, 1, 2):
        OrderFactory(
            customer=customer, total=f"{day}0.00", placed_at=dt.datetime(2026, 1, day, tzinfo=dt.UTC)
        )
    with django_assert_num_queries(2):  # the live customer, then the orders
        recent = interface.orders_recent(customer_id=str(merged.pk), limit=2)
    assert [(o.placed_at.day, o.total) for o in recent] == [(3, 30.0), (2, 20.0)]
    assert interface.orders_recent(customer_id="999999") == []
    assert interface.orders_recent(customer_id="x; drop") == []


def test_customer_resolve_and_ids():
    a, b = CustomerFactory(), CustomerFactory()
    ExternalRefFactory(customer=a, source="shop", external_id="A")
    b.merged_into = a
    b.save()
    a.last_seen_at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    a.save()
    assert interface.customer_resolve(source="shop", external_id="A") == str(a.pk)
    assert interface.customer_resolve(source="shop", external_id="nope") is None
    assert interface.customer_ids() == [str(a.pk)]
    assert interface.customer_ids(since=dt.datetime(2024, 7, 1, tzinfo=dt.UTC)) == []
    assert interface.customer_get(customer_id=str(b.pk)).customer_id == str(a.pk)


def test_ingest_functions_return_results():
    rec = {"external_id": "1", "customer_id": "c", "placed_at": "2024-01-01T00:00:00Z", "total": 1}
    result = interface.ingest_orders(source="shop", records=[rec, {"external_id": "2"}])
    assert (result.accepted, len(result.rejected), result.received) == (1, 1, 2)
    assert result.rejected[0].external_id == "2"
