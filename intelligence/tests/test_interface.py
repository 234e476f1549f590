"""The public interface on real CDNOW data with a trained model."""

import pytest
from django.db.models import Q

from intelligence import interface
from intelligence.errors import CustomerNotFound, InvalidQuery
from intelligence.models import CustomerIntelligence

pytestmark = pytest.mark.django_db


def test_analyze_customer_is_stamped_and_consistent(trained, customer_id):
    intel = interface.analyze_customer(customer_id=customer_id)
    assert intel.customer_id == customer_id
    assert intel.churn.horizon_days == 273 and intel.ltv.horizon_days == 273
    assert intel.churn.model_version == trained.label == intel.ltv.model_version == intel.dna.model_version
    assert 0.0 <= intel.churn.probability <= 1.0
    assert intel.churn.risk_band in ("low", "medium", "high")
    assert intel.ltv.p10 <= intel.ltv.predicted_spend <= intel.ltv.p90
    assert {a.axis for a in intel.dna.axes} >= {"recency", "monetary_value", "price_sensitivity"}
    # CDNOW has no discounts: that axis is unknown, never made up.
    assert intel.dna.label("price_sensitivity") == "unknown"
    assert intel.historic.order_count >= 3 and intel.features["order_count"] >= 1
    stored = CustomerIntelligence.objects.get(customer_id=customer_id)
    assert intel.churn.probability == pytest.approx(stored.churn_probability, abs=0.05)


def test_second_analysis_comes_from_the_cache(trained, customer_id, django_assert_max_num_queries):
    first = interface.analyze_customer(customer_id=customer_id)
    assert not first.cached
    with django_assert_max_num_queries(1):
        second = interface.analyze_customer(customer_id=customer_id)
    assert second.cached and second.churn == first.churn


def test_new_orders_invalidate_the_cache_and_rescore(
    trained, customer_id, django_capture_on_commit_callbacks
):
    from ingestion import interface as ingestion

    interface.analyze_customer(customer_id=customer_id)
    before = CustomerIntelligence.objects.get(customer_id=customer_id)
    external = ingestion.customer_get(customer_id=customer_id).external_refs[0][1]
    with django_capture_on_commit_callbacks(execute=True):
        result = ingestion.ingest_orders(
            source="cdnow",
            records=[
                {
                    "external_id": f"new-order-{customer_id}",
                    "customer_id": external,
                    "placed_at": "1997-09-29T12:00:00Z",
                    "total": "40.00",
                    "currency": "USD",
                }
            ],
        )
    assert result.accepted == 1
    after = interface.analyze_customer(customer_id=customer_id)
    assert not after.cached
    assert after.historic.order_count == before.order_count + 1
    row = CustomerIntelligence.objects.get(customer_id=customer_id)
    assert row.order_count == before.order_count + 1  # re-scored by the customer_rescore task
    assert row.days_since_last_order <= 1


def test_unknown_customer(trained):
    with pytest.raises(CustomerNotFound):
        interface.analyze_customer(customer_id="no-such-customer")


def test_a_customer_without_behaviour_gets_the_population_answer_with_its_range(trained):
    from ingestion import interface as ingestion

    ref = ingestion.sync_customer(source="shop", data={"customer_id": "new-1", "email": "new@example.com"})
    intel = interface.analyze_customer(customer_id=ref.customer_id)
    assert intel.churn.confidence == "low"
    assert 0 <= intel.ltv.p10 <= intel.ltv.predicted_spend <= intel.ltv.p90
    assert intel.ltv.p90 > 0


def test_inline_context_is_scored_without_storing(trained):
    count = CustomerIntelligence.objects.count()
    intel = interface.analyze_customer(
        context={
            "orders": [
                {"placed_at": "1997-01-10T10:00:00Z", "total": 25.0},
                {"placed_at": "1997-02-20T10:00:00Z", "total": 35.0},
                {"placed_at": "1997-04-02T10:00:00Z", "total": 30.0},
            ]
        }
    )
    assert intel.historic.order_count == 3
    assert 0.0 <= intel.churn.probability <= 1.0
    assert CustomerIntelligence.objects.count() == count
    with pytest.raises(InvalidQuery):
        interface.analyze_customer(context={"orders": []})


def test_forecast_ltv_for_another_horizon(trained, customer_id):
    default = interface.forecast_ltv(customer_id=customer_id)
    six = interface.forecast_ltv(customer_id=customer_id, horizon_months=6)
    assert default.horizon_days == 365 and six.horizon_days == 183
    assert six.predicted_spend <= default.predicted_spend + 1e-6


def test_segment_customer_from_id_and_from_features(trained, customer_id):
    dna = interface.segment_customer(behavior={"customer_id": customer_id})
    assert dna.archetype and dna.model_version == trained.label
    raw = interface.segment_customer(
        behavior={"order_count": 8, "total_spend": 900.0, "days_since_last_order": 10}
    )
    assert raw.label("monetary_value") != "unknown"
    with pytest.raises(InvalidQuery):
        interface.segment_customer(behavior={"not_a_feature": 1})


def test_score_customer_support_priority(trained, customer_id):
    score = interface.score_customer(customer_id=customer_id, scoring_context="support_priority")
    assert 0 <= score.score <= 100
    assert set(score.components) == {"value_at_risk", "churn", "value"}
    assert score.reasons
    custom = interface.score_customer(
        customer_id=customer_id, scoring_context={"weights": {"churn": 1, "value": 0}}
    )
    assert custom.score != score.score or custom.components == score.components
    with pytest.raises(InvalidQuery):
        interface.score_customer(customer_id=customer_id, scoring_context="no-such-context")


def test_explain_behavior_is_grounded(trained, customer_id):
    answer = interface.explain_behavior(customer_id=customer_id, question="Why might they stop buying?")
    assert "chance of no order" in answer.answer and answer.evidence
    nothing = interface.explain_behavior(customer_id=customer_id, question="Do they browse the site or app?")
    assert "no facts" in nothing.answer  # CDNOW has no events


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"all": [{"field": "risk_band", "op": "eq", "value": "high"}]}, Q(risk_band="high")),
        (
            {
                "any": [
                    {"field": "order_count", "op": "gte", "value": 5},
                    {"field": "total_spent", "op": "gt", "value": 500},
                ]
            },
            Q(order_count__gte=5) | Q(total_spent__gt=500),
        ),
        (
            {
                "all": [
                    {"field": "churn_probability", "op": "between", "value": [0.2, 0.6]},
                    {"not": {"field": "risk_band", "op": "in", "value": ["low"]}},
                ]
            },
            Q(churn_probability__gte=0.2, churn_probability__lte=0.6) & ~Q(risk_band__in=["low"]),
        ),
        ({"field": "axis:price_sensitivity", "op": "eq", "value": "unknown"}, Q()),
    ],
)
def test_customers_query_trees(trained, filters, expected):
    result = interface.customers_query(filters=filters, limit=5)
    assert result.count == CustomerIntelligence.objects.filter(expected).count()
    assert len(result.customer_ids) == min(5, result.count)


def test_customers_query_rejects_unknown_fields(trained):
    with pytest.raises(InvalidQuery):
        interface.customers_query(filters={"field": "password", "op": "eq", "value": 1})
    with pytest.raises(InvalidQuery):
        interface.customers_query(filters={"field": "order_count", "op": "like", "value": 1})
