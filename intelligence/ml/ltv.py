"""Lifetime value in the horizon: a hurdle, P(buy) x E[spend | buy].

P(buy) is 1 - the churn answer for the same horizon. E[spend | buy] is a LightGBM
gamma regression of label-window spend over buyers, carried to the horizon by the
BG/NBD ratio of expected orders given at least one (horizon vs label window). The
predictive distribution is a zero-inflated gamma: mass P(no buy) at 0, otherwise gamma
with the fitted mean and a shape estimated on out-of-fold buyers. Its mean is the
forecast (totals, ranking); its p10-p90, widened to hold the mean, the range; its median
the point forecast for absolute error (MAE). Too little data: BG/NBD x Gamma-Gamma.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from intelligence.ml import btyd, evaluation
from intelligence.ml.churn import (
    MIN_CLASS_ROWS,
    default_threads,
    feature_columns,
    fit_early_stopped,
    lgb_params,
    out_of_fold_margin,
    predict_threads,
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
    # E[spend in the label window | a purchase] on every validation row (panel index),
    # buyers or not, for the hurdle's validation metrics; train_all drops it.
    validation: pd.Series | None = None

    @property
    def name(self) -> str:
        if self.kind == "bgnbd_gg":
            return "bgnbd_gg"
        return "lightgbm_hurdle+bgnbd_carry" if self.plan.carried else "lightgbm_hurdle"

    def confidence(self) -> str:
        if self.kind == "bgnbd_gg":
            return "low"
        rho = self.metrics.get("given_buy_spearman", float("nan"))
        return "high" if (not self.plan.carried and rho >= 0.4) else "medium"

    def spend_given_buy(self, frame: pd.DataFrame, carry: HorizonCarry, gg_value: np.ndarray) -> np.ndarray:
        """E[spend in the horizon | at least one order in it]."""
        if self.kind == "bgnbd_gg":
            return carry.orders_given_buy_horizon * gg_value
        trees = self.booster.predict(
            frame[self.features], raw_score=True, num_threads=predict_threads(len(frame))
        )
        window = np.exp(trees + spend_prior(frame))
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


def gamma_shape(y: np.ndarray, mu: np.ndarray) -> float:
    """Method-of-moments gamma shape from relative residuals (CV^2 = 1 / shape)."""
    return float(np.clip(1.0 / max(np.mean((y / mu - 1.0) ** 2), 1e-3), 0.2, 50.0))


def spend_train(
    stacked: pd.DataFrame, *, plan: WindowPlan, threads: int | None = None, max_trees: int = 1000
) -> SpendModel:
    import lightgbm as lgb

    bought = (stacked["label_spend"] > 0).to_numpy() if len(stacked) else np.zeros(0, bool)
    if bought.sum() < MIN_CLASS_ROWS:
        return SpendModel(kind="bgnbd_gg", plan=plan, params={"reason": "too few buyers for LightGBM"})
    features = feature_columns(stacked)
    X, y = stacked[features], stacked["label_spend"].to_numpy()
    prior = spend_prior(stacked)
    params = lgb_params(
        int(bought.sum()), objective="gamma", threads=threads or default_threads(int(bought.sum()))
    )
    # The churn model's split restricted to buyers: the hurdle is validated on the same rows.
    train, valid, is_time_split = time_split(stacked)
    model_a, best = fit_early_stopped(
        params, X, y, prior, train & bought, valid & bought, max_trees=max_trees
    )
    given_buy = np.exp(model_a.predict(X[valid], num_iteration=best, raw_score=True) + prior[valid])
    fit_rows = train & bought
    train_oof = np.exp(
        out_of_fold_margin(
            params,
            X[fit_rows],
            y[fit_rows],
            prior[fit_rows],
            stacked.loc[fit_rows, "customer_id"],
            trees=best,
        )
    )
    held_buyers = bought[valid]
    metrics = {
        "given_buy_spearman": float(stats.spearmanr(y[valid][held_buyers], given_buy[held_buyers]).statistic),
        "given_buy_mae": float(np.mean(np.abs(y[valid][held_buyers] - given_buy[held_buyers]))),
        "validation": "time_split" if is_time_split else "random_split",
        "validation_window_days": plan.label_days,
        "buyers": int(bought.sum()),
        "validation_gamma_shape": gamma_shape(y[fit_rows], train_oof),
    }
    # The range's shape comes from answers on customers the model did not see.
    oof = np.exp(
        out_of_fold_margin(
            params, X[bought], y[bought], prior[bought], stacked.loc[bought, "customer_id"], trees=best
        )
    )
    shape = gamma_shape(y[bought], oof)
    booster = lgb.train(
        params, lgb.Dataset(X[bought], y[bought], init_score=prior[bought]), num_boost_round=best
    )
    return SpendModel(
        kind="lightgbm_gamma",
        plan=plan,
        features=features,
        booster=booster,
        shape=shape,
        metrics=metrics,
        validation=pd.Series(given_buy, index=stacked.index[valid]),
        params={**params, "num_boost_round": best, "gamma_shape": shape},
    )


def hurdle_metrics(label_spend: np.ndarray, p_buy: np.ndarray, given_buy: np.ndarray, shape: float) -> dict:
    """The spend metrics of a hurdle answer, MAE on its median (see `point_forecasts`)."""
    mean, median = point_forecasts(p_buy, given_buy, shape)
    metrics = evaluation.spend_metrics(label_spend, mean)
    return {
        "spend_spearman": metrics["spearman"],
        "top_decile_capture": metrics["top_decile_capture"],
        "mae": float(np.mean(np.abs(np.asarray(label_spend, float) - median))),
        "mae_forecast": "median",
        "mae_mean_forecast": metrics["mae"],
        "total_ratio": metrics["total_ratio"],
    }


def hurdle_validation(stacked: pd.DataFrame, churn_model, spend_model: SpendModel) -> dict:
    """Spend metrics of the whole hurdle on the churn model's validation rows.

    P(buy) and E[spend | buy] come from the validation fits of the two models (BG/NBD
    and Gamma-Gamma where a model fell back to them); the outcome is the label window's.
    BG/NBD x Gamma-Gamma on the same rows is reported alongside (prefix bgnbd_gg_).
    """
    if churn_model.validation is None:
        return {}
    rows = churn_model.validation.index
    part = stacked.loc[rows]
    actual = part["label_spend"].to_numpy(float)
    if spend_model.validation is not None:
        given_buy = spend_model.validation.reindex(rows).to_numpy()
    else:
        given_buy = np.exp(spend_prior(part))  # BG/NBD x Gamma-Gamma given a purchase
    shape = spend_model.metrics.get("validation_gamma_shape", spend_model.shape)
    metrics = hurdle_metrics(actual, 1.0 - churn_model.validation.to_numpy(), given_buy, shape)
    base = evaluation.spend_metrics(
        actual, part["bg_expected_window"].to_numpy(float) * part["gg_expected_order_value"].to_numpy(float)
    )
    metrics.update(
        {
            "bgnbd_gg_spend_spearman": base["spearman"],
            "bgnbd_gg_top_decile_capture": base["top_decile_capture"],
            "bgnbd_gg_mae": base["mae"],
        }
    )
    return metrics


def point_forecasts(p_buy, given_buy, shape: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean, median) of the zero-inflated gamma spend distribution.

    The mean is the answer for totals and ranking; the median is the Bayes-optimal point
    forecast under absolute error (0 for anyone less likely than not to buy), so MAE is
    reported on it.
    """
    p_buy = np.asarray(p_buy, float)
    given_buy = np.asarray(given_buy, float)
    return p_buy * given_buy, spend_range(p_buy, given_buy, shape, 0.5)


