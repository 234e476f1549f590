"""The tabled TreeSHAP gives LightGBM's own pred_contrib values, on every kind of split."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from intelligence.ml import treeshap

# Pure ML, but the app's tests all run under pytest-django.
pytestmark = pytest.mark.django_db


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 2] = rng.integers(0, 4, n)  # few values: thresholds between integers, many ties
    X[:, 3] = np.where(rng.random(n) < 0.3, 0.0, X[:, 3])  # zeros: a "Zero" missing type
    X[rng.random((n, 6)) < 0.15] = np.nan  # missing everywhere: learned default directions
    margin = np.nan_to_num(X[:, 0]) * 2 - np.nan_to_num(X[:, 1]) + (X[:, 2] == 2) + np.isnan(X[:, 4])
    y = (margin + rng.normal(size=n) > 0).astype(int)
    return X, y


def _booster(X, y, **params):
    base = {"objective": "binary", "verbose": -1, "num_leaves": 15, "max_depth": 4, "min_child_samples": 20}
    return lgb.train({**base, **params}, lgb.Dataset(X, y), num_boost_round=40)


@pytest.mark.parametrize(
    "params",
    [
        {},  # depth 4, as the churn model
        {"max_depth": 6, "num_leaves": 31},  # deeper paths, features repeated along them
        {"zero_as_missing": True},  # "Zero" missing type
        {"use_missing": False},  # "None": NaN compared as 0
        {"subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.5},
    ],
)
def test_values_equal_lightgbm_pred_contrib(params):
    X, y = _data()
    booster = _booster(X, y, **params)
    tables = treeshap.tables_from_booster(booster)
    assert tables is not None
    test, _ = _data(n=800, seed=1)
    test[:5] = 0.0  # exact zeros in every feature
    test[5:10] = np.nan  # all missing
    thresholds = booster.trees_to_dataframe()["threshold"].dropna().to_numpy()
    test[10:20, 0] = thresholds[:10]  # on a split threshold: goes left
    ours = treeshap.shap_values(tables, test)
    expected = booster.predict(test, pred_contrib=True)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.sum(axis=1), booster.predict(test, raw_score=True), rtol=0, atol=1e-9)


def test_categorical_splits_are_left_to_lightgbm():
    X, y = _data()
    X[:, 2] = np.nan_to_num(X[:, 2])
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "max_depth": 4, "min_data_per_group": 5, "cat_smooth": 1},
        lgb.Dataset(X, y, categorical_feature=[2]),
        num_boost_round=20,
    )
    assert "==" in set(booster.trees_to_dataframe()["decision_type"].dropna())
    assert treeshap.tables_from_booster(booster) is None


def test_single_leaf_trees_and_one_row():
    X, y = _data(n=200)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "min_child_samples": 1000},
        lgb.Dataset(X, y),
        num_boost_round=3,
    )
    tables = treeshap.tables_from_booster(booster)
    ours = treeshap.shap_values(tables, X[:1])
    np.testing.assert_allclose(ours, booster.predict(X[:1], pred_contrib=True), atol=1e-12)


def test_churn_model_explains_with_the_tables(monkeypatch):
    """ChurnModel.shap_values goes through the tables and equals pred_contrib."""
    from intelligence.ml.churn import ChurnModel
    from intelligence.ml.panel import WindowPlan

    X, y = _data()
    booster = _booster(X, y)
    features = [f"f{i}" for i in range(X.shape[1])]
    model = ChurnModel(kind="lightgbm", plan=WindowPlan(90, 90, ()), features=features, booster=booster)
    frame = pd.DataFrame(X[:300], columns=features)
    called = []
    real = treeshap.shap_values
    monkeypatch.setattr(treeshap, "shap_values", lambda *a: called.append(1) or real(*a))
    np.testing.assert_allclose(
        model.shap_values(frame), booster.predict(X[:300], pred_contrib=True), rtol=0, atol=1e-9
    )
    assert called
