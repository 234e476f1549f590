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


def _facts(features: dict[str, float | None], names: tuple[str, ...]) -> list[str]:
    """The named features in words, leaving out those with no value and, for a customer who
    has bought on one day only, those that need a second purchase to mean anything (gaps
    between orders, rates per month of a few days' history, BG/NBD's "still active")."""
    from intelligence.ml.explain import NOT_FACTS_WITH_ONE_PURCHASE, factor_label

    one_purchase = features.get("purchase_days") == 1
    return [
        factor_label(name, features[name])
        for name in names
        if features.get(name) is not None and not (one_purchase and name in NOT_FACTS_WITH_ONE_PURCHASE)
    ]


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
        for fact in _facts(intel.features, TOPICS[topic][1]):
            if fact not in evidence:
                evidence.append(fact)
    orders = intel.historic.order_count
    sentences = [
        f"{intel.dna.archetype} customer with {orders} order{'' if orders == 1 else 's'} as of {intel.as_of}."
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
