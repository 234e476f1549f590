"""Shopify JSON -> Quimbi records, field by field, on Shopify's own fixtures."""

from decimal import Decimal

import pytest

from ingestion import shopify
from ingestion.services.validation import customer_clean, order_clean
from ingestion.tests.shopify_data import load


def test_order_json_maps_field_by_field():
    order = load("order.json")
    record = shopify.order_record_from_payload(order)

    assert record == {
        "external_id": "450789469",
        "customer_id": "207119551",
        "email": "bob.norman@hostmail.com",
        # processed_at is absent in this fixture: created_at is the placement time.
        "placed_at": "2008-01-10T11:00:00-05:00",
        "total": "409.94",
        "subtotal": "398.00",
        "discount_total": "0.00",
        "refunded_total": "0.00",
        "currency": "USD",
        "status": "placed",  # financial_status "authorized", not cancelled, nothing refunded
        "channel": "web",
        "updated_at": "2008-01-10T11:00:00-05:00",
        "lines": [
            {
                "sku": sku,
                "product_id": "632910392",
                "title": "IPod Nano - 8gb",
                "category": "",  # neither product_type nor vendor is set
                "quantity": 1,
                "unit_price": "199.00",
                "discount": "0.00",
            }
            for sku in ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK")
        ],
    }
    assert "cancelled_at" not in record  # null in Shopify, so the service default applies


def test_orders_json_uses_processed_at_and_financial_status():
    order = load("orders.json")[0]
    record = shopify.order_record_from_payload(order)

    assert record["external_id"] == "450789469"
    assert record["customer_id"] == "207119551"
    assert record["placed_at"] == order["processed_at"] == "2008-01-10T11:00:00-05:00"
    assert record["total"] == "598.94"
    assert record["subtotal"] == "597.00"
    assert record["discount_total"] == "10.00"
    assert record["status"] == "partially_refunded"  # financial_status, though `refunds` is absent
    assert record["refunded_total"] == "0.00"
    assert "channel" not in record  # source_name is null
    assert "lines" in record and record["lines"] == []  # this list response omits line_items


def test_mapped_fixture_records_pass_the_service_validation():
    for record in (
        shopify.order_record_from_payload(load("order.json")),
        shopify.order_record_from_payload(load("orders.json")[0]),
    ):
        clean, errors = order_clean(record)
        assert errors == {}
        assert clean["placed_at"].isoformat() == "2008-01-10T16:00:00+00:00"
    clean, errors = customer_clean(shopify.customer_data_from_payload(load("customer.json")))
    assert errors == {}


def test_refund_json_amount_comes_from_its_transactions():
    refund = load("refund.json")
    assert shopify.refund_amount(refund) == Decimal("209.00")
    assert shopify.refund_time(refund) == "2016-06-20T13:35:06-04:00"


def test_refund_without_transactions_falls_back_to_refunded_lines():
    refund = {**load("refund.json"), "transactions": []}
    # Two refunded line items, one unit each at 199.00.
    assert shopify.refund_amount(refund) == Decimal("398.00")
    with_subtotals = {
        "refund_line_items": [{"quantity": 1, "subtotal": "150.50"}, {"quantity": 2, "subtotal": 20}],
        "transactions": [{"kind": "refund", "status": "failure", "amount": "999.00"}],
    }
    assert shopify.refund_amount(with_subtotals) == Decimal("170.50")


def test_order_with_embedded_refunds_sums_them_and_sets_the_status():
    order = {**load("order.json"), "refunds": [load("refund.json")], "financial_status": "partially_refunded"}
    record = shopify.order_record_from_payload(order)
    assert record["refunded_total"] == "209.00"
    assert record["status"] == "partially_refunded"


