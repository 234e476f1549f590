"""Churn factors in words and retention recommendations derived from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from intelligence.ml.features import FEATURES_BY_NAME


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.0f}%"


def _days(value: float) -> str:
    return f"{value:.0f} days"


# feature -> function(value) -> words; features not listed use the catalogue definition.
TEMPLATES = {
    "recency_gap_ratio": lambda v: f"gap since last order is {v:.1f}x their usual",
    "days_since_last_order": lambda v: f"last order {_days(v)} ago",
    "days_since_previous_order": lambda v: f"previous order {_days(v)} ago",
    "recency_tenure_ratio": lambda v: f"silent for {_pct(v)} of their time as a customer",
    "last_gap_ratio": lambda v: f"latest gap between orders was {v:.1f}x the earlier ones",
    "aov_change": lambda v: f"AOV {'down' if v < 0 else 'up'} {_pct(v)}",
    "spend_trend_90d": lambda v: f"spend in the last 90 days {'down' if v < 0 else 'up'} {_pct(np.expm1(v))}",
    "frequency_trend_90d": lambda v: (
        f"orders in the last 90 days {'down' if v < 0 else 'up'} vs the 90 before"
    ),
    "purchase_days": lambda v: f"bought on {v:.0f} day{'s' if v != 1 else ''} so far",
    "order_count": lambda v: f"{v:.0f} order{'s' if v != 1 else ''} so far",
    "is_repeat_customer": lambda v: (
        "has bought again since the first order" if v else "has not bought again yet"
    ),
    "bgnbd_p_alive": lambda v: f"{_pct(v)} likely still active by purchase pattern",
    "bg_p_none_window": lambda v: f"{_pct(v)} chance of no order soon by purchase pattern",
    "bg_expected_window": lambda v: f"{v:.2f} orders expected soon by purchase pattern",
    "bgnbd_expected_90d": lambda v: f"{v:.2f} orders expected in 90 days by purchase pattern",
    "bgnbd_expected_365d": lambda v: f"{v:.2f} orders expected in a year by purchase pattern",
    "tenure_days": lambda v: f"customer for {_days(v)}",
    "mean_gap_days": lambda v: f"usually orders every {_days(v)}",
    "orders_90d": lambda v: f"{v:.0f} orders in the last 90 days",
    "orders_per_month": lambda v: f"{v:.2f} orders a month",
    "avg_order_value": lambda v: f"average order {v:.2f}",
    "total_spend": lambda v: f"total spend {v:.2f}",
    "discount_order_share": lambda v: f"{_pct(v)} of orders used a discount",
    "complaint_share": lambda v: f"{_pct(v)} of support contacts were complaints",
    "open_interaction_share": lambda v: f"{_pct(v)} of support contacts still open",
    "refund_value_share": lambda v: f"{_pct(v)} of spend refunded",
    "days_since_last_event": lambda v: f"last site/app activity {_days(v)} ago",
}

RECOMMENDATIONS = {
    "reminder": "Send a timely reorder reminder around their usual buying interval (no discount needed).",
    "second_order": "Nudge a second purchase with a personalised follow-up on their first order.",
    "basket": "Recommend products matched to past purchases to rebuild order value.",
    "winback": "Run a win-back message with new arrivals in their favourite range.",
    "discount": "Offer a targeted, time-limited discount: this customer responds to price.",
    "support": "Resolve their open support issues before any marketing contact.",
    "returns": "Follow up on their returns to fix fit or quality problems.",
    "engagement": "Re-engage through their preferred channel with relevant content.",
    "keep": "No retention action needed: keep them in regular communications.",
}
FEATURE_ACTION = {
    "recency_gap_ratio": "reminder",
    "last_gap_ratio": "reminder",
    "mean_gap_days": "reminder",
    "median_gap_days": "reminder",
    "days_since_last_order": "winback",
    "days_since_previous_order": "winback",
    "recency_tenure_ratio": "winback",
    "bgnbd_p_alive": "winback",
    "bg_p_none_window": "reminder",
    "bg_expected_window": "reminder",
    "bgnbd_expected_90d": "reminder",
    "bgnbd_expected_365d": "reminder",
    "purchase_days": "second_order",
    "order_count": "second_order",
    "is_repeat_customer": "second_order",
    "orders_per_month": "reminder",
    "orders_90d": "reminder",
    "orders_365d": "reminder",
    "aov_change": "basket",
    "spend_trend_90d": "basket",
    "avg_order_value": "basket",
    "recent_spend_share": "basket",
    "discount_order_share": "discount",
    "avg_discount_rate": "discount",
    "discount_rate_90d": "discount",
    "complaint_share": "support",
    "open_interaction_share": "support",
    "high_priority_share": "support",
    "interactions_90d": "support",
    "refund_value_share": "returns",
    "refunded_order_share": "returns",
    "days_since_last_event": "engagement",
    "events_30d": "engagement",
    "events_90d": "engagement",
}


def factor_label(feature: str, value: float) -> str:
    return factor_labels(feature, [value])[0]


def factor_labels(feature: str, values) -> list[str]:
    """The words for one feature's values (the template looked up once for all of them)."""
    spec = FEATURES_BY_NAME.get(feature)
    definition = spec.definition if spec else feature.replace("_", " ")
    missing = f"no data: {definition}"
    template = TEMPLATES.get(feature)
    if template is None:
        unit = f" {spec.unit}" if spec and spec.unit not in {"ratio", "share", "flag"} else ""
        template = lambda v: f"{definition}: {v:.2f}{unit}"  # noqa: E731
    return [missing if v is None or v != v else template(float(v)) for v in values]


