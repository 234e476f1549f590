"""Churn factors and grounded answers in words an agent can trust (intelligence/ml/explain.py,
ChurnModel.contributions, services/explanations.py)."""

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from intelligence import interface
from intelligence.ml import churn, explain, panel, training
from intelligence.ml.cdnow import load_cdnow_frames
from intelligence.ml.churn import ChurnModel, LinearPrior
from intelligence.ml.features import FEATURE_NAMES

pytestmark = pytest.mark.django_db

AS_OF = pd.Timestamp("1997-10-01", tz="UTC")
HORIZON = 273
# Every feature name a model can explain with: the catalogue, the label window's BG/NBD answers
# and the features the linear churn prior's inputs come from.
MODEL_FEATURE_NAMES = sorted(
    set(FEATURE_NAMES) | set(panel.WINDOW_FEATURES) | set(churn.RFM_FEATURES.values())
)
INTERNAL_WORDS = re.compile(
    r"_|\bnan\b|\bcurrency\b|\bnats\b|\bas of\b|\bBG/NBD\b|Gamma-Gamma", re.IGNORECASE
)


@pytest.fixture(scope="module")
def cdnow():
    frames = load_cdnow_frames()
    history = frames["orders"].loc[frames["orders"]["placed_at"] < AS_OF]
    bundle = training.train_all(
        history, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF, horizon_days=HORIZON
    )
    scored = training.score_all(
        bundle, history, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF
    )
    return bundle, scored


def _factors(scored: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {"customer_id": cid, **factor} for cid, factors in scored["top_factors"].items() for factor in factors
    ]
    return pd.DataFrame(rows).set_index("customer_id")


def _assert_human(name: str, label: str) -> None:
    assert label and label != name and name not in label, (name, label)
    assert not INTERNAL_WORDS.search(label), (name, label)


# --- every feature has words -------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_FEATURE_NAMES)
def test_every_feature_the_models_use_has_human_words(name):
    for value in (0.0, 0.5, 1.0, 3.0, 42.0, -0.3, float("nan")):
        _assert_human(name, explain.factor_label(name, value))
    _assert_human(name, explain.factor_labels(name, [0.4], typical=1.0)[0])
    assert name in explain.WORDINGS  # worded on purpose, not by the spelt-out fallback


def test_the_trained_models_explain_only_with_worded_features(cdnow):
    bundle, scored = cdnow
    used = set(bundle.churn.features) | set(bundle.churn.contributions(scored.head(50)).columns)
    assert used <= set(explain.WORDINGS)
    for factor in _factors(scored).itertuples():
        _assert_human(factor.feature, factor.label)


# --- direction: against the typical customer, from the right feature ---------------------


def _linear_prior() -> LinearPrior:
    # Standardised inputs; frequency lowers the risk, BG/NBD's odds of no order raise it.
    return LinearPrior(
        mean=np.array([np.log1p(60.0), np.log(1.3), np.log1p(40.0), np.log1p(90.0), np.log(0.83 / 0.17)]),
        scale=np.ones(5),
        coef=np.array([0.0, -1.0, 0.0, 0.0, 0.4]),
        intercept=1.5,
    )


def _rfm_frame(**values) -> pd.DataFrame:
    row = {"days_since_last_order": 60.0, "order_count": 1.0, "purchase_days": 1.0, "total_spend": 40.0,
           "tenure_days": 90.0, "bg_p_none_window": 0.83, "is_repeat_customer": 0.0} | values  # fmt: skip
    return pd.DataFrame([row], index=pd.Index(["c1"], name="customer_id"))


def test_a_frequent_buyers_prior_is_not_told_as_their_chance_of_no_order():
    """The linear prior's terms are factors of their own: 32 orders lower the risk as
    "32 orders so far", while a 94% chance of no order (above the typical 83%) raises it."""
    linear = _linear_prior()
    model = ChurnModel(kind="lightgbm", plan=panel.WindowPlan(90, 90, ()), features=[], linear=linear)
    frame = _rfm_frame(order_count=32.0, purchase_days=26.0, bg_p_none_window=0.94, is_repeat_customer=1.0)
    contributions = model.contributions(frame, shap=np.zeros((1, 1)))
    assert contributions.loc["c1", "order_count"] < 0 < contributions.loc["c1", "bg_p_none_window"]
    # The parts still add up to the prior's margin against the average training row.
    assert contributions.loc["c1"].sum() == pytest.approx(linear.margin(frame)[0] - linear.intercept)
    factors = explain.top_factors(frame, contributions, typical=linear.reference()).loc["c1"]
    by_feature = {f["feature"]: f for f in factors}
    assert by_feature["order_count"]["direction"] == "lowers"
    assert by_feature["order_count"]["label"] == "32 orders so far, vs 1 order for a typical customer"
    assert by_feature["bg_p_none_window"]["direction"] == "raises"
    assert by_feature["bg_p_none_window"]["label"] == (
        "94% chance of no order soon by purchase pattern, vs 83% for a typical customer"
    )


