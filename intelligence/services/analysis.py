"""On-demand intelligence for one customer (cached) or for inline context (never stored)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from ingestion import interface as ingestion
from intelligence import interface
from intelligence.errors import CustomerNotFound, InvalidQuery
from intelligence.models import CustomerIntelligence, ModelVersion
from intelligence.services import cache as intel_cache
from intelligence.services import frames as frame_loader
from intelligence.services import registry
from intelligence.services.rows import rows_from_scores


def customer_analyze(
    *, customer_id: str | None = None, context: dict[str, Any] | None = None
) -> interface.CustomerIntelligence:
    if context is not None and customer_id is None:
        return context_analyze(context=context)
    if not customer_id:
        raise InvalidQuery("Give a customer_id or an inline context.")
    customer_id = str(customer_id)
    if "\x00" in customer_id:
        # No id holds a NUL, and PostgreSQL cannot even compare text with one (a URL's %00).
        raise CustomerNotFound(f"No customer {customer_id!r}.", details={"customer_id": customer_id})
    version = registry.active_version_require()
    cached = intel_cache.analysis_get(customer_id=customer_id, version_id=version.pk)
    if cached is not None:
        return _replace(cached, cached=True)
    stored = CustomerIntelligence.objects.filter(customer_id=customer_id).first()
    intel = _analyze_uncached(customer_id=customer_id, version=version, stored=stored)
    intel_cache.analysis_set(intel=intel, version_id=version.pk, stamp=intel_cache.row_stamp(stored))
    return intel


def _analyze_uncached(
    *, customer_id: str, version: ModelVersion, stored: CustomerIntelligence | None
) -> interface.CustomerIntelligence:
    """The stored batch row while it is current (same model, no new data since); otherwise score
    this customer's own frames with the active model; the stored row or the prior when nothing scores."""
    if stored is not None and not stored.stale and stored.model_version_id == version.pk:
        return intelligence_from_row(row=stored, version=version)
    customer_id = _live_customer_id(customer_id)
    row = customer_compute(customer_id=customer_id, version=version) or stored
    if row is None:
        row = _prior_row(
            customer_id=customer_id, version=version, as_of=version.scored_as_of or version.as_of
        )
    return intelligence_from_row(row=row, version=version)


def customer_compute(*, customer_id: str, version: ModelVersion) -> CustomerIntelligence | None:
    """An unsaved row scored from this customer's frames only (None without behaviour before as_of)."""
    from intelligence.services import scoring

    as_of = scoring.scoring_as_of(version=version)
    data = frame_loader.frames_load(as_of=as_of, customer_ids=[customer_id])
    if not len(data["orders"]):
        return None  # nothing to score from; the stored row (or the prior) answers
    scores = scoring.scores_compute(version=version, data=data, as_of=as_of)
    rows = rows_from_scores(scores=scores, version=version, as_of=as_of, computed_at=timezone.now())
    return next((r for r in rows if r.customer_id == customer_id), None)


def _live_customer_id(customer_id: str) -> str:
    try:
        return ingestion.customer_get(customer_id=customer_id).customer_id
    except Exception as exc:
        if getattr(exc, "code", None) == "not_found":
            raise CustomerNotFound(
                f"No customer {customer_id!r}.", details={"customer_id": customer_id}
            ) from exc
        raise


def _prior_row(*, customer_id: str, version: ModelVersion, as_of: date) -> CustomerIntelligence:
    """A customer with no behaviour yet: the population's mean answers, marked low confidence."""
    from django.db.models import Avg

    # Every stored row has p10 <= its estimate <= p90, so the means keep that order: the
    # range holds the estimate (without them it read "0-0" next to the population's mean).
    means = CustomerIntelligence.objects.filter(model_version=version).aggregate(
        churn=Avg("churn_probability"), ltv=Avg("predicted_ltv"), p10=Avg("ltv_p10"), p90=Avg("ltv_p90")
    )
    churn = means["churn"] if means["churn"] is not None else 0.5
    return CustomerIntelligence(
        customer_id=customer_id,
        as_of=as_of,
        horizon_days=version.horizon_days,
        computed_at=timezone.now(),
        model_version=version,
        churn_model="population_prior",
        ltv_model="population_prior",
        churn_confidence="low",
        ltv_confidence="low",
        churn_probability=churn,
        risk_band="unknown",
        predicted_ltv=means["ltv"] or 0.0,
        ltv_p10=means["p10"],
        ltv_p90=means["p90"],
        archetype="Unclassified",
        recommendations=["No purchase history yet: welcome them and learn their preferences."],
    )


