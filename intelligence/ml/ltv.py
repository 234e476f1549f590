"""Lifetime value in the horizon: a hurdle, P(buy) x E[spend | buy].

P(buy) is 1 - the churn answer for the same horizon. E[spend | buy] is a LightGBM
gamma regression of label-window spend over buyers, carried to the horizon by the
BG/NBD ratio of expected orders given at least one (horizon vs label window). The
p10-p90 range comes from the zero-inflated gamma: mass P(no buy) at 0, otherwise
gamma with the fitted mean and a shape estimated on held-out buyers. Too little data:
BG/NBD x Gamma-Gamma.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from intelligence.ml import btyd
from intelligence.ml.churn import (
    MIN_CLASS_ROWS,
    default_threads,
    feature_columns,
    fit_early_stopped,
    lgb_params,
    time_split,
)
from intelligence.ml.panel import HorizonCarry, WindowPlan


@dataclass
class SpendModel:
    kind: str  # "lightgbm_gamma" | "bgnbd_gg"
    plan: WindowPlan
    features: list[str] = field(default_factory=list)
    booster: object | None = None
    shape: float = 1.0  # gamma shape of spend given a purchase
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.kind == "bgnbd_gg":
            return "bgnbd_gg"
        return "lightgbm_hurdle+bgnbd_carry" if self.plan.carried else "lightgbm_hurdle"

    def confidence(self) -> str:
        if self.kind == "bgnbd_gg":
            return "low"
        rho = self.metrics.get("spearman_buyers", float("nan"))
        return "high" if (not self.plan.carried and rho >= 0.4) else "medium"

    def spend_given_buy(self, frame: pd.DataFrame, carry: HorizonCarry, gg_value: np.ndarray) -> np.ndarray:
        """E[spend in the horizon | at least one order in it]."""
        if self.kind == "bgnbd_gg":
            return carry.orders_given_buy_horizon * gg_value
        window = np.exp(self.booster.predict(frame[self.features], raw_score=True) + spend_prior(frame))
        if not self.plan.carried:
            return window
        ratio = carry.orders_given_buy_horizon / np.maximum(carry.orders_given_buy_window, 1e-9)
        return window * np.maximum(ratio, 1.0)


def spend_prior(frame: pd.DataFrame) -> np.ndarray:
    """log of BG/NBD x Gamma-Gamma spend in the label window given at least one order."""
    p_none = frame["bg_p_none_window"].to_numpy(float)
    orders = frame["bg_expected_window"].to_numpy(float) / np.maximum(1.0 - p_none, 1e-9)
    value = frame["gg_expected_order_value"].to_numpy(float)
    spend = np.maximum(orders, 1.0) * value
    fallback = np.nanmedian(spend) if np.isfinite(spend).any() else 1.0
    return np.log(np.maximum(np.where(np.isfinite(spend), spend, fallback), 1e-6))


def spend_train(
    panel: pd.DataFrame, *, plan: WindowPlan, threads: int | None = None, max_trees: int = 1000
) -> SpendModel:
    import lightgbm as lgb

    buyers = panel.loc[panel["label_spend"] > 0] if len(panel) else panel
    if len(buyers) < MIN_CLASS_ROWS:
        return SpendModel(kind="bgnbd_gg", plan=plan, params={"reason": "too few buyers for LightGBM"})
    features = feature_columns(panel)
    X, y = buyers[features], buyers["label_spend"].to_numpy()
    prior = spend_prior(buyers)
    params = lgb_params(len(buyers), objective="gamma", threads=threads or default_threads(len(buyers)))
    train, valid, is_time_split = time_split(buyers)
    model_a, best = fit_early_stopped(params, X, y, prior, train, valid, max_trees=max_trees)
    mu = np.exp(model_a.predict(X[valid], num_iteration=best, raw_score=True) + prior[valid])
    # Method-of-moments gamma shape from held-out relative residuals.
    shape = float(np.clip(1.0 / max(np.mean((y[valid] / mu - 1.0) ** 2), 1e-3), 0.2, 50.0))
    metrics = {
        "spearman_buyers": float(stats.spearmanr(y[valid], mu).statistic),
        "mae_buyers": float(np.mean(np.abs(y[valid] - mu))),
        "validation": "time_split" if is_time_split else "random_split",
        "buyers": len(buyers),
    }
    booster = lgb.train(params, lgb.Dataset(X, y, init_score=prior), num_boost_round=best)
    return SpendModel(
        kind="lightgbm_gamma",
        plan=plan,
        features=features,
        booster=booster,
        shape=shape,
        metrics=metrics,
        params={**params, "num_boost_round": best, "gamma_shape": shape},
    )


def spend_range(p_buy: np.ndarray, mean_given_buy: np.ndarray, shape: float, q: float) -> np.ndarray:
    """Quantile q of the zero-inflated gamma spend distribution."""
    p_none = 1.0 - np.asarray(p_buy, float)
    mean = np.maximum(np.asarray(mean_given_buy, float), 1e-9)
    inner = np.clip((q - p_none) / np.maximum(1.0 - p_none, 1e-12), 0.0, 1.0)
    value = stats.gamma.ppf(inner, a=shape, scale=mean / shape)
    return np.where(q <= p_none, 0.0, value)


def expected_next_order_days(
    params: btyd.BGNBDParams, summary: pd.DataFrame, *, horizon_days: int
) -> np.ndarray:
    """Days after as_of by which half of the horizon's purchase probability is reached.

    The median time to the next order given an order within the horizon, on the
    BG/NBD curve (evaluated on a daily grid, vectorised over customers).
    """
    grid = np.arange(1, int(horizon_days) + 1, dtype=float)
    x = summary["x"].fillna(0.0).to_numpy()[:, None]
    t_x = summary["t_x"].fillna(0.0).to_numpy()[:, None]
    T = summary["T"].fillna(0.0).to_numpy()[:, None]
    p_buy = 1.0 - btyd.bgnbd_p_no_purchase(params, grid[None, :] / btyd.DAYS_PER_UNIT, x, t_x, T)
    share = p_buy / np.maximum(p_buy[:, -1:], 1e-12)
    first = np.argmax(share >= 0.5, axis=1)
    return grid[first]


def baseline_predictions(params, gg, summary: pd.DataFrame, *, horizon_days: int) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma answers: P(no order), expected orders and spend in the horizon."""
    t = horizon_days / btyd.DAYS_PER_UNIT
    x, t_x, T = summary["x"].fillna(0.0), summary["t_x"].fillna(0.0), summary["T"].fillna(0.0)
    expected = btyd.bgnbd_expected_transactions(params, t, x, t_x, T)
    value = btyd.gamma_gamma_expected_spend(gg, x, summary["m_x"])
    return pd.DataFrame(
        {
            "churn_probability": btyd.bgnbd_p_no_purchase(params, t, x, t_x, T),
            "expected_orders": expected,
            "predicted_spend": expected * value,
        },
        index=summary.index,
    )
