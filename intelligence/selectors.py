"""Read-only queries over stored intelligence."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet

from intelligence import interface
from intelligence.errors import InvalidQuery
from intelligence.models import Archetype, CustomerIntelligence, ModelVersion

QUERY_FIELDS = {
    "churn_probability": "churn_probability",
    "predicted_ltv": "predicted_ltv",
    "archetype": "archetype",
    "days_since_last_order": "days_since_last_order",
    "order_count": "order_count",
    "total_spent": "total_spent",
    "risk_band": "risk_band",
    "has_open_support_interaction": "has_open_support_interaction",
    "value_at_risk": "value_at_risk",
}
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "between")
MAX_DEPTH = 8


def _condition(node: dict[str, Any]) -> Q:
    name, op, value = node.get("field"), node.get("op", "eq"), node.get("value")
    if not isinstance(name, str):
        raise InvalidQuery("Each condition needs a field.", details={"node": node})
    if name.startswith("axis:"):
        axis = name.split(":", 1)[1]
        if not axis.isidentifier():
            raise InvalidQuery(f"Unknown axis {axis!r}.")
        column = f"axes__{axis}__label"
        if op not in ("eq", "ne", "in"):
            raise InvalidQuery("Axis conditions support eq, ne and in.", details={"field": name})
    elif name in QUERY_FIELDS:
        column = QUERY_FIELDS[name]
    else:
        raise InvalidQuery(f"Unknown field {name!r}.", details={"fields": [*QUERY_FIELDS, "axis:<axis>"]})
    if op not in OPS:
        raise InvalidQuery(f"Unknown op {op!r}.", details={"ops": list(OPS)})
    if op == "eq":
        return Q(**{column: value})
    if op == "ne":
        return ~Q(**{column: value})
    if op == "in":
        if not isinstance(value, list):
            raise InvalidQuery("`in` takes a list.", details={"field": name})
        return Q(**{f"{column}__in": value})
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidQuery("`between` takes [low, high].", details={"field": name})
        return Q(**{f"{column}__gte": value[0], f"{column}__lte": value[1]})
    return Q(**{f"{column}__{op}": value})


def filters_to_q(filters: dict[str, Any], depth: int = 0) -> Q:
    """{"all": [...]} / {"any": [...]} / {"not": node} trees of conditions -> one Q."""
    if depth > MAX_DEPTH:
        raise InvalidQuery("The filter is nested too deeply.")
    if not isinstance(filters, dict):
        raise InvalidQuery("Each filter node must be an object.")
    if not filters:
        return Q()
    if "all" in filters or "any" in filters:
        key = "all" if "all" in filters else "any"
        nodes = filters[key]
        if not isinstance(nodes, list):
            raise InvalidQuery(f"`{key}` takes a list.")
        q = Q()
        for node in nodes:
            part = filters_to_q(node, depth + 1)
            q = (q & part) if key == "all" else (q | part)
        return q
    if "not" in filters:
        return ~filters_to_q(filters["not"], depth + 1)
    return _condition(filters)


def customers_query(*, filters: dict[str, Any], limit: int = 100) -> interface.CustomerQueryResult:
    limit = max(0, min(int(limit), 100_000))
    qs = CustomerIntelligence.objects.filter(filters_to_q(filters or {}))
    try:
        count = qs.count()
        ids = list(
            qs.order_by(F("value_at_risk").desc(nulls_last=True), "customer_id").values_list(
                "customer_id", flat=True
            )[:limit]
        )
    except (TypeError, ValueError) as exc:
        raise InvalidQuery(f"A filter value has the wrong type: {exc}") from exc
    return interface.CustomerQueryResult(count=count, customer_ids=tuple(ids))


def versions_list(*, limit: int = 50) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.defer("artifact").order_by("-trained_at", "-id")[:limit]


def archetypes_of(*, version: ModelVersion | None) -> list[Archetype]:
    if version is None:
        return []
    return list(Archetype.objects.filter(model_version=version).order_by("-size"))


def distributions(*, bins: int = 10) -> dict[str, Any]:
    """Histograms of churn probability and predicted LTV, counts per risk band (for the staff page)."""
    import numpy as np
    from django.db.models import Count

    values = np.array(
        CustomerIntelligence.objects.exclude(churn_probability=None)
        .exclude(predicted_ltv=None)
        .values_list("churn_probability", "predicted_ltv"),
        dtype=float,
    ).reshape(-1, 2)
    churn_counts, churn_edges = np.histogram(values[:, 0], bins=bins, range=(0.0, 1.0))
    ltv = values[:, 1]
    top = float(np.percentile(ltv, 99)) if len(ltv) else 1.0
    ltv_counts, ltv_edges = np.histogram(np.clip(ltv, 0, top), bins=bins, range=(0.0, max(top, 1.0)))
    bands = dict(CustomerIntelligence.objects.values_list("risk_band").annotate(n=Count("id")).order_by())
    return {
        "customers": len(values),
        "churn": {"labels": [f"{e:.0%}" for e in churn_edges[:-1]], "counts": churn_counts.tolist()},
        "ltv": {"labels": [f"{e:,.0f}" for e in ltv_edges[:-1]], "counts": ltv_counts.tolist()},
        "risk_bands": bands,
    }


def order_timeline(*, customer_id: str, as_of=None, limit: int = 200) -> list[dict[str, Any]]:
    """The customer's orders (date, net value) through ingestion's frame reader, newest `limit`."""
    from ingestion import interface as ingestion

    orders = ingestion.orders_frame(customer_ids=[customer_id])
    if not len(orders):
        return []
    orders = orders.sort_values("placed_at").tail(limit)
    refunded = orders["refunded_total"].fillna(0.0)
    return [
        {
            "date": placed.date().isoformat(),
            "value": round(float(total - refund), 2),
            "status": str(status or ""),
        }
        for placed, total, refund, status in zip(
            orders["placed_at"], orders["total"].fillna(0.0), refunded, orders["status"], strict=True
        )
    ]


def recent_orders(*, customer_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The customer's newest orders, for profile views (Klaviyo-style customer detail)."""
    from ingestion import interface as ingestion

    return [
        {
            "order_id": o.order_id,
            "placed_at": o.placed_at.isoformat(),
            "total": round(o.total, 2),
            "status": o.status,
        }
        for o in ingestion.orders_recent(customer_id=customer_id, limit=limit)
    ]


METRIC_NAMES = ("roc_auc", "pr_auc", "brier", "spearman", "top_decile_capture", "mae")
_METRIC_SOURCES = {
    "roc_auc": ("churn", ("roc_auc",)),
    "pr_auc": ("churn", ("pr_auc",)),
    "brier": ("churn", ("brier",)),
    "spearman": ("ltv", ("spend_spearman", "spearman", "spearman_buyers")),
    "top_decile_capture": ("ltv", ("top_decile_capture",)),
    "mae": ("ltv", ("mae", "mae_buyers")),
}


def version_metrics(*, version: ModelVersion) -> dict[str, Any]:
    """The headline validation metrics of a version, flat (None when the model did not report one)."""
    metrics = version.metrics or {}
    out: dict[str, Any] = {
        "churn_model": metrics.get("churn", {}).get("model"),
        "ltv_model": metrics.get("ltv", {}).get("model"),
    }
    for name, (kind, keys) in _METRIC_SOURCES.items():
        values = metrics.get(kind, {})
        out[name] = next((values[k] for k in keys if isinstance(values.get(k), (int, float))), None)
    return out