def context_analyze(*, context: dict[str, Any]) -> interface.CustomerIntelligence:
    """Score inline records with the active model; nothing is stored or cached."""
    from intelligence.services import scoring

    if not isinstance(context, dict):
        raise InvalidQuery("context must be an object with orders, interactions and events.")
    version = registry.active_version_require()
    data = frame_loader.frames_from_context(context=context)
    if not any(len(frame) for frame in data.values()):
        raise InvalidQuery(
            "The context holds no readable orders (placed_at, total), interactions or events (occurred_at)."
        )
    if context.get("as_of"):
        as_of = _context_as_of(context["as_of"])
    else:
        last = frame_loader.latest_data_date(data["orders"]) or timezone.now().date()
        as_of = min(last, timezone.now().date()) + timedelta(days=1)
    data = frame_loader.frames_before(data=data, as_of=as_of)
    if not any(len(frame) for frame in data.values()):
        raise InvalidQuery("The context holds no behaviour before as_of.")
    scores = scoring.scores_compute(version=version, data=data, as_of=as_of)
    rows = rows_from_scores(scores=scores, version=version, as_of=as_of, computed_at=timezone.now())
    if not rows:
        raise InvalidQuery("The context holds no behaviour before as_of.")
    return intelligence_from_row(row=rows[0], version=version)


def _context_as_of(value: Any) -> date:
    """The context's as_of: a date (or the date of a date-time) within the years its records may
    have; the models' date arithmetic overflows far outside them."""
    try:
        as_of = date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidQuery("context.as_of must be a date (YYYY-MM-DD).") from None
    if not date(1900, 1, 2) <= as_of <= date(2200, 1, 1):
        raise InvalidQuery("context.as_of must be between 1900-01-02 and 2200-01-01.")
    return as_of


def customer_forecast_ltv(*, customer_id: str, horizon_months: int = 12) -> interface.LTVForecast:
    """LTV for a horizon in months; the stored horizon is reused, any other is scored for it."""
    from intelligence.services import scoring

    if not 1 <= int(horizon_months) <= 60:
        raise InvalidQuery("horizon_months must be between 1 and 60.")
    horizon_days = round(int(horizon_months) * 365.25 / 12)
    intel = customer_analyze(customer_id=customer_id)
    if abs(intel.ltv.horizon_days - horizon_days) <= 1:
        return intel.ltv
    version = registry.active_version_require()
    data = frame_loader.frames_load(as_of=intel.as_of, customer_ids=[intel.customer_id])
    if not len(data["orders"]):
        return _replace(intel.ltv, horizon_days=horizon_days)
    scores = scoring.scores_compute(version=version, data=data, as_of=intel.as_of, horizon_days=horizon_days)
    rows = rows_from_scores(scores=scores, version=version, as_of=intel.as_of, computed_at=timezone.now())
    row = next((r for r in rows if r.customer_id == intel.customer_id), None)
    if row is None:
        return intel.ltv
    return _ltv(row, version)


def customer_segment(*, behavior: dict[str, Any]) -> interface.CustomerDNA:
    """DNA of a stored customer ({"customer_id": ...}), of inline context, or of raw feature values."""
    if not isinstance(behavior, dict) or not behavior:
        raise InvalidQuery(
            'behavior must be a non-empty object: {"customer_id": ...}, inline orders, or feature values.'
        )
    if behavior.get("customer_id"):
        return customer_analyze(customer_id=str(behavior["customer_id"])).dna
    if any(k in behavior for k in ("orders", "interactions", "events")):
        return context_analyze(context=behavior).dna
    return _segment_features(features=behavior)


