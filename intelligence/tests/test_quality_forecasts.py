"""Point forecasts of the zero-inflated gamma spend distribution (no training involved)."""

import numpy as np
import pytest

from intelligence.ml import ltv

# Pure ML (no models), but the app's tests all run under pytest-django.
pytestmark = pytest.mark.django_db


def _draw(p_buy: float, mean_given_buy: float, shape: float, n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bought = rng.random(n) < p_buy
    return np.where(bought, rng.gamma(shape, mean_given_buy / shape, n), 0.0)


def test_median_is_the_distributions_median_and_wins_under_absolute_error():
    p_buy, given_buy, shape = 0.7, 100.0, 0.9
    sample = _draw(p_buy, given_buy, shape, 200_000)
    mean, median = ltv.point_forecasts(np.array([p_buy]), np.array([given_buy]), shape)
    assert mean[0] == pytest.approx(70.0)
    assert np.mean(sample <= median[0]) == pytest.approx(0.5, abs=0.005)
    assert np.mean(np.abs(sample - median[0])) < np.mean(np.abs(sample - mean[0]))


def test_median_is_zero_for_anyone_less_likely_than_not_to_buy():
    p_buy = np.array([0.1, 0.49, 0.51, 0.9])
    _, median = ltv.point_forecasts(p_buy, np.full(4, 50.0), 1.0)
    assert median[0] == 0.0 and median[1] == 0.0
    assert 0.0 < median[2] < median[3]


def test_median_from_a_scored_mean_matches_the_direct_one():
    p_buy = np.array([0.0, 0.3, 0.8, 0.95])
    given_buy = np.array([40.0, 40.0, 120.0, 300.0])
    mean, median = ltv.point_forecasts(p_buy, given_buy, 0.8)
    assert ltv.median_from_mean(mean, p_buy, 0.8) == pytest.approx(median)


def test_hurdle_metrics_name_the_issue_metrics_and_score_the_median():
    actual = np.array([0.0, 0.0, 0.0, 80.0, 150.0])
    p_buy = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    given_buy = np.array([50.0, 50.0, 60.0, 90.0, 160.0])
    metrics = ltv.hurdle_metrics(actual, p_buy, given_buy, 2.0)
    assert {"spend_spearman", "top_decile_capture", "mae", "mae_mean_forecast", "total_ratio"} <= set(metrics)
    _, median = ltv.point_forecasts(p_buy, given_buy, 2.0)
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(actual - median)))
    assert metrics["mae_forecast"] == "median"
    assert metrics["top_decile_capture"] == pytest.approx(150.0 / 230.0)
