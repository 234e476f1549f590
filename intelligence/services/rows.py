"""From the ML score frame to CustomerIntelligence rows (vectorised column conversion)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from intelligence.models import CustomerIntelligence, ModelVersion

SCORED_FIELDS = [
    "as_of",
    "horizon_days",
    "computed_at",
    "model_version",
    "churn_model",
    "ltv_model",
    "churn_confidence",
    "ltv_confidence",
    "churn_probability",
    "risk_band",
    "top_factors",
    "recommendations",
    "predicted_ltv",
    "ltv_p10",
    "ltv_p90",
    "expected_orders",
    "p_purchase",
    "expected_next_order_date",
    "value_at_risk",
    "archetype",
    "archetype_key",
    "axes",
    "features",
    "order_count",
    "total_spent",
    "days_since_last_order",
    "has_open_support_interaction",
    "stale",
]


def feature_names(frame) -> list[str]:
    from intelligence.ml.features import FEATURE_CATALOGUE

    return [spec.name for spec in FEATURE_CATALOGUE if spec.name in frame.columns]


def _floats(frame, column: str, digits: int = 6) -> list[float | None]:
    import numpy as np

    if column not in frame.columns:
        return [None] * len(frame)
    values = frame[column].to_numpy(dtype=float, na_value=np.nan).round(digits)
    return np.where(np.isnan(values), None, values).tolist()


def _strings(frame, column: str, default: str = "") -> list[str]:
    if column not in frame.columns:
        return [default] * len(frame)
    return frame[column].fillna(default).astype(str).tolist()


def _objects(frame, column: str, default) -> list[Any]:
    if column not in frame.columns:
        return [default() for _ in range(len(frame))]
    return [v if isinstance(v, (list, dict)) else default() for v in frame[column].tolist()]


def _dates(frame, column: str) -> list[date | None]:
    import numpy as np
    import pandas as pd

    if column not in frame.columns:
        return [None] * len(frame)
    values = pd.to_datetime(frame[column], errors="coerce")
    days = values.dt.date.to_numpy(dtype=object)
    return np.where(values.isna().to_numpy(), None, days).tolist()


def score_columns(*, scores, version: ModelVersion, as_of: date, computed_at: datetime) -> dict[str, list]:
    """customer_id and every SCORED_FIELDS value, one list per field, one entry per scored customer.

    Converted column by column (JSON fields as Python lists and dicts); the batch writer
    copies these lists straight into the database, and rows_from_scores builds instances.
    """
    import numpy as np

    n = len(scores)
    names = feature_names(scores)
    matrix = scores[names].to_numpy(dtype=float, na_value=np.nan).round(4) if names else np.empty((n, 0))
    matrix = np.where(np.isnan(matrix), None, matrix).tolist()
    churn = _floats(scores, "churn_probability")
    spend = _floats(scores, "predicted_spend", 2)
    churn_a = np.asarray(churn, dtype=float)  # None -> NaN
    spend_a = np.asarray(spend, dtype=float)
    value_at_risk = np.round(churn_a * spend_a, 4)
    order_count = np.nan_to_num(np.asarray(_floats(scores, "order_count", 0), dtype=float), nan=0.0)
    total = np.nan_to_num(np.asarray(_floats(scores, "total_spend", 2), dtype=float), nan=0.0)
    recency = np.asarray(_floats(scores, "days_since_last_order", 0), dtype=float)
    open_share = np.nan_to_num(np.asarray(_floats(scores, "open_interaction_share"), dtype=float), nan=0.0)
    if "horizon_days" in scores:
        horizon = scores["horizon_days"].astype(int).tolist()
    else:
        horizon = [version.horizon_days] * n
    return {
        "customer_id": scores.index.astype(str).tolist(),
        "as_of": [as_of] * n,
        "horizon_days": horizon,
        "computed_at": [computed_at] * n,
        "model_version": [version] * n,
        "churn_model": _strings(scores, "churn_model"),
        "ltv_model": _strings(scores, "ltv_model"),
        "churn_confidence": _strings(scores, "churn_confidence", "low"),
        "ltv_confidence": _strings(scores, "ltv_confidence", "low"),
        "churn_probability": churn,
        "risk_band": _strings(scores, "risk_band", "unknown"),
        # explain.top_factors and explain.recommendations build these in their stored shape.
        "top_factors": _objects(scores, "top_factors", list),
        "recommendations": _objects(scores, "recommendations", list),
        "predicted_ltv": spend,
        "ltv_p10": _floats(scores, "spend_p10", 2),
        "ltv_p90": _floats(scores, "spend_p90", 2),
        "expected_orders": _floats(scores, "expected_orders", 4),
        "p_purchase": _floats(scores, "p_purchase"),
        "expected_next_order_date": _dates(scores, "expected_next_order_date"),
        "value_at_risk": np.where(np.isnan(value_at_risk), None, value_at_risk).tolist(),
        "archetype": _strings(scores, "archetype"),
        "archetype_key": _strings(scores, "archetype_id"),
        "axes": _objects(scores, "axes", dict),
        "features": [dict(zip(names, row, strict=True)) for row in matrix],
        "order_count": order_count.astype(int).tolist(),
        "total_spent": total.tolist(),
        "days_since_last_order": np.where(
            np.isnan(recency), None, np.nan_to_num(recency).astype(np.int64).astype(object)
        ).tolist(),
        "has_open_support_interaction": (open_share > 0).tolist(),
        "stale": [False] * n,
    }


def rows_from_columns(columns: dict[str, list]) -> list[CustomerIntelligence]:
    """Unsaved CustomerIntelligence instances from score_columns' lists."""
    names = list(columns)
    return [
        CustomerIntelligence(**dict(zip(names, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]


def rows_from_scores(
    *, scores, version: ModelVersion, as_of: date, computed_at: datetime
) -> list[CustomerIntelligence]:
    """Unsaved CustomerIntelligence instances, one per scored customer."""
    return rows_from_columns(
        score_columns(scores=scores, version=version, as_of=as_of, computed_at=computed_at)
    )
