"""The intelligence app's public Python API: the only module other apps import.

Every answer is a frozen, JSON-serialisable dataclass that says which model
produced it (`model`, `model_version`) and for which horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

RiskBand = Literal["low", "medium", "high", "unknown"]


@dataclass(frozen=True)
class Factor:
    """One reason behind a prediction, from the model's per-prediction contributions."""

    feature: str
    label: str  # in words, e.g. "gap since last order is 2.3x their usual"
    value: float | None
    contribution: float  # signed; > 0 raises churn risk
    direction: Literal["raises", "lowers"]


@dataclass(frozen=True)
class ChurnPrediction:
    customer_id: str
    probability: float  # P(no order within horizon_days after as_of), calibrated
    horizon_days: int
    risk_band: RiskBand
    top_factors: tuple[Factor, ...]
    recommendations: tuple[str, ...]
    model: str  # e.g. "lightgbm" or "bgnbd"
    model_version: str
    confidence: Literal["low", "medium", "high"]
    as_of: date | None = None


@dataclass(frozen=True)
class LTVForecast:
    customer_id: str
    horizon_days: int
    predicted_spend: float  # expected spend in the horizon (hurdle: P(buy) x E[spend | buy])
    # The likely range: p10-p90 of the spend distribution, widened to hold predicted_spend
    # (a customer unlikely to buy has p10 = p90 = 0 but a mean above 0).
    p10: float
    p90: float
    expected_orders: float
    probability_of_purchase: float
    expected_next_order_date: date | None
    historic_value: float  # net of refunds
    model: str
    model_version: str
    confidence: Literal["low", "medium", "high"]
    currency: str = "USD"


@dataclass(frozen=True)
class AxisLabel:
    axis: str  # e.g. "price_sensitivity"
    label: str  # e.g. "deal_hunter", or "unknown" when the source has no data
    strength: float  # membership strength 0..1


@dataclass(frozen=True)
class CustomerDNA:
    axes: tuple[AxisLabel, ...]
    archetype: str  # e.g. "Premium Deal-Hunter Long-Term"
    archetype_id: str | None = None
    model_version: str = ""

    def label(self, axis: str) -> str:
        return next((a.label for a in self.axes if a.axis == axis), "unknown")


@dataclass(frozen=True)
class HistoricStats:
    order_count: int
    total_spent: float  # net of refunds
    average_order_value: float | None
    average_days_between_orders: float | None  # None with fewer than 2 orders
    first_order_at: datetime | None
    last_order_at: datetime | None
    days_since_last_order: int | None
    top_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerIntelligence:
    customer_id: str
    as_of: date
    computed_at: datetime
    dna: CustomerDNA
    churn: ChurnPrediction
    ltv: LTVForecast
    historic: HistoricStats
    features: dict[str, float | None] = field(default_factory=dict)
    cached: bool = False


@dataclass(frozen=True)
class CustomerScore:
    customer_id: str
    score: float  # 0..100
    context: str  # e.g. "support_priority"
    components: dict[str, float]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    customer_id: str
    question: str
    answer: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class CustomerQueryResult:
    count: int
    customer_ids: tuple[str, ...]  # up to `limit`, highest value at risk first


def analyze_customer(
    *, customer_id: str | None = None, context: dict[str, Any] | None = None
) -> CustomerIntelligence:
    """Full intelligence for a stored customer, or for inline `context`
    ({"orders": [...], "interactions": [...], "events": [...]}) without storing it.
    Raises intelligence.errors.CustomerNotFound / ModelNotReady."""
    from intelligence.services import analysis

    return analysis.customer_analyze(customer_id=customer_id, context=context)


def predict_churn(*, customer_id: str) -> ChurnPrediction:
    return analyze_customer(customer_id=customer_id).churn


def forecast_ltv(*, customer_id: str, horizon_months: int = 12) -> LTVForecast:
    from intelligence.services import analysis

    return analysis.customer_forecast_ltv(customer_id=customer_id, horizon_months=horizon_months)


def segment_customer(*, behavior: dict[str, Any]) -> CustomerDNA:
    """DNA for a customer given either {"customer_id": ...} or raw feature values."""
    from intelligence.services import analysis

    return analysis.customer_segment(behavior=behavior)


def score_customer(
    *, customer_id: str, scoring_context: str | dict[str, Any] = "support_priority"
) -> CustomerScore:
    """A 0-100 score with its components (support priority: value at risk = churn x LTV)."""
    from intelligence.services import scoring

    return scoring.customer_score(customer_id=customer_id, scoring_context=scoring_context)


def explain_behavior(*, customer_id: str, question: str) -> Explanation:
    from intelligence.services import explanations

    return explanations.behavior_explain(customer_id=customer_id, question=question)


def customers_query(*, filters: dict[str, Any], limit: int = 100) -> CustomerQueryResult:
    """Customers selected by intelligence fields.

    `filters` is a tree: {"all": [...]} or {"any": [...]} of nodes or
    conditions {"field": F, "op": "eq|ne|gt|gte|lt|lte|in|between", "value": V}.
    Fields: churn_probability, predicted_ltv, archetype, axis:<axis name>,
    days_since_last_order, order_count, total_spent, risk_band,
    has_open_support_interaction.
    """
    from intelligence import selectors

    return selectors.customers_query(filters=filters, limit=limit)


def customer_invalidate(*, customer_id: str) -> None:
    """Drop cached intelligence for a customer and queue a re-score."""
    from intelligence.services import cache

    cache.customer_invalidate(customer_id=customer_id)


def models_warm() -> bool:
    """Load the active model into this process (a server worker calls it once at start, so the
    first request does not pay for importing LightGBM and unpickling). False when none is trained."""
    from intelligence.services import registry

    return registry.active_warm()
