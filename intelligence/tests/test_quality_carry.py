"""Carrying a label-window churn answer to a longer horizon (no training involved)."""

import numpy as np
import pandas as pd
import pytest

from intelligence.ml import btyd, churn
from intelligence.ml.panel import WindowPlan, horizon_carry

# Pure ML (no models), but the app's tests all run under pytest-django.
pytestmark = pytest.mark.django_db

LABEL_DAYS = 60
GAP_DAYS = 60
NEWEST = pd.Timestamp("2024-05-01", tz="UTC")
PLAN = WindowPlan(180, LABEL_DAYS, (NEWEST, NEWEST - pd.Timedelta(days=GAP_DAYS)))


def _panel(carry: str, n: int = 6000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """A two-cutoff panel whose longer windows follow the named carry; (panel, window answers).

    The older cutoff's rows get "no order in their own window" with probability p and,
    given that, "none in the 60 days after it" with p ** (k - 1): k is each customer's
    BG/NBD exponent ("individual") or one exponent for all ("typical"). The newest
    cutoff's label is what that leaves for its own window.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.uniform(60, 360, n).round()
    orders = 1 + rng.poisson(rng.gamma(0.6, 4.0, n))
    since_last = np.where(orders > 1, (rng.uniform(0, 1, n) * tenure).round(), tenure)
    older = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "cutoff_index": 1,
            "purchase_days": orders.astype(float),
            "tenure_days": tenure,
            "days_since_last_order": since_last,
        }
    )
    history = churn.btyd_history(older)
    params = btyd.bgnbd_fit(history)
    carry_ = horizon_carry(params, history, label_days=LABEL_DAYS, horizon_days=LABEL_DAYS + GAP_DAYS)
    p_window = np.clip(carry_.p_none_window, 0.05, 0.97)
    k = carry_.hazard_ratio if carry == "individual" else np.exp(np.mean(np.log(carry_.hazard_ratio)))
    quiet = rng.random(n) < p_window
    quiet_after = rng.random(n) < p_window ** (k - 1.0)
    older["label_churn"] = quiet.astype(int)
    newest = older.assign(cutoff_index=0, label_churn=np.where(quiet, quiet_after, rng.random(n) < 0.5))
    newest["label_churn"] = newest["label_churn"].astype(int)
    stacked = pd.concat([newest, older], ignore_index=True)
    return stacked, np.r_[np.full(n, 0.5), p_window]


def test_individual_bgnbd_dynamics_are_chosen_when_the_longer_windows_follow_them():
    stacked, p_window = _panel("individual")
    weight, diagnostics = churn.carry_weight_select(stacked, p_window, PLAN)
    assert weight >= 0.75
    losses = diagnostics["carry_log_loss"]
    assert losses["1.0"] < losses["0.0"]


def test_one_typical_exponent_is_kept_when_the_longer_windows_follow_it():
    stacked, p_window = _panel("typical")
    weight, diagnostics = churn.carry_weight_select(stacked, p_window, PLAN)
    assert weight == 0.0
    assert diagnostics["carry_validation_rows"] > 0


def test_nothing_to_carry_keeps_the_individual_exponents():
    stacked, p_window = _panel("individual", n=200)
    not_carried = WindowPlan(LABEL_DAYS, LABEL_DAYS, PLAN.cutoffs)
    assert churn.carry_weight_select(stacked, p_window, not_carried) == (1.0, {})


def test_carried_exponent_shrinks_in_log_space():
    individual = np.array([1.5, 2.0, 4.0])
    typical = float(np.log(2.0))
    assert churn.carried_exponent(individual, typical, 1.0) == pytest.approx(individual)
    assert churn.carried_exponent(individual, typical, 0.0) == pytest.approx(np.full(3, 2.0))
    half = churn.carried_exponent(individual, typical, 0.5)
    assert half == pytest.approx(np.sqrt(individual * 2.0))
