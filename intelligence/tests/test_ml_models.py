"""Churn, LTV, segmentation and score_all on CDNOW (history before 1997-10-01)."""

import pickle

import numpy as np
import pandas as pd
import pytest

from intelligence.ml import btyd, evaluation, ltv, panel, training
from intelligence.ml.cdnow import load_cdnow_frames
from intelligence.ml.segmentation import AXIS_WORDS, UNKNOWN

# Pure ML (no models), but the app's tests all run under pytest-django.
pytestmark = pytest.mark.django_db

AS_OF = pd.Timestamp("1997-10-01", tz="UTC")
HORIZON = 273

CONTRACT_COLUMNS = [
    "churn_probability",
    "risk_band",
    "churn_model",
    "churn_confidence",
    "top_factors",
    "recommendations",
    "predicted_spend",
    "spend_p10",
    "spend_p90",
    "expected_orders",
    "p_purchase",
    "expected_next_order_date",
    "ltv_model",
    "ltv_confidence",
    "archetype",
    "archetype_id",
    "axes",
    "horizon_days",
]


@pytest.fixture(scope="module")
def frames():
    return load_cdnow_frames()


@pytest.fixture(scope="module")
def history(frames):
    orders = frames["orders"]
    return orders.loc[orders["placed_at"] < AS_OF]


@pytest.fixture(scope="module")
def bundle(frames, history):
    return training.train_all(
        history, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF, horizon_days=HORIZON
    )


@pytest.fixture(scope="module")
def scored(bundle, frames, history):
    return training.score_all(
        bundle, history, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF
    )


@pytest.fixture(scope="module")
def actual(frames, scored):
    outcome = (
        panel.window_outcomes(frames["orders"], start=AS_OF, days=HORIZON).reindex(scored.index).fillna(0.0)
    )
    outcome["churn"] = (outcome["orders"] == 0).astype(int)
    return outcome


def test_short_history_uses_a_shorter_label_window_and_says_so(bundle):
    plan = bundle.plan
    assert plan.horizon_days == HORIZON
    assert 28 <= plan.label_days < HORIZON and plan.carried
    assert len(plan.cutoffs) >= 2 and all(
        c + pd.Timedelta(days=plan.label_days) <= AS_OF for c in plan.cutoffs
    )
    assert bundle.churn.name == "lightgbm+bgnbd_carry"
    assert bundle.params["churn"]["label_days"] == plan.label_days
    assert bundle.params["churn"]["horizon_days"] == HORIZON
    assert bundle.metrics["churn"]["validation"] == "time_split"
    assert 0.5 < bundle.metrics["churn"]["roc_auc"] <= 1.0
    assert bundle.training_window == (pd.Timestamp("1997-01-01").date(), AS_OF.date())
    restored = pickle.loads(pickle.dumps(bundle))
    assert restored.churn.features == bundle.churn.features


def test_stored_metrics_are_the_issue_metrics_on_the_time_split(bundle):
    churn, spend = bundle.metrics["churn"], bundle.metrics["ltv"]
    for kind, names in ((churn, ("roc_auc", "pr_auc", "brier")),
                        (spend, ("spend_spearman", "top_decile_capture", "mae", "mae_mean_forecast"))):  # fmt: skip
        for name in names:
            assert np.isfinite(kind[name]), name
    assert churn["validation"] == spend["validation"] == "time_split"
    assert churn["validation_window_days"] == spend["validation_window_days"] == bundle.plan.label_days
    assert 0.5 < churn["roc_auc"] <= 1.0 and 0.0 < churn["brier"] < 0.25
    assert 0.0 < spend["spend_spearman"] <= 1.0 and 0.1 < spend["top_decile_capture"] <= 1.0
    # MAE is on the median forecast, the mean's is kept too; the baseline on the same rows.
    assert spend["mae_forecast"] == "median" and spend["mae"] < spend["mae_mean_forecast"]
    assert np.isfinite(spend["bgnbd_gg_top_decile_capture"])
    # The validation answers were only needed for these metrics: not stored with the model.
    assert bundle.churn.validation is None and bundle.ltv.validation is None


