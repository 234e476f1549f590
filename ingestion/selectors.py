"""Ingestion reads that return plain values (frames are in frames.py)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from ingestion.errors import CustomerNotFound
from ingestion.models import Customer, ExternalRef, Order, OrderStatus

_MAX_MERGE_HOPS = 20


def customer_live(*, customer_id: str) -> Customer:
    """The live customer for a platform id, following merges. Raises CustomerNotFound."""
    try:
        pk = int(str(customer_id))
    except (TypeError, ValueError):
        raise CustomerNotFound(f"No customer {customer_id!r}.") from None
    for _ in range(_MAX_MERGE_HOPS):
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            break
        if customer.merged_into_id is None:
            return customer
        pk = customer.merged_into_id
    raise CustomerNotFound(f"No customer {customer_id!r}.")


def customer_summary(*, customer_id: str):
    customer = customer_live(customer_id=customer_id)
    refs = tuple(
        ExternalRef.objects.filter(customer=customer)
        .order_by("source", "external_id")
        .values_list("source", "external_id")
    )
    agg = Order.objects.filter(customer=customer).aggregate(**_order_totals())
    return _to_customer_summary(customer, refs, agg)


def _order_totals() -> dict:
    """Order count and spend net of refunds (cancelled orders count, but spend nothing)."""
    money = DecimalField(max_digits=16, decimal_places=2)
    net = F("total") - F("refunded_total")
    return {
        "order_count": Count("id"),
        "spent": Coalesce(
            Sum(net, filter=~Q(status=OrderStatus.CANCELLED), output_field=money),
            Value(0, output_field=money),
        ),
    }


def customer_summaries(*, customer_ids: list[str]) -> dict:
    """`{requested id: summary}` in four queries whatever the count; merged ids lead to their
    survivor, unknown ids are left out."""
    if not customer_ids:
        return {}
    wanted = {cid: int(cid) for cid in map(str, customer_ids) if cid.isdigit() and len(cid) <= 18}
    live = live_pks(set(wanted.values()))
    customers = Customer.objects.in_bulk(set(live.values()))
    refs: dict[int, list] = {}
    for customer_id, source, external_id in (
        ExternalRef.objects.filter(customer_id__in=customers)
        .order_by("source", "external_id")
        .values_list("customer_id", "source", "external_id")
    ):
        refs.setdefault(customer_id, []).append((source, external_id))
    aggs = {
        row["customer_id"]: row
        for row in Order.objects.filter(customer_id__in=customers)
        .values("customer_id")
        .annotate(**_order_totals())
    }
    empty = {"order_count": 0, "spent": 0}
    return {
        cid: _to_customer_summary(
            customers[live[pk]], tuple(refs.get(live[pk], ())), aggs.get(live[pk], empty)
        )
        for cid, pk in wanted.items()
        if pk in live
    }


def live_pks(pks: set[int]) -> dict[int, int]:
    """`{pk: live pk}` for the pks that exist. A merge repoints older merges to its survivor,
    so `merged_into` always names a live customer: one hop is enough."""
    rows = Customer.objects.filter(pk__in=pks).values_list("pk", "merged_into_id")
    return {pk: into or pk for pk, into in rows}


def orders_recent(*, customer_id: str, limit: int):
    from ingestion.interface import OrderSummary

    text = str(customer_id)
    if not text.isdigit() or len(text) > 18:
        return []
    pk = live_pks({int(text)}).get(int(text))
    if pk is None:
        return []
    rows = (
        Order.objects.filter(customer_id=pk)
        .order_by("-placed_at", "-id")
        .values_list("id", "placed_at", "total", "status")[: max(0, min(limit, 100))]
    )
    return [
        OrderSummary(order_id=str(i), placed_at=placed, total=float(total or 0), status=status)
        for i, placed, total, status in rows
    ]


def _to_customer_summary(customer: Customer, refs: tuple, agg: dict):
    from ingestion.interface import CustomerSummary

    return CustomerSummary(
        customer_id=str(customer.pk),
        email=customer.email,
        name=customer.name,
        first_seen_at=customer.first_seen_at,
        last_seen_at=customer.last_seen_at,
        external_refs=refs,
        order_count=agg["order_count"],
        total_spent=float(agg["spent"]),
    )


def customer_resolve(*, source: str, external_id: str) -> str | None:
    pk = (
        ExternalRef.objects.filter(source=source, external_id=str(external_id))
        .values_list("customer_id", flat=True)
        .first()
    )
    if pk is None:
        return None
    try:
        return str(customer_live(customer_id=str(pk)).pk)
    except CustomerNotFound:
        return None


def customer_ids(*, since: datetime | None = None) -> list[str]:
    qs = Customer.objects.filter(merged_into__isnull=True)
    if since is not None:
        qs = qs.filter(last_seen_at__gte=since)
    return [str(pk) for pk in qs.order_by("pk").values_list("pk", flat=True)]
