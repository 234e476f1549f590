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
    return [None if v != v else float(v) for v in values.tolist()]


def _strings(frame, column: str, default: str = "") -> list[str]:
    if column not in frame.columns:
        return [default] * len(frame)
    return frame[column].fillna(default).astype(str).tolist()


def _objects(frame, column: str, default) -> list[Any]:
    if column not in frame.columns:
        return [default() for _ in range(len(frame))]
    return [v if isinstance(v, (list, dict)) else default() for v in frame[column].tolist()]


def _dates(frame, column: str) -> list[date | None]:
    import pandas as pd

    if column not in frame.columns:
        return [None] * len(frame)
    values = pd.to_datetime(frame[column], errors="coerce")
    return [None if pd.isna(v) else v.date() for v in values]


def _clean_factors(factors: list) -> list[dict]:
    out = []
    for f in factors:
        value = f.get("value")
        out.append(
            {
                "feature": str(f.get("feature", "")),
                "label": str(f.get("label", "")),
                "value": None if value is None or value != value else round(float(value), 4),
                "contribution": round(float(f.get("contribution") or 0.0), 4),
                "direction": str(f.get("direction") or "raises"),
            }
        )
    return out


def rows_from_scores(
    *, scores, version: ModelVersion, as_of: date, computed_at: datetime
) -> list[CustomerIntelligence]:
    """Unsaved CustomerIntelligence instances, one per scored customer."""
    import numpy as np

    names = feature_names(scores)
    matrix = (
        scores[names].to_numpy(dtype=float, na_value=np.nan).round(4) if names else np.empty((len(scores), 0))
    )
    feature_dicts = [
        {n: (None if v != v else v) for n, v in zip(names, row, strict=True)} for row in matrix.tolist()
    ]
    churn = _floats(scores, "churn_probability")
    spend = _floats(scores, "predicted_spend", 2)
    order_count = _floats(scores, "order_count", 0)
    total = _floats(scores, "total_spend", 2)
    recency = _floats(scores, "days_since_last_order", 0)
    open_share = _floats(scores, "open_interaction_share")
    horizon = scores["horizon_days"].astype(int).tolist() if "horizon_days" in scores else None
    columns = {
        "churn_model": _strings(scores, "churn_model"),
        "ltv_model": _strings(scores, "ltv_model"),
        "churn_confidence": _strings(scores, "churn_confidence", "low"),
        "ltv_confidence": _strings(scores, "ltv_confidence", "low"),
        "risk_band": _strings(scores, "risk_band", "unknown"),
        "top_factors": [_clean_factors(f) for f in _objects(scores, "top_factors", list)],
        "recommendations": [[str(r) for r in rs] for rs in _objects(scores, "recommendations", list)],
        "ltv_p10": _floats(scores, "spend_p10", 2),
        "ltv_p90": _floats(scores, "spend_p90", 2),
        "expected_orders": _floats(scores, "expected_orders", 4),
        "p_purchase": _floats(scores, "p_purchase"),
        "expected_next_order_date": _dates(scores, "expected_next_order_date"),
        "archetype": _strings(scores, "archetype"),
        "archetype_key": _strings(scores, "archetype_id"),
        "axes": _objects(scores, "axes", dict),
    }
    ids = scores.index.astype(str).tolist()
    rows = []
    for i, customer_id in enumerate(ids):
        rows.append(
            CustomerIntelligence(
                customer_id=customer_id,
                as_of=as_of,
                horizon_days=horizon[i] if horizon else version.horizon_days,
                computed_at=computed_at,
                model_version=version,
                churn_probability=churn[i],
                predicted_ltv=spend[i],
                value_at_risk=None if churn[i] is None or spend[i] is None else round(churn[i] * spend[i], 4),
                features=feature_dicts[i],
                order_count=int(order_count[i] or 0),
                total_spent=total[i] or 0.0,
                days_since_last_order=None if recency[i] is None else int(recency[i]),
                has_open_support_interaction=bool(open_share[i] and open_share[i] > 0),
                **{name: values[i] for name, values in columns.items()},
            )
        )
    return rows