def median_from_mean(predicted_spend, p_purchase, shape: float) -> np.ndarray:
    """The median spend behind a scored mean (predicted_spend = p_purchase x E[spend | buy])."""
    p = np.asarray(p_purchase, float)
    given_buy = np.divide(np.asarray(predicted_spend, float), p, out=np.zeros_like(p), where=p > 0)
    return spend_range(p, given_buy, shape, 0.5)


def spend_interval(
    p_buy: np.ndarray, mean_given_buy: np.ndarray, shape: float
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): the p10-p90 of the spend distribution, widened to hold its mean (the forecast).

    The mean P(buy) x E[spend | buy] need not lie between two quantiles: for a customer
    unlikely to buy (P(no order) > 90%) p10 and p90 are both 0 while the mean is not (shown
    as "13, range 0-0"), and a heavy gamma tail can put the mean above p90. The range then
    reaches the mean: it still holds at least 80% of the outcomes, and always the forecast
    shown beside it.
    """
    mean = np.asarray(p_buy, float) * np.asarray(mean_given_buy, float)
    low = spend_range(p_buy, mean_given_buy, shape, 0.10)
    high = spend_range(p_buy, mean_given_buy, shape, 0.90)
    return np.minimum(low, mean), np.maximum(high, mean)


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

    The median time to the next order given an order within the horizon, on the BG/NBD
    curve: the first whole day d in 1..horizon with P(buy by d) >= P(buy by horizon) / 2
    (1 when no day reaches it). P(buy by d) rises with d, so the day is found by bisection,
    vectorised over customers: log2(horizon) evaluations instead of one per day.
    """
    x, t_x, T = (summary[c].fillna(0.0).to_numpy() for c in ("x", "t_x", "T"))
    horizon = int(horizon_days)

    def p_buy(days) -> np.ndarray:
        return 1.0 - btyd.bgnbd_p_no_purchase(params, days / btyd.DAYS_PER_UNIT, x, t_x, T)

    full = np.maximum(p_buy(float(horizon)), 1e-12)

    def half_reached(days: np.ndarray) -> np.ndarray:
        return p_buy(days) / full >= 0.5

    # Invariant: the answer (0-based day index) lies in [low, high].
    low = np.zeros(len(x), dtype=np.int64)
    high = np.full(len(x), max(horizon - 1, 0), dtype=np.int64)
    while (low < high).any():
        middle = (low + high) // 2
        reached = half_reached(middle + 1.0)
        high = np.where(reached, middle, high)
        low = np.where(reached, low, middle + 1)
    return np.where(half_reached(low + 1.0), low + 1.0, 1.0)


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