def test_a_chance_of_no_order_lowers_the_risk_only_when_below_the_typical_customers(cdnow):
    bundle, scored = cdnow
    linear = bundle.churn.linear
    typical = 1.0 / (1.0 + np.exp(-linear.mean[churn.RFM_INPUTS.index("bgnbd_log_odds")]))
    factors = _factors(scored)
    chance = factors.loc[factors["feature"] == "bg_p_none_window"]
    assert len(chance) > 100
    assert (chance.loc[chance["direction"] == "lowers", "value"] < typical).all()
    assert (chance.loc[chance["direction"] == "raises", "value"] > typical).all()
    assert chance["label"].str.endswith(f"vs {typical * 100:.0f}% for a typical customer").all()


def test_linear_prior_factors_agree_with_the_typical_customer(cdnow):
    """Features only the linear prior uses: a value above the typical customer's moves the risk
    the way the coefficient says, below it the other way."""
    bundle, scored = cdnow
    typical, coef = bundle.churn.typical, dict(zip(churn.RFM_INPUTS, bundle.churn.linear.coef, strict=True))
    factors = _factors(scored)
    for name, feature in churn.RFM_FEATURES.items():
        if feature == "bg_p_none_window":
            continue  # the trees add their part to it (tested above)
        repeat = scored["purchase_days"].reindex(factors.index).to_numpy() > 1
        rows = factors.loc[(factors["feature"] == feature).to_numpy() & repeat]
        raises = (rows["value"] > typical[feature]) == (coef[name] > 0)
        assert (rows["direction"] == np.where(raises, "raises", "lowers")).all(), feature


def test_contributions_add_up_to_the_churn_margin(cdnow):
    """Splitting the prior keeps SHAP's sum: contributions + the trees' expected value + the
    prior's intercept = the raw log-odds of no order (positive raises the risk)."""
    bundle, scored = cdnow
    model = bundle.churn
    frame = scored.head(200)
    shap = model.shap_values(frame)
    margin = model.booster.predict(frame[model.features], raw_score=True) + model.prior(frame)
    total = model.contributions(frame, shap).sum(axis=1).to_numpy() + shap[:, -1] + model.linear.intercept
    np.testing.assert_allclose(total, margin, atol=1e-6)


# --- one purchase: nothing about gaps, rates or repeat behaviour that cannot exist -------


def test_one_purchase_factors_say_one_purchase_not_undefined_features():
    frame = _rfm_frame(
        days_since_last_order=4.0, tenure_days=4.0, orders_per_month=7.5, mean_gap_days=np.nan,
        bgnbd_p_alive=1.0, gg_expected_order_value=35.17, order_value_std=0.0,
    )  # fmt: skip
    contributions = pd.DataFrame(
        {"orders_per_month": [-0.5], "mean_gap_days": [0.4], "bgnbd_p_alive": [0.3],
         "gg_expected_order_value": [0.2], "order_value_std": [0.1], "days_since_last_order": [-0.1],
         "is_repeat_customer": [0.05], "total_spend": [0.01]},
        index=frame.index,
    )  # fmt: skip
    factors = explain.top_factors(frame, contributions, k=3).loc["c1"]
    assert [(f["feature"], f["contribution"]) for f in factors] == [
        ("is_repeat_customer", 1.05),
        ("days_since_last_order", -0.6),
        ("total_spend", 0.01),
    ]
    assert factors[0]["label"] == "has not bought again yet"
    assert factors[1]["label"] == "last order 4 days ago"


def test_several_orders_on_the_one_day_stay_a_factor_of_their_own():
    frame = _rfm_frame(order_count=2.0)
    contributions = pd.DataFrame({"order_count": [-0.3], "is_repeat_customer": [0.1]}, index=frame.index)
    factors = explain.top_factors(frame, contributions).loc["c1"]
    assert [f["label"] for f in factors] == ["2 orders so far", "has not bought again yet"]


