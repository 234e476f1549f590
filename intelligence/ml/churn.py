"""Churn: P(no order in the horizon after as_of).

A logistic regression on recency, frequency, monetary value, tenure (log scales) and
the BG/NBD log-odds, fitted on the cutoff panel, is the starting margin; a LightGBM
classifier learns a correction from age-invariant features ("no order in the label
window"; time-split validation on the newest cutoff picks the number of trees and
gives the metrics). A Platt map fitted on out-of-fold scores calibrates it (monotone,
so the ranking is kept).

When the label window L is shorter than the horizon H, the calibrated answer is carried
with proportional hazards: P(none in H) = P(none in L) ** k. BG/NBD gives each customer
an exponent k_i = log P_bg(none in H) / log P_bg(none in L); how far to trust those
individual exponents over the population's typical one is an empirical question (BG/NBD
is wrong about one-time buyers on some shops), so it is answered inside the training
window: the cutoffs older than the newest have labels for windows longer than L, and
the weight that predicts them best (out-of-fold log loss) is the one used.
Too little data: the answer is BG/NBD's alone, and says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from intelligence.ml import btyd, evaluation, treeshap
from intelligence.ml.panel import DEFAULT_BGNBD, HorizonCarry, WindowPlan, horizon_carry

MIN_ROWS = 600
MIN_CLASS_ROWS = 100
SEED = 7


# The churn model is explained (SHAP values for every customer scored), which costs in
# proportion to its trees. At LightGBM's default rate early stopping reaches about the
# same validation quality as at 0.03 with a quarter of the trees (100k-customer shop:
# 226 trees vs ~800, time-split AUC 0.9052 vs 0.9056). TreeSHAP also costs leaves x
# depth^2 per tree, so its trees are kept shallow (depth 4 still holds the 15 leaves of
# the largest panels; same shop: AUC 0.9041, a third less scoring time). The spend model
# is only predicted, so it keeps the slower rate and free depth, which rank spend a
# little better.
CHURN_LEARNING_RATE = 0.1
CHURN_MAX_DEPTH = 4


def lgb_params(
    n_rows: int, *, objective: str, threads: int = 2, learning_rate: float = 0.03, max_depth: int = -1
) -> dict:
    # Regularised for small tabular panels; leaves and leaf size grow with the data.
    return {
        "objective": objective,
        "learning_rate": learning_rate,
        "max_depth": max_depth,  # -1: no limit
        "num_leaves": int(np.clip(n_rows // 2000, 4, 15)),
        "min_child_samples": int(np.clip(n_rows // 100, 50, 500)),
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "n_jobs": threads,
        "random_state": SEED,
        "verbose": -1,
    }


def churn_prior(frame: pd.DataFrame) -> np.ndarray:
    """BG/NBD log-odds of no order in the label window."""
    p = frame["bg_p_none_window"].to_numpy(float)
    p = np.clip(np.where(np.isnan(p), np.nanmean(p) if np.isfinite(p).any() else 0.5, p), 1e-4, 1 - 1e-4)
    return np.log(p / (1.0 - p))


# Recency, frequency, monetary and age on log scales (age lets the fit tell a young
# customer's short history from an old one's), plus the BG/NBD log-odds.
RFM_INPUTS = ("log_recency", "log_frequency", "log_monetary", "log_tenure", "bgnbd_log_odds")
# The feature each input is computed from: its part of the prior is explained in that feature's words.
RFM_FEATURES = {
    "log_recency": "days_since_last_order",
    "log_frequency": "order_count",
    "log_monetary": "total_spend",
    "log_tenure": "tenure_days",
    "bgnbd_log_odds": "bg_p_none_window",
}


def rfm_design(frame: pd.DataFrame) -> pd.DataFrame:
    """Inputs of the linear RFM model (NaN for customers without orders)."""
    return pd.DataFrame(
        {
            "log_recency": np.log1p(frame["days_since_last_order"].clip(lower=0)),
            "log_frequency": np.log(frame["order_count"].clip(lower=1)),
            "log_monetary": np.log1p(frame["total_spend"].clip(lower=0)),
            "log_tenure": np.log1p(frame["tenure_days"].clip(lower=0)),
            "bgnbd_log_odds": _logit(frame["bg_p_none_window"].to_numpy(float)),
        },
        index=frame.index,
    )


@dataclass
class LinearPrior:
    """Logistic regression of churn on RFM_INPUTS (standardised); the boosting starts from it."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def margin(self, frame: pd.DataFrame) -> np.ndarray:
        return self._standardised(frame) @ self.coef + self.intercept

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each input's part of the margin, relative to the training rows' mean input (where the
        margin is the intercept), in columns named by the feature the input comes from.

        The model is additive, so these are exact and sum to margin - intercept."""
        columns = [RFM_FEATURES[name] for name in RFM_INPUTS]
        return pd.DataFrame(self._standardised(frame) * self.coef, index=frame.index, columns=columns)

    def reference(self) -> dict[str, float]:
        """The inputs the contributions are measured from (the training rows' mean, on the log
        scales), back in the features' own units: the typical customer of this model."""
        log_recency, log_frequency, log_monetary, log_tenure, log_odds = (float(v) for v in self.mean)
        return {
            "days_since_last_order": float(np.expm1(log_recency)),
            "order_count": float(np.exp(log_frequency)),
            "total_spend": float(np.expm1(log_monetary)),
            "tenure_days": float(np.expm1(log_tenure)),
            "bg_p_none_window": float(_sigmoid(log_odds)),
        }

    def _standardised(self, frame: pd.DataFrame) -> np.ndarray:
        X = rfm_design(frame).to_numpy(float)
        X = np.where(np.isnan(X), self.mean, X)  # no orders: the average customer
        return (X - self.mean) / self.scale


