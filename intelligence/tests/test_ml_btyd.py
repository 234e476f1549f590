"""BG/NBD and Gamma-Gamma against the published CDNOW figures."""

import numpy as np
import pandas as pd
import pytest

from intelligence.ml import btyd
from intelligence.ml.cdnow import load_cdnow_frames

# Pure ML (no models), but the app's tests all run under pytest-django.
pytestmark = pytest.mark.django_db

CALIBRATION_END = pd.Timestamp("1997-10-01", tz="UTC")  # weeks 1-39: 1997-01-01 .. 1997-09-30


@pytest.fixture(scope="module")
def summary():
    orders = load_cdnow_frames()["orders"]
    return btyd.rfm_summary(orders.assign(value=orders["total"]), as_of=CALIBRATION_END)


def test_summary_counts_customer_days(summary):
    # 2,357 customers and 2,457 repeat transactions (one per customer-day) in weeks 1-39.
    assert len(summary) == 2357
    assert summary["x"].sum() == 2457
    assert summary["T"].max() == pytest.approx(272 / 7)
    assert (summary["t_x"] <= summary["T"]).all()


def test_bgnbd_reproduces_published_parameters(summary):
    params = btyd.bgnbd_fit(summary)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(params, name) == pytest.approx(value, rel=1e-2), name


def test_bgnbd_conditional_quantities(summary):
    params = btyd.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    # One-time buyers are alive by construction; a long-silent repeat buyer is probably not.
    assert btyd.bgnbd_p_alive(params, 0, 0, 39)[()] == 1.0
    assert btyd.bgnbd_p_alive(params, 5, 5, 39)[()] < 0.2
    assert btyd.bgnbd_p_alive(params, 5, 38, 39)[()] > 0.8
    expected = btyd.bgnbd_expected_transactions(params, 39, summary["x"], summary["t_x"], summary["T"])
    # Weeks 40-78 hold 1,882 customer-days; BG/NBD famously forecasts a little under that.
    assert 1500 < expected.sum() < 1900
    # P(no purchase) falls with the window and matches E[Y] = 0 at t = 0.
    p0 = btyd.bgnbd_p_no_purchase(params, np.array([0.0, 13.0, 39.0]), 2, 30, 39)
    assert p0[0] == pytest.approx(1.0)
    assert p0[0] > p0[1] > p0[2] > 0


def test_gamma_gamma_fit_and_conditional_spend(summary):
    gg = btyd.gamma_gamma_fit(summary)
    # Published on this sample: p=6.25, q=3.74, v=15.44.
    assert gg.p == pytest.approx(6.25, rel=2e-2)
    assert gg.q == pytest.approx(3.74, rel=2e-2)
    assert gg.v == pytest.approx(15.44, rel=2e-2)
    population = gg.population_mean
    high = btyd.gamma_gamma_expected_spend(gg, np.array([1, 10]), np.array([200.0, 200.0]))
    # Shrunk from the customer's own mean towards the population mean, less so with more orders.
    assert population < high[0] < high[1] < 200.0
    assert btyd.gamma_gamma_expected_spend(gg, 0, np.nan)[()] == pytest.approx(population)


def test_summary_of_no_valid_orders_is_empty_not_an_error():
    orders = pd.DataFrame(
        {
            "customer_id": ["a"],
            "placed_at": pd.to_datetime(["1997-12-01"], utc=True),
            "value": [10.0],
        }
    )
    empty = btyd.rfm_summary(orders, as_of=pd.Timestamp("1997-10-01", tz="UTC"))
    assert empty.empty and list(empty.columns) == ["x", "t_x", "T", "m_x"]