def test_score_all_contract(scored):
    assert scored.index.name == "customer_id" and len(scored) == 2357
    for column in CONTRACT_COLUMNS:
        assert column in scored.columns, column
    assert "days_since_last_order" in scored.columns  # every feature column too
    assert scored["churn_probability"].between(0, 1).all()
    assert set(scored["risk_band"]) <= {"low", "medium", "high"}
    assert (scored["horizon_days"] == HORIZON).all()
    assert (scored["p_purchase"] + scored["churn_probability"]).round(9).eq(1.0).all()
    assert (scored["spend_p10"] <= scored["predicted_spend"] + 1e-9).all()
    assert (scored["spend_p90"] >= scored["spend_p10"]).all()
    assert (scored["predicted_spend"] >= 0).all() and (scored["expected_orders"] >= 0).all()
    dates = scored["expected_next_order_date"].dropna()
    assert len(dates) > 0
    assert (dates >= AS_OF.tz_localize(None)).all()
    assert (dates <= (AS_OF + pd.Timedelta(days=HORIZON)).tz_localize(None)).all()


def test_ltv_range_holds_the_forecast(scored):
    # The mean of a zero-inflated spend distribution need not lie between its p10 and p90:
    # a customer unlikely to buy had "13, range 0-0". The range is widened to hold it.
    assert (scored["p_purchase"] < 0.1).any()
    assert (scored["spend_p10"] <= scored["predicted_spend"] + 1e-9).all()
    assert (scored["predicted_spend"] <= scored["spend_p90"] + 1e-9).all()


def test_ltv_range_of_a_customer_unlikely_to_buy():
    p_buy, given_buy = np.array([0.014, 0.107, 0.95]), np.array([960.0, 1300.0, 100.0])
    mean = p_buy * given_buy
    assert ltv.spend_range(p_buy, given_buy, 0.5, 0.90)[0] == 0.0  # the bare p90 of "13, range 0-0"
    low, high = ltv.spend_interval(p_buy, given_buy, 0.5)
    assert (low <= mean).all() and (mean <= high).all()
    assert low[0] == 0.0 and high[0] == pytest.approx(13.44)
    # A likely buyer keeps the quantiles themselves.
    assert low[2] == pytest.approx(ltv.spend_range(p_buy, given_buy, 0.5, 0.10)[2])
    assert high[2] == pytest.approx(ltv.spend_range(p_buy, given_buy, 0.5, 0.90)[2])


def test_factors_and_recommendations_in_words(scored):
    row = scored.sort_values("churn_probability").iloc[-1]
    assert len(row["top_factors"]) == 3
    factor = row["top_factors"][0]
    assert set(factor) == {"feature", "label", "value", "contribution", "direction"}
    assert (
        factor["direction"] in {"raises", "lowers"} and isinstance(factor["label"], str) and factor["label"]
    )
    assert row["recommendations"] and all(isinstance(r, str) for r in row["recommendations"])
    labels = {f["label"] for factors in scored["top_factors"] for f in factors}
    # Some gap or recency factor in words (which one leads depends on the trees' splits).
    assert any(
        "x their usual" in label or "x the earlier ones" in label or "days ago" in label for label in labels
    )


def test_segmentation_labels_strengths_and_unknown_axes(bundle, scored):
    axes = scored["axes"].iloc[0]
    assert len(axes) == 14
    # CDNOW has no discounts, categories, channels, support or events: unknown, never guessed.
    for axis in (
        "price_sensitivity",
        "category_breadth",
        "channel_preference",
        "support_intensity",
        "engagement",
    ):
        assert scored["axes"].map(lambda a, axis=axis: a[axis]["label"]).eq(UNKNOWN).all()
        assert axes[axis]["strength"] is None
    recency = scored["axes"].map(lambda a: a["recency"]["label"])
    assert UNKNOWN not in set(recency[scored["order_count"].notna()])
    assert set(recency) - {UNKNOWN} <= {
        "very_active",
        "active",
        "lapsing",
        "lapsing_low",
        "lapsing_high",
        "lapsed",
        "very_lapsed",
    }
    assert all(
        0 < a["recency"]["strength"] <= 1 for a in scored["axes"] if a["recency"]["strength"] is not None
    )
    seg = bundle.segmentation
    assert "price_sensitivity" not in seg.axes
    for model in seg.axes.values():
        assert 2 <= len(model.labels) <= 6 and len(set(model.labels)) == len(model.labels)
    archetypes = bundle.archetypes
    assert sum(a["size"] for a in archetypes) == len(scored)
    assert set(scored["archetype_id"]) == {a["archetype_id"] for a in archetypes}
    assert all(a["name"] and a["centroid"] for a in archetypes)


