"""expected_next_order_days by bisection gives the daily grid's answers."""

import numpy as np
import pandas as pd
import pytest

from intelligence.ml import btyd, ltv
from intelligence.ml.panel import DEFAULT_BGNBD


def _grid_days(params, summary, horizon_days):
    """The reference: evaluate every day 1..horizon, take the first that reaches half."""
    grid = np.arange(1, horizon_days + 1, dtype=float)
    x, t_x, T = (summary[c].fillna(0.0).to_numpy()[:, None] for c in ("x", "t_x", "T"))
    p_buy = 1.0 - btyd.bgnbd_p_no_purchase(params, grid[None, :] / btyd.DAYS_PER_UNIT, x, t_x, T)
    share = p_buy / np.maximum(p_buy[:, -1:], 1e-12)
    return grid[np.argmax(share >= 0.5, axis=1)]


def _summary(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.0, 80.0, n)  # weeks of history
    t_x = T * rng.uniform(0.0, 1.0, n)
    x = rng.poisson(rng.gamma(0.5, 4.0, n))
    t_x = np.where(x == 0, 0.0, t_x)
    frame = pd.DataFrame({"x": x.astype(float), "t_x": t_x, "T": T})
    frame.loc[0, ["x", "t_x", "T"]] = np.nan  # a customer without orders
    frame.loc[1, ["x", "t_x", "T"]] = [40.0, 79.0, 79.5]  # frequent and recent: next order soon
    frame.loc[2, ["x", "t_x", "T"]] = [3.0, 1.0, 79.0]  # long silent
    return frame


@pytest.mark.parametrize(
    "params", [DEFAULT_BGNBD, btyd.BGNBDParams(r=1.5, alpha=2.0, a=0.2, b=5.0)], ids=["cdnow", "frequent"]
)
@pytest.mark.parametrize("horizon_days", [1, 2, 30, 273, 365])
def test_bisection_matches_the_daily_grid(params, horizon_days):
    summary = _summary()
    expected = _grid_days(params, summary, horizon_days)
    found = ltv.expected_next_order_days(params, summary, horizon_days=horizon_days)
    np.testing.assert_array_equal(found, expected)
    assert found.min() >= 1 and found.max() <= horizon_days
    assert len(np.unique(found)) > (1 if horizon_days > 2 else 0)  # not one answer for everyone