def _segment_features(*, features: dict[str, Any]) -> interface.CustomerDNA:
    import pandas as pd

    from intelligence.ml import features as ml_features
    from intelligence.ml import segmentation

    version = registry.active_version_require()
    bundle = registry.artifact_load(version=version)
    known = {s.name for s in ml_features.FEATURE_CATALOGUE}
    unknown = sorted(set(features) - known)
    if unknown:
        raise InvalidQuery("Unknown feature names.", details={"unknown": unknown[:20]})
    try:
        values = {name: float(features[name]) if features.get(name) is not None else None for name in known}
    except (TypeError, ValueError) as exc:
        raise InvalidQuery("Feature values must be numbers.") from exc
    frame = pd.DataFrame([values], index=pd.Index(["behavior"], name="customer_id")).astype(float)
    assigned = segmentation.segmentation_assign(bundle.segmentation, frame).iloc[0]
    return _dna(assigned["axes"], assigned["archetype"], assigned["archetype_id"], version)


# --- mapping stored rows to the interface's dataclasses ------------------------------------------


def _replace(obj, **changes):
    from dataclasses import replace

    return replace(obj, **changes)


def _dna(axes: dict, archetype: str, key: str, version: ModelVersion | None) -> interface.CustomerDNA:
    return interface.CustomerDNA(
        axes=tuple(
            interface.AxisLabel(
                axis=axis, label=str(v.get("label") or "unknown"), strength=float(v.get("strength") or 0.0)
            )
            for axis, v in (axes or {}).items()
        ),
        archetype=archetype or "Unclassified",
        archetype_id=key or None,
        model_version=version.label if version else "",
    )


def _ltv(row: CustomerIntelligence, version: ModelVersion | None) -> interface.LTVForecast:
    return interface.LTVForecast(
        customer_id=row.customer_id,
        horizon_days=row.horizon_days,
        predicted_spend=float(row.predicted_ltv or 0.0),
        p10=float(row.ltv_p10 or 0.0),
        p90=float(row.ltv_p90 or 0.0),
        expected_orders=float(row.expected_orders or 0.0),
        probability_of_purchase=float(row.p_purchase if row.p_purchase is not None else 0.0),
        expected_next_order_date=row.expected_next_order_date,
        historic_value=float(row.total_spent or 0.0),
        model=row.ltv_model or "unknown",
        model_version=version.label if version else "",
        confidence=row.ltv_confidence or "low",
    )


def _historic(row: CustomerIntelligence) -> interface.HistoricStats:
    f = row.features or {}
    as_of = datetime.combine(row.as_of, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    tenure, recency = f.get("tenure_days"), f.get("days_since_last_order")
    return interface.HistoricStats(
        order_count=int(row.order_count or 0),
        total_spent=float(row.total_spent or 0.0),
        average_order_value=f.get("avg_order_value"),
        average_days_between_orders=f.get("mean_gap_days"),
        first_order_at=as_of - timedelta(days=float(tenure)) if tenure is not None else None,
        last_order_at=as_of - timedelta(days=float(recency)) if recency is not None else None,
        days_since_last_order=row.days_since_last_order,
    )


def intelligence_from_row(
    *, row: CustomerIntelligence, version: ModelVersion | None = None
) -> interface.CustomerIntelligence:
    version = version or row.model_version
    label = version.label if version else ""
    churn = interface.ChurnPrediction(
        customer_id=row.customer_id,
        probability=float(row.churn_probability if row.churn_probability is not None else 0.5),
        horizon_days=row.horizon_days,
        risk_band=row.risk_band if row.risk_band in ("low", "medium", "high") else "unknown",
        top_factors=tuple(interface.Factor(**f) for f in row.top_factors or ()),
        recommendations=tuple(row.recommendations or ()),
        model=row.churn_model or "unknown",
        model_version=label,
        confidence=row.churn_confidence or "low",
        as_of=row.as_of,
    )
    return interface.CustomerIntelligence(
        customer_id=row.customer_id,
        as_of=row.as_of,
        computed_at=row.computed_at,
        dna=_dna(row.axes, row.archetype, row.archetype_key, version),
        churn=churn,
        ltv=_ltv(row, version),
        historic=_historic(row),
        features=dict(row.features or {}),
    )