def test_one_purchase_customers_are_not_explained_by_intervals_or_rates(cdnow):
    _, scored = cdnow
    one = scored.loc[scored["purchase_days"] == 1]
    assert len(one) > 1000
    factors = _factors(one)
    assert not set(factors["feature"]) & set(explain.UNDEFINED_WITH_ONE_PURCHASE | explain.TENURE_RATES)
    assert (
        not factors["label"].str.contains("between orders|a month|usual|still active|per future order").any()
    )
    advice = [text for texts in one["recommendations"] for text in texts]
    assert advice and not any("usual buying interval" in text for text in advice)


def test_recommendations_fit_the_purchase_history():
    factors = pd.Series(
        [
            [{"feature": "bg_p_none_window", "direction": "raises"}],
            [{"feature": "order_count", "direction": "raises"}],
        ],
        index=["once", "often"],
    )
    advice = explain.recommendations(factors, [0.5, 0.5], pd.Series([1.0, 6.0], index=factors.index))
    assert advice["once"] == [explain.RECOMMENDATIONS["second_order"]]
    assert advice["often"] == [explain.RECOMMENDATIONS["reminder"]]


def _one_order_intelligence() -> interface.CustomerIntelligence:
    features = {
        "order_count": 1.0, "purchase_days": 1.0, "orders_per_month": 7.5, "orders_90d": 1.0,
        "days_since_last_order": 4.0, "mean_gap_days": None, "recency_gap_ratio": None,
        "bgnbd_p_alive": 1.0, "bg_p_none_window": 0.61, "total_spend": 120.0, "avg_order_value": 120.0,
        "spend_per_month": 900.0, "weekend_share": 0.0,
    }  # fmt: skip
    churn_prediction = interface.ChurnPrediction(
        customer_id="c1", probability=0.3, horizon_days=365, risk_band="low", model="lightgbm",
        top_factors=(interface.Factor("is_repeat_customer", "has not bought again yet", 0.0, 0.2, "raises"),),
        recommendations=(), model_version="v1", confidence="high",
    )  # fmt: skip
    ltv = interface.LTVForecast(
        customer_id="c1", horizon_days=365, predicted_spend=80.0, p10=0.0, p90=200.0, expected_orders=0.8,
        probability_of_purchase=0.7, expected_next_order_date=None, historic_value=120.0, model="lightgbm",
        model_version="v1", confidence="high",
    )  # fmt: skip
    return interface.CustomerIntelligence(
        customer_id="c1",
        as_of=date(2026, 7, 1),
        computed_at=timezone.now(),
        dna=interface.CustomerDNA(axes=(), archetype="Premium Full-Price Very-New"),
        churn=churn_prediction,
        ltv=ltv,
        historic=interface.HistoricStats(
            order_count=1,
            total_spent=120.0,
            average_order_value=120.0,
            average_days_between_orders=None,
            first_order_at=None,
            last_order_at=None,
            days_since_last_order=4,
        ),
        features=features,
    )


def test_a_one_order_customers_answer_states_no_intervals_or_rates(monkeypatch):
    from intelligence.services import analysis, explanations

    monkeypatch.setattr(analysis, "customer_analyze", lambda **kwargs: _one_order_intelligence())
    answer = explanations.behavior_explain(
        customer_id="c1", question="How often do they buy, and will they churn?"
    )
    assert "with 1 order as of" in answer.answer
    evidence = " | ".join(answer.evidence)
    assert "1 order so far" in evidence and "last order 4 days ago" in evidence
    for nonsense in ("a month", "still active", "usual", "every"):
        assert nonsense not in evidence, nonsense


def test_a_stored_one_order_customer_is_explained_consistently(trained):
    from intelligence.models import CustomerIntelligence

    row = CustomerIntelligence.objects.filter(order_count=1).order_by("customer_id").first()
    answer = interface.explain_behavior(
        customer_id=row.customer_id, question="Will they stop buying, and how often?"
    )
    assert "with 1 order as of" in answer.answer
    evidence = " | ".join(answer.evidence)
    for nonsense in ("a month", "still active", "usual", "between orders", "per future order"):
        assert nonsense not in evidence, nonsense
    assert "usual buying interval" not in answer.answer
