"""Training panels: features at past cutoffs with labels from the following window.

Short histories: when the data before as_of cannot hold the requested horizon plus a
useful feature window, the label window is shortened (`WindowPlan.label_days` <
`horizon_days`) and the models' answers are carried to the horizon with the BG/NBD
time dynamics (see `horizon_carry`). The plan always records both lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from intelligence.ml import btyd
from intelligence.ml.features import _as_timestamp, features_from_prepared, prepare_orders

MIN_FEATURE_DAYS = 90
MIN_LABEL_DAYS = 28
MAX_CUTOFFS = 4
# CDNOW's published weekly parameters: a neutral prior when there is too little data to fit.
DEFAULT_BGNBD = btyd.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
WINDOW_FEATURES = ("bg_p_none_window", "bg_expected_window")
# The population the models learn from at a cutoff, and that defines their "typical customer"
# and the DNA clusters: customers with an order within this many days before it. Long-lapsed
# customers are still scored (they get a high churn risk) but do not teach the models: a shop
# with an old import (the demo's CDNOW buyers, 28 years before its cutoffs) would otherwise
# fill every panel with trivially churned rows, inflating the ROC AUC and making the typical
# customer one last seen decades ago. Three years is three cycles of a once-a-year buyer and
# three of the default one-year horizons: anyone silent for less is a lapsing customer the
# model has to rank. It keeps every customer of CDNOW (18 months) and of the generated shop
# (two years), so their figures do not move.
ACTIVE_LOOKBACK_DAYS = 3 * 365


@dataclass(frozen=True)
class WindowPlan:
    horizon_days: int
    label_days: int
    cutoffs: tuple[pd.Timestamp, ...] = field(default=())  # newest first

    @property
    def carried(self) -> bool:
        return self.label_days < self.horizon_days


def plan_windows(orders: pd.DataFrame, *, as_of, horizon_days: int) -> WindowPlan:
    """Label window and cutoffs that fit in the history before as_of."""
    as_of = _as_timestamp(as_of)
    placed = pd.to_datetime(orders["placed_at"], utc=True)
    # The history the panels draw on: orders within the lookback before the oldest cutoff
    # (never more than three horizons before as_of). Older ones belong to customers no panel
    # learns from; counted, a long-lapsed import would make a young shop's history look long
    # and put cutoffs where the shop had barely begun (the demo's 1997 CDNOW orders did).
    oldest_cutoff = as_of - pd.Timedelta(days=3 * int(horizon_days))
    placed = placed[(placed < as_of) & (placed >= oldest_cutoff - pd.Timedelta(days=ACTIVE_LOOKBACK_DAYS))]
    if placed.empty:
        return WindowPlan(horizon_days, min(horizon_days, MIN_LABEL_DAYS), ())
    span = (as_of - placed.min()).total_seconds() / 86400.0
    if span >= horizon_days + max(MIN_FEATURE_DAYS, horizon_days / 2):
        label_days = int(horizon_days)
    else:
        # A third of the history for labels leaves room for several cutoffs.
        label_days = int(min(horizon_days, max(MIN_LABEL_DAYS, span // 3)))
    step = max(14, label_days // 3)
    # Cutoffs fall on midnights, so the feature window counts whole days from the first
    # order's day: two years of history ending the day before as_of holds a one-year cutoff.
    earliest = placed.min().floor("D") + pd.Timedelta(days=max(MIN_FEATURE_DAYS, label_days))
    cutoffs = []
    for k in range(MAX_CUTOFFS):
        cutoff = (as_of - pd.Timedelta(days=label_days + k * step)).floor("D")
        if cutoff < earliest:
            break
        cutoffs.append(cutoff)
    return WindowPlan(int(horizon_days), label_days, tuple(cutoffs))


def window_outcomes(orders: pd.DataFrame, *, start, days: int) -> pd.DataFrame:
    """Per customer: purchase days and net spend of valid orders in [start, start + days)."""
    start = _as_timestamp(start)
    prepared = prepare_orders(orders, as_of=start + pd.Timedelta(days=days))
    window = prepared.loc[prepared["valid"] & (prepared["placed_at"] >= start)]
    grouped = window.groupby("customer_id")
    return pd.DataFrame({"orders": grouped["day"].nunique().astype(float), "spend": grouped["value"].sum()})


def model_frame(
    orders,
    lines,
    interactions,
    events,
    *,
    as_of,
    window_days: int,
    btyd_params: btyd.BGNBDParams | None = None,
    gg_params: btyd.GammaGammaParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, btyd.BGNBDParams, btyd.GammaGammaParams]:
    """Features at as_of plus the BG/NBD window features; also the BTYD summary and fits."""
    as_of = _as_timestamp(as_of)
    prepared = prepare_orders(orders, as_of=as_of)
    valid = prepared.loc[prepared["valid"]]
    summary = btyd.rfm_summary(valid, as_of=as_of)
    # Scoring passes the population parameters fitted at training, so scoring one
    # customer gives the same answer as scoring everyone. They are fitted on the active
    # customers (as active_customers picks them: last valid order day within the lookback).
    recent = valid.loc[valid["day"] >= as_of - pd.Timedelta(days=ACTIVE_LOOKBACK_DAYS), "customer_id"]
    population = summary.loc[summary.index.isin(recent.unique())]
    params = btyd_params or (btyd.bgnbd_fit(population) if len(population) >= 20 else DEFAULT_BGNBD)
    gg = gg_params or btyd.gamma_gamma_fit(population)
    frame = features_from_prepared(
        prepared, lines, interactions, events, as_of=as_of, btyd_params=params, gg_params=gg, summary=summary
    )
    summary = summary.reindex(frame.index)
    t = window_days / btyd.DAYS_PER_UNIT
    frame["bg_p_none_window"] = btyd.bgnbd_p_no_purchase(
        params, t, summary["x"], summary["t_x"], summary["T"]
    )
    frame["bg_expected_window"] = btyd.bgnbd_expected_transactions(
        params, t, summary["x"], summary["t_x"], summary["T"]
    )
    has_orders = summary["x"].notna()
    frame.loc[~has_orders, list(WINDOW_FEATURES)] = np.nan
    return frame, summary, params, gg


def active_customers(frame: pd.DataFrame) -> pd.Series:
    """Rows (customers) of a feature frame that the models learn from: a valid order within
    ACTIVE_LOOKBACK_DAYS before the frame's as_of (False for customers without one)."""
    return frame["days_since_last_order"] <= ACTIVE_LOOKBACK_DAYS


