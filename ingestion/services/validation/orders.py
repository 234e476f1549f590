"""Order records: a fast path for orders whose every field has its common valid form, and the
field-by-field checker that reports every error (and decides whatever the fast path refuses)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ingestion.models import OrderStatus
from ingestion.services.validation.fields import (
    BAD,
    EMAIL_RE,
    MAX_LINES,
    ZERO,
    Checker,
    identity_blocked,
    money_fast,
    not_a_dict,
    parse_time,
)

_CURRENCY_RE = re.compile(r"[A-Z]{3}")  # fullmatch: "$" would let "USD\n" through
_STATUSES = frozenset(OrderStatus.values)


def line_fast(line: dict) -> tuple | None:
    """An order line with plain valid values, without building a checker; None to check it fully."""
    get = line.get
    sku, product_id, title, category = get("sku"), get("product_id"), get("title"), get("category")
    if sku is None:
        sku = ""
    elif type(sku) is not str or len(sku) > 128 or "\x00" in sku:
        return None
    if product_id is None:
        product_id = ""
    elif type(product_id) is not str or len(product_id) > 128 or "\x00" in product_id:
        return None
    if title is None:
        title = ""
    elif type(title) is not str or len(title) > 255 or "\x00" in title:
        return None
    if category is None:
        category = ""
    elif type(category) is not str or len(category) > 128 or "\x00" in category:
        return None
    qty, price, discount = get("quantity", 1), get("unit_price"), get("discount")
    if type(qty) is not int or not 0 <= qty <= 1_000_000:
        return None
    price = ZERO if price is None else money_fast(price)
    discount = ZERO if discount is None else money_fast(discount)
    if price is BAD or discount is BAD:
        return None
    return (sku, product_id, title, category, qty, price, discount)


def _order_lines(c: Checker) -> tuple[list[tuple], int]:
    raw = c.record.get("lines")
    if raw is None:
        return [], 0
    if not isinstance(raw, list):
        c.add("lines", "Must be a list.")
        return [], 0
    if len(raw) > MAX_LINES:
        c.add("lines", f"At most {MAX_LINES} lines.")
        return [], 0
    lines, items = [], 0
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            c.add(f"lines[{i}]", "Must be an object.")
            continue
        row = line_fast(line)
        if row is not None:
            lines.append(row)
            items += row[4]
            continue
        lc = Checker(line)
        qty = lc.integer("quantity", line.get("quantity"), 0, 1_000_000, 1)
        row = (
            lc.text("sku", 128),
            lc.text("product_id", 128),
            lc.text("title", 255),
            lc.text("category", 128),
            qty,
            lc.money("unit_price", default=Decimal("0.00")),
            lc.money("discount", default=Decimal("0.00")),
        )
        for field, msgs in lc.errors.items():
            c.errors.setdefault(f"lines[{i}].{field}", []).extend(msgs)
        lines.append(row)
        items += qty
    return lines, items


def order_fast(record: dict) -> dict | None:
    """The clean form of an order whose every field has its common valid form, read without a
    checker (in about half the time); None sends the record through `order_checked`, which
    gives the same result for anything accepted here (tests compare the two on hostile input)."""
    get = record.get
    external_id, cid, email = get("external_id"), get("customer_id"), get("email")
    if type(external_id) is not str or not 0 < len(external_id) <= 255 or "\x00" in external_id:
        return None
    if cid is not None:
        if type(cid) is not str or not 0 < len(cid) <= 255 or "\x00" in cid:
            return None
        if identity_blocked(cid):
            cid = None
    if email is not None:
        if type(email) is not str or not 0 < len(email) <= 254 or "\x00" in email:
            return None
        email = email.strip().lower()
        if identity_blocked(email):
            email = None
        elif not EMAIL_RE.match(email):
            return None
    if (cid is None and email is None) or get("platform_customer_id") is not None:
        return None
    currency, status, channel, raw_lines = get("currency"), get("status"), get("channel"), get("lines")
    if currency is None:
        currency = "USD"
    elif type(currency) is not str or not _CURRENCY_RE.fullmatch(currency):
        return None
    if status is None:
        status = OrderStatus.PLACED
    elif type(status) is not str or status not in _STATUSES:
        return None
    if channel is None:
        channel = ""
    elif type(channel) is not str or not 0 < len(channel) <= 64 or "\x00" in channel:
        return None
    placed_at, cancelled_at, updated_at = get("placed_at"), get("cancelled_at"), get("updated_at")
    placed_at = None if placed_at is None else parse_time(placed_at)
    if placed_at is None:
        return None
    if cancelled_at is not None and (cancelled_at := parse_time(cancelled_at)) is None:
        return None
    if updated_at is not None and (updated_at := parse_time(updated_at)) is None:
        return None
    total, subtotal = money_fast(get("total")), get("subtotal")
    discount_total, refunded_total = get("discount_total"), get("refunded_total")
    if subtotal is not None:
        subtotal = money_fast(subtotal)
    discount_total = ZERO if discount_total is None else money_fast(discount_total)
    refunded_total = ZERO if refunded_total is None else money_fast(refunded_total)
    if total is BAD or subtotal is BAD or discount_total is BAD or refunded_total is BAD:
        return None
    lines: list[tuple] = []
    item_count = 0
    if raw_lines is not None:
        if type(raw_lines) is not list or len(raw_lines) > MAX_LINES:
            return None
        for line in raw_lines:
            row = line_fast(line) if type(line) is dict else None
            if row is None:
                return None
            lines.append(row)
            item_count += row[4]
    if not lines:
        item_count = get("item_count")
        if item_count is None:
            item_count = 0
        elif type(item_count) is not int or not 0 <= item_count <= 10**9:
            return None
    return {
        "external_id": external_id,
        "customer_id": cid,
        "email": email,
        "platform_customer_id": None,
        "placed_at": placed_at,
        "currency": currency,
        "total": total,
        "subtotal": subtotal,
        "discount_total": discount_total,
        "refunded_total": refunded_total,
        "status": status,
        "cancelled_at": cancelled_at,
        "channel": channel,
        "updated_at": updated_at,
        "lines": lines,
        "item_count": item_count,
    }


def order_clean(record: Any) -> tuple[dict | None, dict[str, list[str]]]:
    if type(record) is dict and (clean := order_fast(record)) is not None:
        return clean, {}
    return order_checked(record)


def order_checked(record: Any) -> tuple[dict | None, dict[str, list[str]]]:
    """Field by field, collecting every error (the reference for `order_fast`)."""
    if (bad := not_a_dict(record)) is not None:
        return None, bad
    c = Checker(record)
    external_id = c.text("external_id", 255, required=True)
    cid, email, platform_pk = c.identity()
    currency = record.get("currency") or "USD"
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency.upper()):
        c.add("currency", "Must be a 3-letter ISO 4217 code.")
    lines, item_count = _order_lines(c)
    clean = {
        "external_id": external_id,
        "customer_id": cid,
        "email": email,
        "platform_customer_id": platform_pk,
        "placed_at": c.when("placed_at", required=True),
        "currency": currency.upper() if isinstance(currency, str) else "USD",
        "total": c.money("total", required=True),
        "subtotal": c.money("subtotal"),
        "discount_total": c.money("discount_total", default=Decimal("0.00")),
        "refunded_total": c.money("refunded_total", default=Decimal("0.00")),
        "status": c.choice("status", _STATUSES, OrderStatus.PLACED),
        "cancelled_at": c.when("cancelled_at"),
        "channel": c.text("channel", 64),
        "updated_at": c.when("updated_at"),
        "lines": lines,
        "item_count": item_count if lines else c.integer("item_count", record.get("item_count"), 0, 10**9, 0),
    }
    return (None, c.errors) if c.errors else (clean, c.errors)
