"""Train every model kind at once and score every customer with them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from intelligence.ml import btyd, ltv, panel, segmentation
from intelligence.ml import explain as factors
from intelligence.ml.churn import CarryReference, ChurnModel, churn_train, risk_band
from intelligence.ml.features import _as_timestamp
from intelligence.ml.ltv import SpendModel, spend_train

Progress = Callable[[str, int, int], None] | None
TOP_FACTORS = 3


@dataclass
class TrainedBundle:
    as_of: pd.Timestamp
    horizon_days: int
    plan: panel.WindowPlan
    churn: ChurnModel
    ltv: SpendModel
    segmentation: segmentation.Segmentation
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    training_window: tuple = ()
    archetypes: list = field(default_factory=list)


def train_all(
    orders,
    lines,
    interactions,
    events,
    *,
    as_of,
    horizon_days: int,
    progress: Progress = None,
    threads: int | None = None,
) -> TrainedBundle:
    as_of = _as_timestamp(as_of)
    horizon_days = int(horizon_days)
    plan = panel.plan_windows(orders, as_of=as_of, horizon_days=horizon_days)
    stacked = panel.build_panel(orders, lines, interactions, events, plan=plan, progress=progress)
    if progress:
        progress("churn", 0, 3)
    churn_model = churn_train(stacked, plan=plan, threads=threads)
    if progress:
        progress("ltv", 1, 3)
    spend_model = spend_train(stacked, plan=plan, threads=threads)
    if progress:
        progress("segmentation", 2, 3)
    frame, summary, bg, gg = panel.model_frame(
        orders, lines, interactions, events, as_of=as_of, window_days=plan.label_days
    )
    # The typical carry exponent and the DNA clusters describe the population the models
    # learn from (panel.active_customers); the long-lapsed are assigned to them when scored.
    active = panel.active_customers(frame)
    if churn_model.carry_weight < 1.0:
        churn_model.carry_reference = CarryReference.from_summary(summary.loc[active], bg)
    # The hurdle's metrics need both models' validation answers; they are not stored.
    spend_model.metrics.update(ltv.hurdle_validation(stacked, churn_model, spend_model))
    churn_model.validation = spend_model.validation = None
    seg = segmentation.segmentation_fit(frame, learn_from=active)
    if progress:
        progress("done", 3, 3)
    placed = pd.to_datetime(orders["placed_at"], utc=True)
    placed = placed[placed < as_of]
    start = placed.min() if len(placed) else as_of
    plan_info = {
        "label_days": plan.label_days,
        "horizon_days": horizon_days,
        "cutoffs": [str(c.date()) for c in plan.cutoffs],
    }
    return TrainedBundle(
        as_of=as_of,
        horizon_days=horizon_days,
        plan=plan,
        churn=churn_model,
        ltv=spend_model,
        segmentation=seg,
        metrics={
            "churn": {**churn_model.metrics, "model": churn_model.name},
            "ltv": {**spend_model.metrics, "model": spend_model.name},
            "segmentation": seg.metrics,
        },
        params={
            "churn": {**churn_model.params, **plan_info},
            "ltv": {**spend_model.params, **plan_info},
            "segmentation": seg.params,
            "bgnbd": bg.as_dict(),
            "gamma_gamma": gg.as_dict(),
        },
        training_window=(start.date(), as_of.date()),
        archetypes=seg.archetypes,
    )


def _predict(
    bundle: TrainedBundle, orders, lines, interactions, events, *, as_of, horizon_days: int, explain: bool
):
    """Features at as_of, the churn / spend answers for the horizon, and the churn trees'
    SHAP values when `explain` (None otherwise, or without trees)."""
    plan = bundle.plan
    frame, summary, bg, gg = panel.model_frame(
        orders,
        lines,
        interactions,
        events,
        as_of=as_of,
        window_days=plan.label_days,
        btyd_params=btyd.BGNBDParams(**bundle.params["bgnbd"]),
        gg_params=btyd.GammaGammaParams(**bundle.params["gamma_gamma"]),
    )
    carry = panel.horizon_carry(bg, summary, label_days=plan.label_days, horizon_days=horizon_days)
    churn_model = bundle.churn
    spend_model = bundle.ltv
    if horizon_days != bundle.horizon_days:
        # The window models carry to any horizon at least as long as their label window.
        churn_model = _for_horizon(churn_model, horizon_days)
        spend_model = _for_horizon(spend_model, horizon_days)
    # The SHAP values sum to the trees' raw score: one pass over the trees gives both.
    shap = churn_model.shap_values(frame) if explain else None
    p_churn = churn_model.predict(frame, carry, shap)
    p_buy = 1.0 - p_churn
    gg_value = frame["gg_expected_order_value"].fillna(gg.population_mean).to_numpy()
    given_buy = spend_model.spend_given_buy(frame, carry, gg_value)
    return frame, summary, bg, carry, churn_model, spend_model, p_churn, p_buy, given_buy, shap


def _for_horizon(model, horizon_days: int):
    import copy

    model = copy.copy(model)
    label_days = min(model.plan.label_days, horizon_days)
    if label_days != model.plan.label_days and model.kind != "bgnbd" and model.kind != "bgnbd_gg":
        # Shorter than the trained label window: answer with BTYD rather than a wrong window.
        model.kind = "bgnbd" if isinstance(model, ChurnModel) else "bgnbd_gg"
    model.plan = panel.WindowPlan(horizon_days, model.plan.label_days, model.plan.cutoffs)
    return model


@dataclass
class ScoreChunks:
    total: int  # customers in all the chunks
    parts: Iterator[pd.DataFrame]


def score_all(
    bundle: TrainedBundle, orders, lines, interactions, events, *, as_of, horizon_days=None, explain=True
) -> pd.DataFrame:
    """Every contract column per customer. explain=False leaves top_factors and
    recommendations empty and skips the SHAP values (most of a batch's cost), for callers
    that do not show reasons."""
    parts = score_chunks(
        bundle, orders, lines, interactions, events, as_of=as_of, horizon_days=horizon_days, explain=explain
    )
    return pd.concat(list(parts.parts))


def score_chunks(
    bundle: TrainedBundle,
    orders,
    lines,
    interactions,
    events,
    *,
    as_of,
    horizon_days=None,
    explain=True,
    chunk_size: int | None = None,
):
    """score_all's frame in consecutive chunks of `chunk_size` customers (one chunk when None):
    ScoreChunks(total customers, iterator of frames).

    The numbers come from one vectorised pass over every customer, done before this returns;
    the per-customer objects (reasons in words, recommendations, segment dicts) are built
    chunk by chunk as the iterator is read, so a caller can store one chunk while the next
    is built."""
    as_of = _as_timestamp(as_of)
    horizon_days = int(horizon_days or bundle.horizon_days)
    frame, summary, bg, carry, churn_model, spend_model, p_churn, p_buy, given_buy, shap = _predict(
        bundle, orders, lines, interactions, events, as_of=as_of, horizon_days=horizon_days, explain=explain
    )
    out = frame.copy()
    out["churn_probability"] = p_churn
    out["risk_band"] = risk_band(p_churn)
    out["churn_model"] = churn_model.name
    out["churn_confidence"] = churn_model.confidence()
    out["p_purchase"] = p_buy
    out["predicted_spend"] = p_buy * given_buy
    out["spend_p10"], out["spend_p90"] = ltv.spend_interval(p_buy, given_buy, spend_model.shape)
    out["expected_orders"] = p_buy * carry.orders_given_buy_horizon
    next_days = ltv.expected_next_order_days(bg, summary, horizon_days=horizon_days)
    next_date = as_of.tz_localize(None) + pd.to_timedelta(next_days, unit="D")
    out["expected_next_order_date"] = pd.Series(next_date, index=out.index).where(p_buy > 0.05)
    out["ltv_model"] = spend_model.name
    out["ltv_confidence"] = spend_model.confidence()
    out.loc[frame["order_count"].isna(), "expected_next_order_date"] = pd.NaT
    contributions = churn_model.contributions(frame, shap) if explain else None
    return ScoreChunks(
        total=len(out),
        parts=_score_parts(
            bundle,
            frame,
            out,
            contributions,
            churn_model.typical,
            horizon_days,
            chunk_size or max(len(out), 1),
        ),
    )


def _score_parts(bundle: TrainedBundle, frame, out, contributions, typical, horizon_days: int, step: int):
    explain = contributions is not None
    for start in range(0, max(len(out), 1), step):
        part = out.iloc[start : start + step].copy()
        rows = frame.iloc[start : start + step]
        if explain:
            part["top_factors"] = factors.top_factors(
                rows, contributions.iloc[start : start + step], k=TOP_FACTORS, typical=typical
            )
            part["recommendations"] = factors.recommendations(
                part["top_factors"], part["churn_probability"], rows["purchase_days"]
            )
        else:
            for column in ("top_factors", "recommendations"):
                part[column] = pd.Series([[] for _ in range(len(part))], index=part.index, dtype=object)
        part = part.join(segmentation.segmentation_assign(bundle.segmentation, rows))
        part["horizon_days"] = horizon_days
        yield part