def test_dna_words_never_contradict_the_customers_own_values(bundle, scored):
    # Each axis's words describe its key feature (recency: days since the last order). A
    # customer with a larger key value never gets a lower word: assigned by the nearest
    # centroid over all the recency features, one-time buyers (recency_tenure_ratio and
    # BG/NBD p_alive both 1) could be "active" while others seen more recently were "lapsing".
    for axis, model in bundle.segmentation.axes.items():
        key = AXIS_WORDS[axis][0] if AXIS_WORDS[axis][0] in model.features else model.features[0]
        labels = scored["axes"].map(lambda a, axis=axis: a[axis]["label"])
        rank = labels.map({word: i for i, word in enumerate(model.labels)})
        known = scored[key].notna()
        by_value = rank[known].iloc[np.argsort(scored.loc[known, key].to_numpy(), kind="stable")]
        assert by_value.is_monotonic_increasing, axis
    recency = scored["axes"].map(lambda a: a["recency"]["label"])
    words = bundle.segmentation.axes["recency"].labels
    days = scored["days_since_last_order"]
    assert days[recency == words[0]].max() < days[recency == words[-1]].min()


def test_long_lapsed_customers_are_scored_but_do_not_teach_the_models(bundle, frames, history):
    # The demo's case: a shop's customers plus an old import whose customers last bought
    # decades before as_of (here CDNOW again, 28 years earlier). The models, their typical
    # customer and the DNA clusters are those of the active customers alone.
    shift = pd.Timedelta(weeks=28 * 52)  # whole weeks: the same weekdays
    old = history.assign(
        customer_id="old-" + history["customer_id"],
        placed_at=history["placed_at"] - shift,
        order_id=history["order_id"] + 10**7,
    )
    orders = pd.concat([history, old], ignore_index=True)
    others = (frames["lines"], frames["interactions"], frames["events"])
    mixed = training.train_all(orders, *others, as_of=AS_OF, horizon_days=HORIZON)
    assert mixed.plan == bundle.plan
    for kind, name in (("churn", "roc_auc"), ("churn", "brier"), ("ltv", "spend_spearman")):
        assert mixed.metrics[kind][name] == pytest.approx(bundle.metrics[kind][name], rel=1e-6), name
    assert mixed.params["bgnbd"] == pytest.approx(bundle.params["bgnbd"], rel=1e-6)
    assert mixed.churn.typical == pytest.approx(bundle.churn.typical, rel=1e-6)
    assert mixed.churn.typical["days_since_last_order"] < HORIZON
    # Still scored: near-certain churners, on the last recency word.
    scored = training.score_all(mixed, orders, *others, as_of=AS_OF, explain=False)
    lapsed = scored.loc[scored.index.str.startswith("old-")]
    assert len(lapsed) == history["customer_id"].nunique()
    lapsed = lapsed.loc[lapsed["order_count"].notna()]  # not those with $0 orders alone
    assert (lapsed["churn_probability"] > 0.9).all()
    last_word = mixed.segmentation.axes["recency"].labels[-1]
    assert lapsed["axes"].map(lambda a: a["recency"]["label"]).eq(last_word).all()


def test_other_horizon_is_answered_for_that_horizon(bundle, frames, history, scored):
    longer = training.score_all(
        bundle,
        history,
        frames["lines"],
        frames["interactions"],
        frames["events"],
        as_of=AS_OF,
        horizon_days=365,
    )
    assert (longer["horizon_days"] == 365).all()
    # A longer horizon can only make "no order at all" less likely.
    assert (longer["churn_probability"] <= scored["churn_probability"] + 1e-9).all()
    shorter = training.score_all(
        bundle,
        history,
        frames["lines"],
        frames["interactions"],
        frames["events"],
        as_of=AS_OF,
        horizon_days=30,
    )
    assert (shorter["churn_model"] == "bgnbd").all()  # shorter than the label window: BTYD answers


def test_small_data_falls_back_to_btyd(frames, history):
    few = history.loc[history["customer_id"].isin(sorted(history["customer_id"].unique())[:60])]
    small = training.train_all(
        few, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF, horizon_days=HORIZON
    )
    assert small.churn.kind == "bgnbd" and small.ltv.kind == "bgnbd_gg"
    # BG/NBD's own figures on the newest cutoff's window stand in for the validation.
    assert small.metrics["churn"]["validation"] == "newest_cutoff"
    assert {"brier", "spend_spearman", "top_decile_capture", "mae"} <= set(small.metrics["churn"]) | set(
        small.metrics["ltv"]
    )
    out = training.score_all(
        small, few, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF
    )
    assert (out["churn_model"] == "bgnbd").all() and (out["churn_confidence"] == "low").all()
    assert (out["ltv_model"] == "bgnbd_gg").all()
    assert out["churn_probability"].between(0, 1).all()