def test_refund_applied_to_a_stored_order_record():
    stored = shopify.order_record_from_payload(load("order.json"))
    record = shopify.order_record_with_refund(stored, load("refund.json"))
    assert record["refunded_total"] == "209.00"
    assert record["status"] == "partially_refunded"
    assert record["updated_at"] == "2016-06-20T13:35:06-04:00"
    assert {k: v for k, v in record.items() if k not in ("refunded_total", "status", "updated_at")} == {
        k: v for k, v in stored.items() if k not in ("refunded_total", "status", "updated_at")
    }
    twice = shopify.order_record_with_refund(
        record, {**load("refund.json"), "created_at": "2016-06-21T00:00:00Z"}
    )
    assert twice["refunded_total"] == "418.00"
    assert twice["status"] == "refunded"  # 418.00 >= 409.94


def test_cancelled_order():
    order = {**load("order.json"), "cancelled_at": "2008-01-11T09:00:00-05:00", "cancel_reason": "customer"}
    record = shopify.order_record_from_payload(order)
    assert record["status"] == "cancelled"
    assert record["cancelled_at"] == "2008-01-11T09:00:00-05:00"


@pytest.mark.parametrize(
    ("financial", "fulfillment", "cancelled", "refunded", "expected"),
    [
        ("pending", None, None, "0", "placed"),
        ("authorized", None, None, "0", "placed"),
        ("paid", None, None, "0", "paid"),
        ("paid", "fulfilled", None, "0", "fulfilled"),
        ("paid", "fulfilled", None, "10", "partially_refunded"),
        ("paid", None, None, "409.94", "refunded"),
        ("refunded", None, None, "0", "refunded"),
        ("voided", None, None, "0", "cancelled"),
        ("refunded", None, "2008-01-11T00:00:00Z", "409.94", "cancelled"),
    ],
)
def test_order_status_precedence(financial, fulfillment, cancelled, refunded, expected):
    assert (
        shopify.order_status(
            financial_status=financial,
            fulfillment_status=fulfillment,
            cancelled_at=cancelled,
            refunded_total=Decimal(refunded),
            total=Decimal("409.94"),
        )
        == expected
    )


def test_line_discount_and_category_fallbacks():
    line = shopify.line_record_from_item(
        {
            "sku": None,
            "product_id": 1,
            "name": "Mug - blue",
            "vendor": "Acme",
            "quantity": 2,
            "price": "12.50",
            "discount_allocations": [{"amount": "1.25"}, {"amount": "0.75"}],
        }
    )
    assert line == {
        "sku": "",
        "product_id": "1",
        "title": "Mug - blue",
        "category": "Acme",
        "quantity": 2,
        "unit_price": "12.50",
        "discount": "2.00",
    }
    assert shopify.line_record_from_item({"product_type": "Shirts", "vendor": "Acme"})["category"] == "Shirts"


def test_line_discount_comes_from_the_allocations_before_total_discount():
    item = {"price": "20.00", "quantity": 1, "total_discount": "0.00"}
    assert shopify.line_record_from_item(item)["discount"] == "0.00"
    allocated = {**item, "discount_allocations": [{"amount": "4.00", "discount_application_index": 0}]}
    assert shopify.line_record_from_item(allocated)["discount"] == "4.00"  # a discount code's share
    assert shopify.line_record_from_item({**item, "total_discount": "1.50"})["discount"] == "1.50"


def test_test_orders_are_recognised():
    assert shopify.is_test_order({**load("order.json"), "test": True})
    assert not shopify.is_test_order(load("order.json"))  # "test": false
    assert not shopify.is_test_order({"id": 1})


def test_customer_json_maps_field_by_field():
    assert shopify.customer_data_from_payload(load("customer.json")) == {
        "customer_id": "207119551",
        "email": "bob.norman@hostmail.com",
        "name": "Bob Norman",
        "phone": "555-625-1199",  # no top-level phone: the default address's
        "updated_at": "2015-05-27T18:11:24-04:00",  # an older payload leaves newer details alone
    }
    embedded = load("orders.json")[0]["customer"]
    assert shopify.customer_data_from_payload(embedded)["phone"] == "+16136120707"


def test_order_without_customer_keeps_the_email_only():
    order = {**load("order.json"), "customer": None, "email": "", "contact_email": "guest@example.com"}
    record = shopify.order_record_from_payload(order)
    assert "customer_id" not in record
    assert record["email"] == "guest@example.com"
