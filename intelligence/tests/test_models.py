"""Registry rules and behaviour without a trained model (no training here)."""

import pytest
from django.db import IntegrityError, transaction

from intelligence import interface
from intelligence.errors import ModelNotReady
from intelligence.models import ModelVersion
from intelligence.services import registry, scoring
from intelligence.tests.factories import ArchetypeFactory, CustomerIntelligenceFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_one_active_version_per_kind_is_enforced():
    ModelVersionFactory(active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(active=True)


def test_activate_and_rollback_switch_the_single_active_version():
    old = ModelVersionFactory()
    new = ModelVersionFactory()
    registry.version_activate(version=new)
    assert list(ModelVersion.objects.filter(active=True)) == [new]
    assert registry.version_rollback(kind="bundle") == old
    assert list(ModelVersion.objects.filter(active=True).values_list("pk", flat=True)) == [old.pk]
    with pytest.raises(ModelNotReady):
        registry.version_rollback(kind="bundle")  # nothing older than the first


def test_interface_says_model_not_ready_without_a_trained_model():
    with pytest.raises(ModelNotReady):
        interface.analyze_customer(customer_id="anything")
    with pytest.raises(ModelNotReady):
        scoring.customers_score_all()


def test_ingestion_without_a_model_skips_the_rescore():
    from ingestion import interface as ingestion

    result = ingestion.ingest_orders(
        source="shop",
        records=[
            {
                "external_id": "o-1",
                "customer_id": "c-1",
                "placed_at": "2024-01-02T10:00:00Z",
                "total": "12.50",
            }
        ],
    )
    assert result.accepted == 1
    assert scoring.customers_rescore(customer_ids=list(result.customer_ids)) == 0


def test_customers_query_on_stored_rows():
    high = CustomerIntelligenceFactory(
        churn_probability=0.9, risk_band="high", value_at_risk=90, order_count=5
    )
    CustomerIntelligenceFactory(churn_probability=0.1, risk_band="low", value_at_risk=10, order_count=1)
    result = interface.customers_query(filters={"all": [{"field": "risk_band", "op": "eq", "value": "high"}]})
    assert result.customer_ids == (high.customer_id,)
    assert interface.customers_query(filters={}).count == 2
    ArchetypeFactory()  # factories of every model build valid rows
