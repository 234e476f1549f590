"""Shopify webhooks over HTTP: signature, dedup, stale payloads, refunds, customers."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ingestion import webhooks
from ingestion.models import Customer, ExternalRef, Order, OrderLine, WebhookDelivery
from ingestion.tests.shopify_data import load, sign

pytestmark = pytest.mark.django_db

URL = "/api/data/webhooks/shopify/"


@pytest.fixture
def deliver(anon_client, django_capture_on_commit_callbacks):
    """POST a webhook the way Shopify does; run the enqueued task (eager Celery)."""
    counter = iter(range(1, 1_000_000))

    def _deliver(topic, payload, *, webhook_id=None, event_id=None, signature=None, body=None, headers=None):
        raw = body if body is not None else json.dumps(payload).encode()
        meta = {
            "HTTP_X_SHOPIFY_TOPIC": topic,
            "HTTP_X_SHOPIFY_HMAC_SHA256": sign(raw) if signature is None else signature,
            "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id or f"wh-{next(counter)}",
            "HTTP_X_SHOPIFY_SHOP_DOMAIN": "quimbi-test.myshopify.com",
            "HTTP_X_SHOPIFY_TRIGGERED_AT": "2026-01-05T10:00:00Z",
        }
        if event_id:
            meta["HTTP_X_SHOPIFY_EVENT_ID"] = event_id
        meta.update(headers or {})
        with django_capture_on_commit_callbacks(execute=True):
            return anon_client.generic("POST", URL + topic, raw, content_type="application/json", **meta)

    return _deliver


def _order():
    return Order.objects.prefetch_related("lines").get(source="shopify", external_id="450789469")


def test_orders_create_stores_the_delivery_and_the_mapped_order(deliver):
    response = deliver("orders/create", load("order.json"), webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    delivery = WebhookDelivery.objects.get()
    assert delivery.delivery_id == "webhook:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert delivery.topic == "orders/create"
    assert delivery.shop_domain == "quimbi-test.myshopify.com"
    assert delivery.triggered_at.isoformat() == "2026-01-05T10:00:00+00:00"
    assert delivery.status == WebhookDelivery.Status.PROCESSED
    assert delivery.result["accepted"] == 1

    order = _order()
    assert order.total == Decimal("409.94")
    assert order.subtotal == Decimal("398.00")
    assert order.currency == "USD"
    assert order.channel == "web"
    assert order.status == "placed"
    assert order.placed_at.isoformat() == "2008-01-10T16:00:00+00:00"
    assert order.item_count == 3
    assert sorted(line.sku for line in order.lines.all()) == ["IPOD2008BLACK", "IPOD2008GREEN", "IPOD2008RED"]
    # The embedded customer is synced: the source id, e-mail and name all land on one customer.
    customer = order.customer
    assert customer.name == "Bob Norman"
    assert customer.email == "bob.norman@hostmail.com"
    assert ExternalRef.objects.filter(source="shopify", external_id="207119551", customer=customer).exists()
    assert Customer.objects.count() == 1


def test_same_delivery_twice_is_stored_and_processed_once(deliver):
    first = deliver("orders/create", load("order.json"), webhook_id="same-id")
    second = deliver("orders/create", load("order.json"), webhook_id="same-id")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"received": True, "duplicate": True}
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 3


def test_same_event_through_two_subscriptions_is_deduplicated_on_the_event_id(deliver):
    deliver("orders/create", load("order.json"), webhook_id="subscription-a", event_id="98880550")
    second = deliver("orders/create", load("order.json"), webhook_id="subscription-b", event_id="98880550")

    assert second.json()["duplicate"] is True
    assert WebhookDelivery.objects.get().delivery_id == "event:98880550"


def test_same_order_under_a_new_webhook_id_changes_nothing(deliver):
    deliver("orders/create", load("order.json"))
    before = _order()
    deliver("orders/updated", load("order.json"))

    assert WebhookDelivery.objects.count() == 2
    second = WebhookDelivery.objects.get(topic="orders/updated")
    assert second.status == WebhookDelivery.Status.PROCESSED
    assert second.result["duplicates"] == 1 and second.result["accepted"] == 0
    after = _order()
    assert (after.pk, after.updated_at, OrderLine.objects.count()) == (before.pk, before.updated_at, 3)


def test_stale_payload_never_overwrites_newer_state(deliver):
    newer = {**load("order.json"), "updated_at": "2008-01-12T00:00:00-05:00", "total_price": "500.00"}
    older = {**load("order.json"), "updated_at": "2008-01-11T00:00:00-05:00", "total_price": "450.00"}
    deliver("orders/updated", newer)
    response = deliver(
        "orders/updated", older, headers={"HTTP_X_SHOPIFY_TRIGGERED_AT": "2008-01-11T05:00:00Z"}
    )

    assert response.status_code == 200
    order = _order()
    assert order.total == Decimal("500.00")
    assert order.source_updated_at.isoformat() == "2008-01-12T05:00:00+00:00"


def test_orders_updated_and_cancelled_apply_newer_versions(deliver):
    deliver("orders/create", load("order.json"))
    deliver(
        "orders/updated",
        {**load("order.json"), "updated_at": "2008-01-10T12:00:00-05:00", "financial_status": "paid"},
    )
    assert _order().status == "paid"
    deliver(
        "orders/cancelled",
        {
            **load("order.json"),
            "updated_at": "2008-01-11T09:00:00-05:00",
            "cancelled_at": "2008-01-11T09:00:00-05:00",
            "cancel_reason": "customer",
        },
    )
    order = _order()
    assert order.status == "cancelled"
    assert order.cancelled_at.isoformat() == "2008-01-11T14:00:00+00:00"
    assert Order.objects.count() == 1


def test_refund_updates_the_stored_order_exactly_once(deliver):
    deliver("orders/create", load("order.json"))
    deliver("refunds/create", load("refund.json"))

    order = _order()
    assert order.refunded_total == Decimal("209.00")
    assert order.status == "partially_refunded"
    assert order.source_updated_at.isoformat() == "2016-06-20T17:35:06+00:00"
    assert OrderLine.objects.count() == 3  # lines survive the re-ingest

    # The same refund again (another subscription / a new webhook id): not counted twice.
    deliver("refunds/create", load("refund.json"))
    order.refresh_from_db()
    assert order.refunded_total == Decimal("209.00")
    # An orders/updated carrying the refund, dated after it, keeps the same total.
    deliver(
        "orders/updated",
        {
            **load("order.json"),
            "updated_at": "2016-06-20T13:36:00-04:00",
            "refunds": [load("refund.json")],
            "financial_status": "partially_refunded",
        },
    )
    order.refresh_from_db()
    assert order.refunded_total == Decimal("209.00")


def test_refund_before_its_order_is_recorded_and_skipped(deliver):
    response = deliver("refunds/create", load("refund.json"))

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PROCESSED
    assert "skipped" in delivery.result
    assert Order.objects.count() == 0


def test_a_test_order_is_acknowledged_and_not_stored(deliver):
    response = deliver("orders/create", {**load("order.json"), "test": True})

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PROCESSED
    assert "test order" in delivery.result["skipped"]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_customers_create_and_update(deliver):
    deliver("customers/create", load("customer.json"))
    customer = Customer.objects.get()
    assert (customer.name, customer.email, customer.phone) == (
        "Bob Norman",
        "bob.norman@hostmail.com",
        "555-625-1199",
    )

    deliver("customers/update", {**load("customer.json"), "first_name": "Robert", "phone": "+15550001111"})
    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("Robert Norman", "+15550001111")
    assert Customer.objects.count() == 1


def test_an_older_customer_payload_never_overwrites_newer_details(deliver):
    newer = {**load("customer.json"), "first_name": "Robert", "phone": "+15550001111"}
    newer["updated_at"] = "2020-01-01T00:00:00-05:00"
    deliver("customers/update", newer)

    deliver("customers/update", load("customer.json"))  # 2015: a late retry of an older change
    order = load("order.json")
    order["customer"] = {**order["customer"], "first_name": "Bobby", "updated_at": "2019-12-31T00:00:00Z"}
    deliver("orders/create", order)  # an order embedding an older copy of the customer

    customer = Customer.objects.get(merged_into=None, external_refs__external_id="207119551")
    assert (customer.name, customer.phone) == ("Robert Norman", "+15550001111")
    assert customer.profile_updated_at.isoformat() == "2020-01-01T05:00:00+00:00"
    assert _order().customer_id == customer.pk

    deliver("customers/update", {**newer, "first_name": "Rob", "updated_at": "2021-06-01T00:00:00Z"})
    customer.refresh_from_db()
    assert customer.name == "Rob Norman"


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing (empty header)
        "not-base64-at-all",
        "c2lnbmF0dXJl",  # base64 of something else
        "TRUNCATED",  # replaced below by a truncated real signature
        "RESERIALIZED",  # replaced below by a signature over re-serialised JSON
        "WRONGSECRET",
    ],
)
def test_bad_signature_is_401_and_stores_nothing(deliver, signature, caplog):
    raw = json.dumps(load("order.json"), indent=2).encode()
    if signature == "TRUNCATED":
        signature = sign(raw)[:-4]
    elif signature == "RESERIALIZED":
        signature = sign(json.dumps(json.loads(raw), separators=(",", ":")).encode())
    elif signature == "WRONGSECRET":
        signature = sign(raw, secret="another-apps-secret")
    response = deliver("orders/create", None, body=raw, signature=signature)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert WebhookDelivery.objects.count() == 0
    assert Order.objects.count() == 0
    assert "invalid signature" in caplog.text


def test_missing_signature_header_is_401(anon_client):
    response = anon_client.post(URL + "orders/create", load("order.json"), format="json")
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_signature_is_checked_against_the_configured_secret(deliver, settings):
    raw = json.dumps(load("customer.json")).encode()
    old_signature = sign(raw)
    settings.SHOPIFY_WEBHOOK_SECRET = "rotated-secret"
    assert deliver("customers/create", None, body=raw, signature=old_signature).status_code == 401
    assert (
        deliver("customers/create", None, body=raw, signature=sign(raw, "rotated-secret")).status_code == 200
    )


@pytest.mark.parametrize("topic", ["orders/delete", "products/create", "orders", "orders/create/extra"])
def test_unknown_topic_is_a_json_404(deliver, topic):
    response = deliver(topic, load("order.json"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert WebhookDelivery.objects.count() == 0


def test_webhook_needs_no_api_key_and_ignores_a_bad_one(deliver):
    response = deliver("customers/create", load("customer.json"), headers={"HTTP_X_API_KEY": "bogus.key"})
    assert response.status_code == 200


def test_delivery_without_ids_is_deduplicated_on_the_body(deliver):
    raw = json.dumps(load("customer.json")).encode()
    for _ in range(2):
        deliver("customers/create", None, body=raw, webhook_id="", headers={"HTTP_X_SHOPIFY_WEBHOOK_ID": ""})
    assert WebhookDelivery.objects.get().delivery_id.startswith("sha256:")


def test_processing_failure_marks_the_delivery_failed_and_still_acknowledges(deliver):
    broken = {**load("order.json"), "total_price": "not money"}
    response = deliver("orders/create", broken)

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.result["errors"][0]["errors"]["total"]
    assert Order.objects.count() == 0


def test_lost_task_is_requeued_and_processing_is_idempotent(
    deliver, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(webhooks, "_enqueue", lambda pk: None)  # the broker "lost" the task
    deliver("orders/create", load("order.json"))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.RECEIVED
    monkeypatch.undo()

    assert webhooks.webhook_deliveries_requeue() == 0  # too recent to be considered lost
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_deliveries_requeue() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PROCESSED
    assert webhooks.webhook_delivery_process(delivery_pk=delivery.pk) == "processed"
    assert Order.objects.count() == 1


def test_invalid_json_with_a_valid_signature_is_400(deliver):
    response = deliver("orders/create", None, body=b'{"id": 1,')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert WebhookDelivery.objects.count() == 0
