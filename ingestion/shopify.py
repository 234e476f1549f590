"""Shopify payloads -> Quimbi record dicts (pure functions, no database).

Field by field, a Shopify order (REST Admin / webhook shape) becomes the order
record that `ingestion.interface.ingest_orders` takes:

    external_id     str(id)
    customer_id     str(customer.id)            (omitted when the order has no customer)
    email           email, else contact_email, else customer.email
    placed_at       processed_at, else created_at
    total           total_price
    subtotal        subtotal_price
    discount_total  total_discounts
    refunded_total  sum of successful refund transactions (else refund line subtotals)
    currency        currency
    status          cancelled > refunded > partially_refunded > fulfilled > paid > placed
    cancelled_at    cancelled_at
    channel         source_name ("web", "pos", ...)
    updated_at      updated_at   (stale deliveries never overwrite newer state)
    lines           line_items: sku, product_id, title, category (product_type, else vendor),
                    quantity, unit_price (price), discount (discount_allocations, else
                    total_discount)

Test orders (`test: true`) are not mapped: see `is_test_order`.

Money stays in Shopify's decimal strings; the ingestion service parses it.
Absent or null fields are left out so the service applies its defaults.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal("0")
CENT = Decimal("0.01")


def order_record_from_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The Quimbi order record for one Shopify order object."""
    customer = payload.get("customer") or {}
    refunded = refunded_total_from_refunds(payload.get("refunds") or [])
    record = {
        "external_id": _str_id(payload.get("id")),
        "customer_id": _str_id(customer.get("id")),
        "email": payload.get("email") or payload.get("contact_email") or customer.get("email"),
        "placed_at": payload.get("processed_at") or payload.get("created_at"),
        "total": payload.get("total_price"),
        "subtotal": payload.get("subtotal_price"),
        "discount_total": payload.get("total_discounts"),
        "refunded_total": _money_str(refunded),
        "currency": payload.get("currency"),
        "status": order_status(
            financial_status=payload.get("financial_status"),
            fulfillment_status=payload.get("fulfillment_status"),
            cancelled_at=payload.get("cancelled_at"),
            refunded_total=refunded,
            total=_decimal(payload.get("total_price")),
        ),
        "cancelled_at": payload.get("cancelled_at"),
        "channel": payload.get("source_name"),
        "updated_at": payload.get("updated_at"),
        "lines": [line_record_from_item(item) for item in payload.get("line_items") or []],
    }
    return _without_nulls(record)


def is_test_order(payload: dict[str, Any]) -> bool:
    """Shopify marks orders placed through a test gateway `test: true`: they are not sales, so
    Quimbi does not store them (they would count as revenue in every customer's history)."""
    return payload.get("test") is True


def line_record_from_item(item: dict[str, Any]) -> dict[str, Any]:
    # Shopify documents discount_allocations as a line's discounts; total_discount is filled only
    # when a draft order, a script or the API set it, and reads "0.00" beside real allocations.
    allocations = item.get("discount_allocations") or []
    if allocations:
        discount = sum((_decimal(a.get("amount")) or ZERO for a in allocations), ZERO)
    else:
        discount = _decimal(item.get("total_discount")) or ZERO
    return _without_nulls(
        {
            "sku": item.get("sku") or "",
            "product_id": _str_id(item.get("product_id")),
            "title": item.get("title") or item.get("name") or "",
            "category": item.get("product_type") or item.get("vendor") or "",
            "quantity": item.get("quantity"),
            "unit_price": item.get("price"),
            "discount": _money_str(discount),
        }
    )


def order_status(
    *,
    financial_status: str | None,
    fulfillment_status: str | None,
    cancelled_at: str | None,
    refunded_total: Decimal,
    total: Decimal | None,
) -> str:
    """One Quimbi status from Shopify's financial/fulfilment states and refunds."""
    if cancelled_at or financial_status == "voided":
        return "cancelled"
    if financial_status == "refunded" or (
        refunded_total > ZERO and total is not None and refunded_total >= total
    ):
        return "refunded"
    if financial_status == "partially_refunded" or refunded_total > ZERO:
        return "partially_refunded"
    if fulfillment_status == "fulfilled":
        return "fulfilled"
    if financial_status == "paid":
        return "paid"
    return "placed"


def refund_amount(refund: dict[str, Any]) -> Decimal:
    """Money returned by one refund: its successful refund transactions, else
    the subtotal of its refunded line items (refunds without a transaction,
    e.g. restock-only, fall back to the lines)."""
    transactions = [
        t
        for t in refund.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status") in (None, "success")
    ]
    if transactions:
        return sum((_decimal(t.get("amount")) or ZERO for t in transactions), ZERO)
    total = ZERO
    for item in refund.get("refund_line_items") or []:
        subtotal = _decimal(item.get("subtotal"))
        if subtotal is None:
            line = item.get("line_item") or {}
            subtotal = (_decimal(line.get("price")) or ZERO) * int(item.get("quantity") or 0)
        total += subtotal
    return total


def refunded_total_from_refunds(refunds: list[dict[str, Any]]) -> Decimal:
    return sum((refund_amount(r) for r in refunds), ZERO)


def refund_time(refund: dict[str, Any]) -> str | None:
    return refund.get("processed_at") or refund.get("created_at")


def order_record_with_refund(record: dict[str, Any], refund: dict[str, Any]) -> dict[str, Any]:
    """A stored order's record with one more refund applied (refunds/create).

    The new version is dated at the refund, so the ingestion service's
    updated_at rule makes it exactly-once: a redelivered refund, or one that
    an orders/updated payload already carried, is not newer and changes nothing.
    """
    refunded = (_decimal(record.get("refunded_total")) or ZERO) + refund_amount(refund)
    total = _decimal(record.get("total"))
    status = record.get("status") or "placed"
    if status != "cancelled":
        status = "refunded" if total is not None and refunded >= total else "partially_refunded"
    return {
        **record,
        "refunded_total": _money_str(refunded),
        "status": status,
        "updated_at": refund_time(refund),
    }


def customer_data_from_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The `sync_customer` data for a Shopify customer object (customers/* or embedded):
    customer_id = str(id), email, name = "first last", phone (else the default address's), and the
    customer's updated_at, so that an older payload does not overwrite newer details."""
    address = payload.get("default_address") or {}
    name = " ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p)
    return _without_nulls(
        {
            "customer_id": _str_id(payload.get("id")),
            "email": payload.get("email"),
            "name": name or None,
            "phone": payload.get("phone") or address.get("phone"),
            "updated_at": payload.get("updated_at"),
        }
    )


def _str_id(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _money_str(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _without_nulls(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}