def linear_prior_fit(panel: pd.DataFrame, y: np.ndarray) -> LinearPrior:
    from sklearn.linear_model import LogisticRegression

    X = rfm_design(panel).to_numpy(float)
    mean = np.nanmean(X, axis=0)
    X = np.where(np.isnan(X), mean, X)
    scale = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    fit = LogisticRegression(C=1.0, max_iter=1000).fit((X - mean) / scale, y)
    return LinearPrior(mean=mean, scale=scale, coef=fit.coef_[0], intercept=float(fit.intercept_[0]))


def default_threads(n_rows: int) -> int:
    # Small panels train faster single-threaded (no OpenMP contention).
    return 1 if n_rows < 50_000 else 2


PARALLEL_PREDICT_ROWS = 2000


def predict_threads(n_rows: int) -> int:
    """Threads for scoring n rows: every core for a batch, one for a few customers.

    Passed to every predict call, so scoring does not depend on the thread count the
    booster happened to be trained with (one, for a small panel).
    """
    return len(os.sched_getaffinity(0)) if n_rows >= PARALLEL_PREDICT_ROWS else 1


# Features that grow with a customer's age. The cutoffs the models learn from are
# younger than as_of (always, in a short history), so trees split on these would
# extrapolate flat beyond the ages they saw; ratios, rates, fixed windows and the
# BTYD quantities (which model age explicitly) carry over.
AGE_DEPENDENT = frozenset(
    {
        "tenure_days", "days_since_last_order", "days_since_previous_order", "order_count", "purchase_days",
        "orders_365d", "total_spend", "discount_total", "refunded_total", "cancelled_orders",
        "interaction_count", "event_count", "sku_count", "category_count", "max_gap_days",
        "days_to_second_order", "days_since_last_event", "distinct_event_names",
    }
)  # fmt: skip
LABEL_COLUMNS = frozenset({"customer_id", "label_orders", "label_spend", "label_churn", "cutoff_index"})


def feature_columns(panel: pd.DataFrame) -> list[str]:
    """Model inputs: age-invariant feature columns that carry data in the panel."""
    skip = LABEL_COLUMNS | AGE_DEPENDENT
    return [c for c in panel.columns if c not in skip and panel[c].notna().any()]


