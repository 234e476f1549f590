"""Shopify webhooks: verify, store the delivery, acknowledge, process in a task.

Exactly once, in three layers:
1. the HMAC proves the body came from Shopify (else 401 and nothing stored);
2. a delivery is stored once per `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`,
   else the body's hash) under a unique constraint, before the 200 goes out;
3. processing goes through `ingest_orders` / `sync_customer`, which dedup on
   (source, external id) and never let an older `updated_at` overwrite a newer one,
   so a retry or a stale payload changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ingestion import interface, shopify
from ingestion.errors import IngestionError, WebhookSignatureInvalid
from ingestion.models import Order, WebhookDelivery

logger = logging.getLogger("quimbi.ingestion.webhooks")

SHOPIFY_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
        "customers/create",
        "customers/update",
    }
)
# A delivery still `received` after this long lost its task (broker down, worker killed).
REQUEUE_AFTER = timedelta(minutes=5)
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


class WebhookPayloadInvalid(IngestionError):
    """The webhook body is not a JSON object."""

    code = "parse_error"
    http_status = 400


@dataclass(frozen=True)
class WebhookReceipt:
    delivery_id: str
    created: bool


def shopify_source() -> str:
    return getattr(settings, "SHOPIFY_SOURCE", "shopify")


def shopify_signature_valid(*, raw_body: bytes, signature: str | None, secret: str) -> bool:
    """base64(HMAC-SHA256(raw body, secret)) == header, compared in constant time."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def shopify_webhook_receive(*, topic: str, raw_body: bytes, headers: dict[str, Any]) -> WebhookReceipt:
    """Verify and store one delivery, then enqueue its processing (after commit).

    `headers` is the WSGI environ (`request.META`). Raises WebhookSignatureInvalid
    (nothing stored) or WebhookPayloadInvalid.
    """
    secret = getattr(settings, "SHOPIFY_WEBHOOK_SECRET", "")
    if not shopify_signature_valid(
        raw_body=raw_body, signature=headers.get("HTTP_X_SHOPIFY_HMAC_SHA256"), secret=secret
    ):
        logger.warning(
            "shopify webhook rejected: invalid signature (topic=%s shop=%s webhook_id=%s)",
            topic,
            _header(headers, "HTTP_X_SHOPIFY_SHOP_DOMAIN")[:255],
            _header(headers, "HTTP_X_SHOPIFY_WEBHOOK_ID")[:64],
        )
        raise WebhookSignatureInvalid("The X-Shopify-Hmac-Sha256 signature is missing or wrong.")
    payload = _payload(raw_body)
    delivery_id = _delivery_key(headers, topic=topic, raw_body=raw_body)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                source=shopify_source(),
                delivery_id=delivery_id,
                topic=topic,
                shop_domain=_header(headers, "HTTP_X_SHOPIFY_SHOP_DOMAIN")[:255],
                triggered_at=_parse_time(_header(headers, "HTTP_X_SHOPIFY_TRIGGERED_AT")),
                payload=payload,
            )
    except IntegrityError:
        existing = WebhookDelivery.objects.filter(source=shopify_source(), delivery_id=delivery_id).first()
        if existing is not None and existing.status == WebhookDelivery.Status.RECEIVED:
            _enqueue(existing.pk)  # the first attempt's task may have been lost; processing is idempotent
        return WebhookReceipt(delivery_id=delivery_id, created=False)
    _enqueue(delivery.pk)
    return WebhookReceipt(delivery_id=delivery_id, created=True)


def webhook_delivery_process(*, delivery_pk: int) -> str:
    """Process one stored delivery; idempotent (a processed delivery is left alone).

    Returns the delivery's status. Database outages propagate (the task retries);
    any other failure marks the delivery `failed` with the reason.
    """
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_pk).first()
        if delivery is None or delivery.status == WebhookDelivery.Status.PROCESSED:
            return delivery.status if delivery else "missing"
        try:
            with transaction.atomic():
                result = _HANDLERS[delivery.topic.split("/")[0]](delivery)
        except OperationalError:
            raise
        except Exception as exc:
            logger.exception("shopify webhook %s failed", delivery.pk)
            result = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
        failed = bool(result.get("error") or result.get("errors"))
        delivery.status = WebhookDelivery.Status.FAILED if failed else WebhookDelivery.Status.PROCESSED
        delivery.result = result
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["status", "result", "processed_at"])
        return delivery.status


def webhook_deliveries_requeue(*, older_than: timedelta = REQUEUE_AFTER) -> int:
    """Re-enqueue deliveries whose task was lost. Safe to run any time."""
    pks = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.RECEIVED, received_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)[:10_000]
    )
    for pk in pks:
        _enqueue(pk)
    return len(pks)


# --- Topic handlers --------------------------------------------------------------