def test_quality_beats_bgnbd_on_cdnow_holdout(bundle, scored, history, actual):
    summary = btyd.rfm_summary(history.assign(value=history["total"]), as_of=AS_OF)
    bg, gg = btyd.bgnbd_fit(summary), btyd.gamma_gamma_fit(summary)
    baseline = ltv.baseline_predictions(bg, gg, summary, horizon_days=HORIZON).reindex(scored.index)
    ours_churn = evaluation.churn_metrics(actual["churn"], scored["churn_probability"])
    base_churn = evaluation.churn_metrics(actual["churn"], baseline["churn_probability"])
    assert ours_churn["roc_auc"] > base_churn["roc_auc"]
    assert ours_churn["pr_auc"] > base_churn["pr_auc"]
    assert ours_churn["brier"] < base_churn["brier"]
    ours_spend = evaluation.spend_metrics(actual["spend"], scored["predicted_spend"])
    base_spend = evaluation.spend_metrics(actual["spend"], baseline["predicted_spend"])
    assert ours_spend["spearman"] > base_spend["spearman"]
    # The predicted total is nearer the actual total (log ratio closer to 0).
    assert abs(np.log(ours_spend["total_ratio"])) < abs(np.log(base_spend["total_ratio"]))
    # Absolute error is scored on our median (its Bayes-optimal point forecast): better than
    # the baseline's mean and than forecasting nothing for everyone.
    median = ltv.median_from_mean(scored["predicted_spend"], scored["p_purchase"], bundle.ltv.shape)
    mae = np.mean(np.abs(actual["spend"] - median))
    assert mae < base_spend["mae"] and mae < actual["spend"].mean()
    # And the churn ranking beats the classic RFM quintile rule.
    assert (
        ours_churn["roc_auc"]
        > evaluation.churn_metrics(actual["churn"], _rfm_rule(history, scored.index))["roc_auc"]
    )


def _rfm_rule(history, customers):
    """Classic RFM cells: quintiles (1-5) of recency, frequency and monetary; churn score."""
    grouped = history.groupby("customer_id")
    recency = (AS_OF - grouped["placed_at"].max()).dt.days.reindex(customers)
    frequency = grouped["placed_at"].agg(lambda p: p.dt.floor("D").nunique()).reindex(customers)
    monetary = grouped["total"].sum().reindex(customers)

    def quintile(values):
        return pd.qcut(values.rank(method="first"), 5, labels=False) + 1

    score = quintile(-recency) + quintile(frequency) + quintile(monetary)
    return (15.0 - score.to_numpy(float)) / 12.0


def test_metric_helpers():
    assert evaluation.top_decile_capture(np.r_[np.zeros(9), 10.0], np.arange(10.0)) == 1.0
    m = evaluation.churn_metrics([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2])
    assert m["roc_auc"] == 1.0 and m["pr_auc"] == 1.0 and m["brier"] == pytest.approx(0.025)
    s = evaluation.spend_metrics([0.0, 10.0], [1.0, 9.0])
    assert s["mae"] == 1.0 and s["total_ratio"] == 1.0


def test_scoring_one_customer_matches_scoring_everyone(bundle, frames, history, scored):
    customer = scored["order_count"].idxmax()
    one = training.score_all(
        bundle,
        history.loc[history["customer_id"] == customer],
        frames["lines"],
        frames["interactions"],
        frames["events"],
        as_of=AS_OF,
    )
    assert list(one.index) == [customer]
    for column in ("churn_probability", "predicted_spend", "expected_orders", "bgnbd_p_alive"):
        assert one.loc[customer, column] == pytest.approx(scored.loc[customer, column], rel=1e-6), column
    assert one.loc[customer, "archetype_id"] == scored.loc[customer, "archetype_id"]


def test_scoring_without_reasons_gives_the_same_answers(bundle, frames, history, scored):
    # With reasons, the churn answer comes from the SHAP values' row sums; without, from
    # the trees' raw scores: the same numbers.
    plain = training.score_all(
        bundle, history, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF, explain=False
    )
    assert list(plain.index) == list(scored.index)
    for column in ("churn_probability", "predicted_spend", "spend_p90", "expected_orders"):
        np.testing.assert_allclose(plain[column], scored[column], rtol=1e-9, err_msg=column)
    assert plain["archetype_id"].equals(scored["archetype_id"])
    assert plain["top_factors"].map(len).eq(0).all() and plain["recommendations"].map(len).eq(0).all()
    assert scored["top_factors"].map(len).gt(0).any()