def time_split(panel: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, bool]:
    """(train mask, validation mask, is_time_split).

    The newest cutoff validates a model trained on the older half of the cutoffs:
    the final model will answer beyond its newest cutoff, so validation leaves the
    widest time gap the history allows (the number of trees is chosen on it).
    """
    n_cutoffs = panel["cutoff_index"].nunique()
    if n_cutoffs > 1:
        valid = (panel["cutoff_index"] == 0).to_numpy()
        train = (panel["cutoff_index"] >= max(1, n_cutoffs // 2)).to_numpy()
        return train, valid, True
    rng = np.random.default_rng(SEED)
    valid = rng.random(len(panel)) < 0.25
    return ~valid, valid, False


def fit_early_stopped(params: dict, X, y, prior, train, valid, *, max_trees: int):
    """LightGBM trained on `train`, stopped early on `valid`; (booster, number of trees).

    The number of trees chosen here is what the final fit on all rows uses.
    """
    import lightgbm as lgb

    booster = lgb.train(
        params,
        lgb.Dataset(X[train], y[train], init_score=prior[train]),
        num_boost_round=max_trees,
        valid_sets=[lgb.Dataset(X[valid], y[valid], init_score=prior[valid])],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return booster, max(10, booster.best_iteration or max_trees)


def grouped_folds(customer_ids: pd.Series, k: int = 3) -> np.ndarray:
    codes = pd.util.hash_pandas_object(customer_ids.astype(str), index=False).to_numpy()
    return (codes % np.uint64(k)).astype(int)


def out_of_fold_margin(params: dict, X, y, prior, customer_ids: pd.Series, *, trees: int) -> np.ndarray:
    """Raw scores of each row from a model that never saw that row's customer.

    Customers are grouped into folds, so a customer's other cutoffs do not leak in.
    """
    import lightgbm as lgb

    folds = grouped_folds(customer_ids)
    margin = np.zeros(len(y))
    for k in np.unique(folds):
        held = folds == k
        fold_model = lgb.train(
            params, lgb.Dataset(X[~held], y[~held], init_score=prior[~held]), num_boost_round=trees
        )
        margin[held] = fold_model.predict(X[held], raw_score=True) + prior[held]
    return margin


# Weight of each customer's own BG/NBD carry exponent against the population's typical
# one (in log space): 1 = BG/NBD's individual dynamics, 0 = one exponent for everyone
# (which keeps the window model's ranking). Chosen in training (carry_weight_select).
CARRY_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
REFERENCE_CUSTOMERS = 1000


@dataclass
class CarryReference:
    """BTYD histories of a fixed sample of the population, for its typical carry exponent.

    Stored with the model, so the typical exponent (any horizon) does not depend on who
    is being scored: one customer scores as they would among everyone.
    """

    params: btyd.BGNBDParams
    summary: pd.DataFrame  # x, t_x, T

    @classmethod
    def from_summary(cls, summary: pd.DataFrame, params: btyd.BGNBDParams) -> CarryReference:
        rows = summary.loc[summary["x"].notna(), ["x", "t_x", "T"]]
        if len(rows) > REFERENCE_CUSTOMERS:
            rows = rows.sample(REFERENCE_CUSTOMERS, random_state=SEED)
        return cls(params=params, summary=rows.reset_index(drop=True))

    def log_exponent(self, *, label_days: int, horizon_days: int) -> float:
        """Mean log of the BG/NBD carry exponents over the reference customers."""
        if self.summary.empty:
            return float(np.log(max(horizon_days / label_days, 1.0)))
        carry = horizon_carry(self.params, self.summary, label_days=label_days, horizon_days=horizon_days)
        return float(np.mean(np.log(carry.hazard_ratio)))


def carried_exponent(individual: np.ndarray, typical_log: float, weight: float) -> np.ndarray:
    """Per-customer exponent: log k shrunk from the customer's own towards the typical one."""
    return np.exp(weight * np.log(individual) + (1.0 - weight) * typical_log)


@dataclass
class ChurnModel:
    kind: str  # "lightgbm" | "bgnbd"
    plan: WindowPlan
    features: list[str] = field(default_factory=list)
    booster: object | None = None
    calibrator: object | None = None
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    linear: LinearPrior | None = None
    carry_weight: float = 1.0
    carry_reference: CarryReference | None = None
    # Calibrated P(no order in the label window) on the validation rows (panel index),
    # for the hurdle's validation metrics; train_all drops it before the model is stored.
    validation: pd.Series | None = None
    # feature -> its value for the customer the contributions are measured from (see
    # typical_customer). None in models stored before it existed: their factors name no reference.
    typical: dict[str, float] | None = None

    def prior(self, frame: pd.DataFrame) -> np.ndarray:
        return self.linear.margin(frame) if self.linear is not None else churn_prior(frame)

    @property
    def name(self) -> str:
        if self.kind == "bgnbd":
            return "bgnbd"
        return "lightgbm+bgnbd_carry" if self.plan.carried else "lightgbm"

    def predict_window(self, frame: pd.DataFrame, shap: np.ndarray | None = None) -> np.ndarray:
        """Calibrated P(no order in the label window).

        `shap`: the rows' `shap_values`, when already computed: their row sums are the trees'
        raw scores, so the trees are not walked a second time.
        """
        if shap is None:
            trees = self.booster.predict(
                frame[self.features], raw_score=True, num_threads=predict_threads(len(frame))
            )
        else:
            trees = shap.sum(axis=1)
        margin = trees + self.prior(frame)
        return np.clip(self.calibrator.predict(_sigmoid(margin)), 1e-4, 1 - 1e-4)

    def predict(self, frame: pd.DataFrame, carry: HorizonCarry, shap: np.ndarray | None = None) -> np.ndarray:
        """P(no order in the horizon) for rows aligned with `carry` (`shap` as in predict_window)."""
        if self.kind == "bgnbd":
            return np.clip(carry.p_none_horizon, 0.0, 1.0)
        p_window = self.predict_window(frame, shap)
        if not self.plan.carried:
            return p_window
        return np.clip(p_window ** self.carry_exponent(carry.hazard_ratio), 0.0, 1.0)

    def carry_exponent(self, individual: np.ndarray) -> np.ndarray:
        if self.carry_reference is None or self.carry_weight >= 1.0:
            return individual
        typical = self.carry_reference.log_exponent(
            label_days=self.plan.label_days, horizon_days=self.plan.horizon_days
        )
        return carried_exponent(individual, typical, self.carry_weight)

    def shap_values(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The trees' SHAP values per row (last column: the trees' expected value); None without trees.

        The same values as LightGBM's `pred_contrib`, from per-leaf tables (treeshap) where the
        trees allow, several times faster."""
        if self.kind != "lightgbm" or self.booster is None:
            return None
        tables = treeshap.tables_for(self.booster)
        if tables is None:
            return self.booster.predict(
                frame[self.features], pred_contrib=True, num_threads=predict_threads(len(frame))
            )
        return treeshap.shap_values(tables, frame[self.features].to_numpy(dtype=float, na_value=np.nan))

    def warm(self) -> None:
        """Build the explanation tables now (and load the compiled kernel), not on the first answer."""
        if self.kind == "lightgbm" and self.booster is not None:
            self.shap_values(pd.DataFrame(np.nan, index=[0], columns=self.features))

    def contributions(self, frame: pd.DataFrame, shap: np.ndarray | None = None) -> pd.DataFrame:
        """Per-prediction contributions (log-odds of no order; > 0 raises churn risk), each
        relative to the average training row: the trees' SHAP values plus the linear prior's
        terms, each term under the feature its input comes from.

        The prior combines recency, frequency, spend, age and the BG/NBD odds, so each term is
        told apart: credited as a whole to bg_p_none_window, a frequent buyer's low prior would
        read "94% chance of no order soon" lowering the risk. `shap`: the rows' `shap_values`,
        when already computed.
        """
        if shap is None:
            shap = self.shap_values(frame)
        if shap is None:
            return pd.DataFrame(index=frame.index)
        out = pd.DataFrame(shap[:, :-1], index=frame.index, columns=self.features)
        if self.linear is None:  # BG/NBD log-odds alone: all of the prior is bg_p_none_window's
            prior = self.prior(frame) - self.params.get("prior_mean", 0.0)
            out["bg_p_none_window"] = out.get("bg_p_none_window", 0.0) + prior
            return out
        for feature, terms in self.linear.contributions(frame).items():
            out[feature] = out.get(feature, 0.0) + terms
        return out

    def confidence(self) -> str:
        if self.kind == "bgnbd":
            return "low"
        auc = self.metrics.get("roc_auc", float("nan"))
        if self.plan.carried or not auc >= 0.75:
            return "medium"
        return "high"


@dataclass
class PlattCalibrator:
    """Logistic map of the model's log-odds fitted on out-of-fold scores.

    Strictly monotone, so unlike an isotonic step map it keeps the model's ranking
    (no ties), and with two parameters it cannot overfit the folds.
    """

    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, p: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        fit = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(np.asarray(p, float))[:, None], y)
        return cls(slope=float(fit.coef_[0, 0]), intercept=float(fit.intercept_[0]))

    def predict(self, p: np.ndarray) -> np.ndarray:
        return _sigmoid(self.slope * _logit(np.asarray(p, float)) + self.intercept)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)  # NaN stays NaN
    return np.log(p / (1.0 - p))


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


def _log_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log(1.0 - p))


def btyd_history(frame: pd.DataFrame) -> pd.DataFrame:
    """x, t_x, T (weeks) recovered from the day-granular features of a midnight cutoff."""
    tenure = frame["tenure_days"].to_numpy(float)
    return pd.DataFrame(
        {
            "x": frame["purchase_days"].to_numpy(float) - 1.0,
            "t_x": (tenure - frame["days_since_last_order"].to_numpy(float)) / btyd.DAYS_PER_UNIT,
            "T": (tenure - 1.0) / btyd.DAYS_PER_UNIT,  # to the last whole day before the cutoff
        }
    )


def carry_weight_select(stacked: pd.DataFrame, p_window: np.ndarray, plan: WindowPlan) -> tuple[float, dict]:
    """The carry weight that best predicts windows longer than the label window.

    An older cutoff c whose label window reaches the newest cutoff's has the label "no
    order in [c, newest + L)": no order in its own window nor in the newest one. Its
    out-of-fold window answers are carried to that longer window with each weight and
    scored by log loss. Weight 0 keeps the validated ranking of the window model, so a
    weight that reorders customers by BG/NBD's dynamics must beat it by more than two
    standard errors of the paired loss difference. Returns (weight, diagnostics).
    """
    if not plan.carried or len(plan.cutoffs) < 2:
        return 1.0, {}
    newest = stacked.loc[stacked["cutoff_index"] == 0].set_index("customer_id")["label_churn"]
    losses: dict[float, list[np.ndarray]] = {w: [] for w in CARRY_WEIGHTS}
    for index, cutoff in enumerate(plan.cutoffs[1:], start=1):
        gap_days = (plan.cutoffs[0] - cutoff).days
        if gap_days > plan.label_days:
            break  # the two windows would leave days unobserved
        rows = (stacked["cutoff_index"] == index).to_numpy()
        part = stacked.loc[rows]
        none_long = part["label_churn"].to_numpy() * newest.reindex(part["customer_id"]).fillna(1).to_numpy()
        history = btyd_history(part)
        params = btyd.bgnbd_fit(history) if len(history) >= 20 else DEFAULT_BGNBD
        individual = horizon_carry(
            params, history, label_days=plan.label_days, horizon_days=plan.label_days + gap_days
        ).hazard_ratio
        typical = float(np.mean(np.log(individual)))
        # Only the carried part is scored: no order after the own window, given none in it.
        quiet = part["label_churn"].to_numpy() == 1
        for weight in CARRY_WEIGHTS:
            rest = p_window[rows] ** (carried_exponent(individual, typical, weight) - 1.0)
            losses[weight].append(_log_losses(none_long[quiet], rest[quiet]))
    if not losses[0.0]:
        return 1.0, {}
    per_row = {w: np.concatenate(parts) for w, parts in losses.items()}
    best = min(per_row, key=lambda w: per_row[w].mean())
    gain = per_row[0.0] - per_row[best]
    noise = 2.0 * gain.std() / np.sqrt(len(gain))
    chosen = best if gain.mean() > noise else 0.0
    return chosen, {
        "carry_log_loss": {str(w): float(v.mean()) for w, v in per_row.items()},
        "carry_validation_rows": len(gain),
    }


def churn_train(
    stacked: pd.DataFrame, *, plan: WindowPlan, threads: int | None = None, max_trees: int = 1000
) -> ChurnModel:
    import lightgbm as lgb

    y = stacked["label_churn"].to_numpy() if len(stacked) else np.array([])
    if len(stacked) < MIN_ROWS or min(y.sum(), len(y) - y.sum()) < MIN_CLASS_ROWS:
        return _bgnbd_fallback(stacked, plan)
    features = feature_columns(stacked)
    X = stacked[features]
    params = lgb_params(
        len(stacked),
        objective="binary",
        threads=threads or default_threads(len(stacked)),
        learning_rate=CHURN_LEARNING_RATE,
        max_depth=CHURN_MAX_DEPTH,
    )
    train, valid, is_time_split = time_split(stacked)
    valid_p, best = _validate(stacked, X, y, params, train, valid, max_trees=max_trees)
    metrics = evaluation.churn_metrics(y[valid], valid_p)
    prior_metrics = evaluation.churn_metrics(y[valid], _sigmoid(churn_prior(stacked)[valid]))
    metrics["bgnbd_roc_auc"] = prior_metrics["roc_auc"]
    metrics["bgnbd_brier"] = prior_metrics["brier"]
    metrics.update(
        {
            "validation": "time_split" if is_time_split else "random_split",
            "validation_window_days": plan.label_days,
            "rows": len(stacked),
        }
    )
    linear = linear_prior_fit(stacked, y)
    prior = linear.margin(stacked)
    oof = _sigmoid(out_of_fold_margin(params, X, y, prior, stacked["customer_id"], trees=best))
    calibrator = PlattCalibrator.fit(oof, y)
    metrics["brier_calibrated_oof"] = float(np.mean((calibrator.predict(oof) - y) ** 2))
    carry_weight, carry_metrics = carry_weight_select(stacked, calibrator.predict(oof), plan)
    metrics.update(carry_metrics)
    booster = lgb.train(params, lgb.Dataset(X, y, init_score=prior), num_boost_round=best)
    return ChurnModel(
        kind="lightgbm",
        plan=plan,
        features=features,
        booster=booster,
        calibrator=calibrator,
        metrics=metrics,
        linear=linear,
        carry_weight=carry_weight,
        validation=pd.Series(valid_p, index=stacked.index[valid]),
        typical=typical_customer(stacked, features, linear),
        params={
            **params,
            "num_boost_round": best,
            "label_days": plan.label_days,
            "prior_mean": float(prior.mean()),
            "carry_weight": carry_weight,
        },
    )


def typical_customer(stacked: pd.DataFrame, features: list[str], linear: LinearPrior) -> dict[str, float]:
    """The values the contributions are measured from, for factors to name: a contribution
    says how a value moves the risk against the average training row, so "94% chance of no
    order" can lower the risk when the typical customer's chance is higher.

    The linear prior's reference is exact (its mean input); the trees' is the expectation over
    the training rows, for which the panel's median value stands, or for a 0/1 flag its mean
    (the share of customers with it: a median of 0 would hide a large minority)."""
    from intelligence.ml.features import FEATURES_BY_NAME

    flags = [name for name in features if name in FEATURES_BY_NAME and FEATURES_BY_NAME[name].unit == "flag"]
    values = stacked[features].median()
    values[flags] = stacked[flags].mean()
    typical = {name: float(value) for name, value in values.items() if np.isfinite(value)}
    return {**typical, **linear.reference()}


def _bgnbd_fallback(stacked: pd.DataFrame, plan: WindowPlan) -> ChurnModel:
    """BG/NBD alone; its metrics on the newest cutoff's window when there is one."""
    model = ChurnModel(
        kind="bgnbd", plan=plan, params={"reason": "too little data for LightGBM", "rows": len(stacked)}
    )
    if len(stacked):
        newest = stacked.loc[stacked["cutoff_index"] == 0]
        p_none = np.clip(newest["bg_p_none_window"].to_numpy(float), 0.0, 1.0)
        model.metrics = {
            **evaluation.churn_metrics(newest["label_churn"], p_none),
            "validation": "newest_cutoff",  # nothing is fitted on the labels: no split needed
            "validation_window_days": plan.label_days,
            "rows": len(stacked),
        }
        model.validation = pd.Series(p_none, index=newest.index)
    return model


def _validate(stacked, X, y, params, train, valid, *, max_trees: int) -> tuple[np.ndarray, int]:
    """Calibrated validation answers of a model fitted on the training rows alone; trees.

    Everything the validation rows are scored with (linear prior, trees, Platt map) is
    fitted without them, so the validation metrics are honest.
    """
    linear = linear_prior_fit(stacked.loc[train], y[train])
    prior = linear.margin(stacked)
    model, best = fit_early_stopped(params, X, y, prior, train, valid, max_trees=max_trees)
    raw = _sigmoid(model.predict(X[valid], num_iteration=best, raw_score=True) + prior[valid])
    train_oof = out_of_fold_margin(
        params, X[train], y[train], prior[train], stacked.loc[train, "customer_id"], trees=best
    )
    return PlattCalibrator.fit(_sigmoid(train_oof), y[train]).predict(raw), best


def risk_band(probability: np.ndarray) -> np.ndarray:
    p = np.asarray(probability, float)
    return np.where(p < 0.33, "low", np.where(p < 0.66, "medium", "high"))