def build_panel(orders, lines, interactions, events, *, plan: WindowPlan, progress=None) -> pd.DataFrame:
    """Stacked rows (one per active customer and cutoff, see `active_customers`) with label
    columns churn, spend, n_orders."""
    parts = []
    for i, cutoff in enumerate(plan.cutoffs):
        frame, _, _, _ = model_frame(
            orders, lines, interactions, events, as_of=cutoff, window_days=plan.label_days
        )
        frame = frame.loc[active_customers(frame)]
        outcome = window_outcomes(orders, start=cutoff, days=plan.label_days).reindex(frame.index)
        frame["label_orders"] = outcome["orders"].fillna(0.0)
        frame["label_spend"] = outcome["spend"].fillna(0.0)
        frame["label_churn"] = (frame["label_orders"] == 0).astype(int)
        frame["cutoff_index"] = i
        parts.append(frame.reset_index())
        if progress:
            progress("features", i + 1, len(plan.cutoffs))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class HorizonCarry:
    """BG/NBD quantities to carry a label-window answer to the horizon."""

    p_none_window: np.ndarray  # P(no purchase in the label window)
    p_none_horizon: np.ndarray  # P(no purchase in the horizon)
    expected_window: np.ndarray
    expected_horizon: np.ndarray

    @property
    def hazard_ratio(self) -> np.ndarray:
        """log P0(H) / log P0(L): the exponent that carries P(none in L) to P(none in H).

        Proportional hazards around the BG/NBD curve: a customer whose no-purchase
        curve is S_bg(t)^theta has P(none in L) = S_bg(L)^theta, hence
        P(none in H) = P(none in L)^(log S_bg(H) / log S_bg(L)). Equal to BG/NBD's own
        answer when the window answer is BG/NBD's; keeps the window model's ranking
        among customers with the same BTYD history.
        """
        log_l = np.log(np.clip(self.p_none_window, 1e-12, 1.0 - 1e-12))
        log_h = np.log(np.clip(self.p_none_horizon, 1e-12, 1.0 - 1e-12))
        return np.clip(log_h / np.minimum(log_l, -1e-12), 1.0, None)

    @property
    def orders_given_buy_horizon(self) -> np.ndarray:
        return self.expected_horizon / np.maximum(1.0 - self.p_none_horizon, 1e-9)

    @property
    def orders_given_buy_window(self) -> np.ndarray:
        return self.expected_window / np.maximum(1.0 - self.p_none_window, 1e-9)


def horizon_carry(params: btyd.BGNBDParams, summary: pd.DataFrame, *, label_days: int, horizon_days: int):
    x = summary["x"].fillna(0.0).to_numpy()
    t_x = summary["t_x"].fillna(0.0).to_numpy()
    T = summary["T"].fillna(0.0).to_numpy()
    tl, th = label_days / btyd.DAYS_PER_UNIT, horizon_days / btyd.DAYS_PER_UNIT
    return HorizonCarry(
        p_none_window=btyd.bgnbd_p_no_purchase(params, tl, x, t_x, T),
        p_none_horizon=btyd.bgnbd_p_no_purchase(params, th, x, t_x, T),
        expected_window=btyd.bgnbd_expected_transactions(params, tl, x, t_x, T),
        expected_horizon=btyd.bgnbd_expected_transactions(params, th, x, t_x, T),
    )