def _process_order(delivery: WebhookDelivery) -> dict:
    payload = delivery.payload
    if shopify.is_test_order(payload):
        return {"skipped": "a test order (test: true) is not a sale"}
    source = shopify_source()
    customer = payload.get("customer")
    synced = None
    if isinstance(customer, dict) and customer.get("id") is not None:
        synced = interface.sync_customer(source=source, data=shopify.customer_data_from_payload(customer))
    result = interface.ingest_orders(source=source, records=[shopify.order_record_from_payload(payload)])
    return {**_result_dict(result), "customer_id": synced.customer_id if synced else None}


def _process_refund(delivery: WebhookDelivery) -> dict:
    refund = delivery.payload
    source = shopify_source()
    order = (
        Order.objects.select_related("customer")
        .prefetch_related("lines", "customer__external_refs")
        .filter(source=source, external_id=str(refund.get("order_id")))
        .first()
    )
    if order is None:
        # Shopify's orders/updated for the same refund carries the refunds array.
        return {"skipped": "order not stored yet; its orders/updated delivery carries the refund"}
    if shopify.refund_time(refund) is None:
        refund = {**refund, "created_at": (delivery.triggered_at or delivery.received_at).isoformat()}
    record = shopify.order_record_with_refund(_stored_order_record(order, source=source), refund)
    return _result_dict(interface.ingest_orders(source=source, records=[record]))


def _process_customer(delivery: WebhookDelivery) -> dict:
    ref = interface.sync_customer(
        source=shopify_source(), data=shopify.customer_data_from_payload(delivery.payload)
    )
    return {"customer_id": ref.customer_id, "created": ref.created, "merged_from": list(ref.merged_from)}


_HANDLERS = {"orders": _process_order, "refunds": _process_refund, "customers": _process_customer}


def _stored_order_record(order: Order, *, source: str) -> dict[str, Any]:
    """The stored order as an order record (what re-ingesting it would send)."""
    refs = [r.external_id for r in order.customer.external_refs.all() if r.source == source]
    record = {
        "external_id": order.external_id,
        "customer_id": refs[0] if refs else None,
        "email": order.customer.email or None,
        "placed_at": order.placed_at.isoformat(),
        "total": str(order.total),
        "subtotal": None if order.subtotal is None else str(order.subtotal),
        "discount_total": str(order.discount_total),
        "refunded_total": str(order.refunded_total),
        "currency": order.currency,
        "status": order.status,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "channel": order.channel,
        "updated_at": order.source_updated_at.isoformat() if order.source_updated_at else None,
        "lines": [
            {
                "sku": line.sku,
                "product_id": line.product_id,
                "title": line.title,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "discount": str(line.discount),
            }
            for line in order.lines.all()
        ],
    }
    return {k: v for k, v in record.items() if v is not None}


# --- Helpers -----------------------------------------------------------------------


def _enqueue(delivery_pk: int) -> None:
    from ingestion.webhook_tasks import shopify_webhook_process

    try:
        shopify_webhook_process.delay_on_commit(delivery_pk)
    except Exception:
        # Broker down (kombu errors) or an eager task hitting a database outage: the
        # delivery is stored before the ACK either way, and webhook_deliveries_requeue
        # picks it up later.
        logger.exception("shopify webhook %s stored, processing deferred", delivery_pk)


def _payload(raw_body: bytes) -> dict:
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookPayloadInvalid("The body is not valid UTF-8.") from exc
    if "\x00" in text or "\\u0000" in text or _LONE_SURROGATE.search(text):
        raise WebhookPayloadInvalid("The body holds NUL characters or unpaired surrogates.")
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
        # What the JSONField will do: deep nesting and 1e400 (= inf) fail here, not at save.
        json.dumps(payload, allow_nan=False)
    except (ValueError, RecursionError) as exc:
        raise WebhookPayloadInvalid("The body is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadInvalid("The body must be a JSON object.")
    return payload


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _delivery_key(headers: dict[str, Any], *, topic: str, raw_body: bytes) -> str:
    # One event reaches us once per subscription, each with its own webhook id:
    # the event id is the stronger key when Shopify sends it.
    event_id = _header(headers, "HTTP_X_SHOPIFY_EVENT_ID")
    webhook_id = _header(headers, "HTTP_X_SHOPIFY_WEBHOOK_ID")
    if event_id:
        key = f"event:{event_id}"
    elif webhook_id:
        key = f"webhook:{webhook_id}"
    else:
        key = "sha256:" + hashlib.sha256(topic.encode() + b"\0" + raw_body).hexdigest()
    if len(key) > 255:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _header(headers: dict[str, Any], name: str) -> str:
    value = headers.get(name)
    return value.strip() if isinstance(value, str) else ""


def _parse_time(value: str):
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _result_dict(result: interface.IngestResult) -> dict:
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "updated": result.updated,
        "errors": [
            {"index": e.index, "external_id": e.external_id, "errors": e.errors} for e in result.rejected
        ],
    }
