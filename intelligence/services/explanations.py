"""Grounded answers about a customer: facts picked from their features and churn factors."""

from __future__ import annotations

import re

from intelligence import interface

# topic -> (question keywords, features that answer it)
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "churn": (
        ("churn", "leav", "lost", "risk", "stop", "inactive", "come back", "return"),
        ("days_since_last_order", "recency_gap_ratio", "bgnbd_p_alive"),
    ),
    "frequency": (
        ("often", "frequen", "how many", "orders", "buy", "purchase", "regular"),
        ("order_count", "orders_per_month", "mean_gap_days", "orders_90d"),
    ),
    "value": (
        ("spend", "value", "worth", "ltv", "money", "revenue", "aov", "expensive", "much"),
        ("total_spend", "avg_order_value", "spend_90d", "max_order_value"),
    ),
    "discount": (
        ("discount", "price", "deal", "coupon", "sale", "promo"),
        ("discount_order_share", "avg_discount_rate", "discount_rate_90d"),
    ),
    "support": (
        ("support", "complain", "ticket", "contact", "issue", "angry", "unhappy"),
        ("interaction_count", "interactions_90d", "complaint_share", "open_interaction_share"),
    ),
    "returns": (
        ("refund", "return", "cancel"),
        ("refunded_order_share", "refund_value_share", "cancelled_orders"),
    ),
    "timing": (
        ("when", "time", "day", "hour", "weekend", "next"),
        ("weekend_share", "mean_order_hour", "mean_gap_days", "days_since_last_order"),
    ),
    "categories": (
        ("categor", "product", "what do", "like", "prefer"),
        ("category_count", "top_category_share", "sku_count"),
    ),
    "engagement": (
        ("engag", "visit", "browse", "site", "app", "email"),
        ("event_count", "days_since_last_event"),
    ),
}


def _fact(name: str, value: float) -> str:
    from intelligence.ml.explain import factor_label

    return factor_label(name, value)


def behavior_explain(*, customer_id: str, question: str) -> interface.Explanation:
    from intelligence.services import analysis

    question = (question or "").strip()
    intel = analysis.customer_analyze(customer_id=customer_id)
    words = question.lower()
    topics = [
        t for t, (keys, _) in TOPICS.items() if any(re.search(rf"\b{re.escape(k)}", words) for k in keys)
    ]
    topics = topics or ["churn", "value"]
    evidence: list[str] = []
    for topic in topics:
        for name in TOPICS[topic][1]:
            value = intel.features.get(name)
            if value is not None:
                fact = _fact(name, value)
                if fact not in evidence:
                    evidence.append(fact)
    sentences = [
        f"{intel.dna.archetype} customer with {intel.historic.order_count} orders as of {intel.as_of}."
    ]
    if "churn" in topics or "timing" in topics:
        sentences.append(
            f"There is a {intel.churn.probability:.0%} chance of no order in the next "
            f"{intel.churn.horizon_days} days ({intel.churn.risk_band} risk, {intel.churn.model})."
        )
        for factor in intel.churn.top_factors:
            reason = f"{factor.label} ({factor.direction} the risk)"
            evidence.append(reason) if reason not in evidence else None
        if intel.churn.recommendations:
            sentences.append(f"Suggested: {intel.churn.recommendations[0]}")
    if "value" in topics or "frequency" in topics:
        sentences.append(
            f"Expected spend in the next {intel.ltv.horizon_days} days is {intel.ltv.predicted_spend:.2f} "
            f"(range {intel.ltv.p10:.2f}-{intel.ltv.p90:.2f}) over {intel.ltv.expected_orders:.1f} orders."
        )
    if "timing" in topics and intel.ltv.expected_next_order_date:
        sentences.append(f"The next order is expected around {intel.ltv.expected_next_order_date}.")
    if not evidence:
        sentences.append("The data holds no facts on this topic for this customer (the source lacks them).")
    return interface.Explanation(
        customer_id=intel.customer_id, question=question, answer=" ".join(sentences), evidence=tuple(evidence)
    )