def top_factors(frame: pd.DataFrame, contributions: pd.DataFrame, *, k: int = 3) -> pd.Series:
    """Per customer, the k features with the largest absolute contribution, in words.

    Features the customer has no data for rank after every feature with data: the
    model may learn from missingness, but "no data" is no reason a person can act on.
    Built column-wise: each feature's labels in one pass, then one small dict per factor.
    """
    if contributions.empty:
        return pd.Series([[] for _ in range(len(frame))], index=frame.index, dtype=object)
    names = np.asarray(contributions.columns)
    values = contributions.to_numpy(float)
    all_feature_values = frame.reindex(columns=names).to_numpy(float)
    k = min(k, values.shape[1])
    ranking = np.where(np.isnan(all_feature_values), -1.0, np.abs(values))
    top = np.argsort(-ranking, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(values))[:, None]
    top_contrib = values[rows, top]
    feature_values = all_feature_values[rows, top]
    labels = np.empty(top.shape, dtype=object)
    for j in np.unique(top):
        where = top == j
        labels[where] = factor_labels(str(names[j]), feature_values[where].tolist())
    rounded = np.round(feature_values, 4)
    shown = np.where(np.isnan(rounded), None, rounded).tolist()
    contribution = np.round(top_contrib, 4).tolist()
    direction = np.where(top_contrib > 0, "raises", "lowers").tolist()
    feature = names[top].astype(str).tolist()
    labels = labels.tolist()
    factors = [
        [
            {"feature": f, "label": lb, "value": v, "contribution": c, "direction": d}
            for f, lb, v, c, d in zip(fs, lbs, vs, cs, ds, strict=True)
        ]
        for fs, lbs, vs, cs, ds in zip(feature, labels, shown, contribution, direction, strict=True)
    ]
    return pd.Series(factors, index=frame.index, dtype=object)


def recommendations(factors: pd.Series, churn_probability, *, limit: int = 2) -> pd.Series:
    """Actions for the risk-raising factors; none needed for low-risk customers."""
    probability = np.asarray(churn_probability, float)
    out = []
    for factor_list, p in zip(factors, probability, strict=True):
        if p < 0.33:
            out.append([RECOMMENDATIONS["keep"]])
            continue
        actions = []
        for factor in factor_list:
            action = FEATURE_ACTION.get(factor["feature"])
            if factor["direction"] == "raises" and action and RECOMMENDATIONS[action] not in actions:
                actions.append(RECOMMENDATIONS[action])
        out.append(actions[:limit] or [RECOMMENDATIONS["winback" if p >= 0.66 else "reminder"]])
    return pd.Series(out, index=factors.index, dtype=object)
