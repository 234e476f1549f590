"""Records that name their customer by the platform's own id (as support and marketing do)."""

import pytest

from ingestion import interface
from ingestion.models import Customer, CustomerMerge, ExternalRef, Interaction
from ingestion.services import identity, orders

pytestmark = pytest.mark.django_db


def ticket(ext, **who):
    return {"external_id": ext, "occurred_at": "2026-11-20T10:00:00Z", "kind": "support_ticket", **who}


def test_platform_id_lands_on_that_customer_even_without_an_email():
    pk = orders.orders_ingest(
        source="shop",
        records=[{"external_id": "o1", "customer_id": "s1", "placed_at": "2026-01-01", "total": 5}],
    ).customer_ids[0]
    result = interface.ingest_interactions(
        source="support",
        records=[ticket("t1", platform_customer_id=pk), ticket("t2", platform_customer_id=int(pk))],
    )
    assert (result.accepted, result.rejected) == (2, ())
    assert Customer.objects.count() == 1
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {int(pk)}
    # No reference is invented: the platform id is not a source's id.
    assert not ExternalRef.objects.filter(source="support").exists()


def test_merged_platform_id_follows_to_the_survivor():
    a = interface.sync_customer(source="shop", data={"customer_id": "a", "email": "a@x.io"}).customer_id
    b = interface.sync_customer(source="crm", data={"customer_id": "b"}).customer_id
    interface.sync_customer(source="crm", data={"customer_id": "b", "email": "a@x.io"})  # b is a
    assert CustomerMerge.objects.get().merged_customer_id == int(b)
    interface.ingest_interactions(source="support", records=[ticket("t1", platform_customer_id=b)])
    assert Interaction.objects.get().customer_id == int(a)


def test_platform_id_with_a_new_email_links_the_email():
    pk = interface.sync_customer(source="shop", data={"customer_id": "s1"}).customer_id
    interface.ingest_interactions(
        source="support", records=[ticket("t1", platform_customer_id=pk, email="Ann@Example.com")]
    )
    assert interface.customer_resolve(source="email", external_id="ann@example.com") == pk
    assert Customer.objects.get(pk=pk).email == "ann@example.com"


def test_platform_id_and_another_customers_source_id_prove_one_person():
    a = interface.sync_customer(source="shop", data={"customer_id": "a"}).customer_id
    b = interface.sync_customer(source="desk", data={"customer_id": "b"}).customer_id
    interface.ingest_interactions(
        source="desk", records=[ticket("t1", platform_customer_id=a, customer_id="b")]
    )
    assert Customer.objects.get(pk=b).merged_into_id == int(a)
    assert Interaction.objects.get().customer_id == int(a)


@pytest.mark.parametrize("bad", ["abc", "-3", "0", "1.5", True, [1], "9" * 30, "\u0661\u0662"])
def test_malformed_platform_ids_are_rejected(bad):
    result = interface.ingest_interactions(source="support", records=[ticket("t1", platform_customer_id=bad)])
    assert result.accepted == 0
    assert "platform_customer_id" in result.rejected[0].errors
    assert not Interaction.objects.exists() and not Customer.objects.exists()


def test_unknown_platform_id_is_rejected_and_the_rest_of_the_batch_stored():
    pk = interface.sync_customer(source="shop", data={"customer_id": "s1"}).customer_id
    result = interface.ingest_interactions(
        source="support",
        records=[ticket("t1", platform_customer_id=pk), ticket("t2", platform_customer_id=int(pk) + 1000)],
    )
    assert result.accepted == 1
    (error,) = result.rejected
    assert (error.index, error.external_id) == (1, "t2")
    assert error.errors == {"platform_customer_id": ["No such customer."]}
    assert Customer.objects.count() == 1


def test_errors_come_in_record_order_whatever_pass_found_them():
    pk = interface.sync_customer(source="shop", data={"customer_id": "s1"}).customer_id
    result = interface.ingest_interactions(
        source="support",
        records=[
            ticket("t1", platform_customer_id=int(pk) + 1000),  # found unknown after the field checks
            ticket("t2", platform_customer_id=pk),
            ticket("t3", platform_customer_id="abc"),  # found by the field checks
        ],
    )
    assert [(e.index, e.external_id) for e in result.rejected] == [(0, "t1"), (2, "t3")]


def test_sync_customer_by_platform_id():
    pk = interface.sync_customer(source="shop", data={"customer_id": "s1"}).customer_id
    ref = interface.sync_customer(source="support", data={"platform_customer_id": pk, "name": "Ann"})
    assert ref.customer_id == pk and Customer.objects.get(pk=pk).name == "Ann"
    with pytest.raises(Exception, match="Invalid customer record"):
        interface.sync_customer(source="support", data={"platform_customer_id": int(pk) + 99})


def test_platform_ids_cost_one_query(django_assert_max_num_queries):
    pks = [
        interface.sync_customer(source="shop", data={"customer_id": f"s{i}"}).customer_id for i in range(5)
    ]
    with django_assert_max_num_queries(1):
        known = identity.platform_customers({int(p) for p in pks} | {10**9})
    assert known == {int(p): int(p) for p in pks}
