"""End to end on the real platform: a generated shop, trained models, customer ids only."""

import pytest
from django.core.management import call_command

from generation import interface
from generation.models import GenerationLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained_shop():
    call_command("generate_shop", customers=150, seed=3, verbosity=0)
    call_command("train_models", verbosity=0)
    from ingestion import interface as ingestion

    orders = ingestion.orders_frame()
    spend = orders.groupby("customer_id")["total"].sum().sort_values()
    return {"top": str(spend.index[-1]), "low": str(spend.index[0])}


def test_everything_by_customer_id(trained_shop, api_client):
    from intelligence import interface as intelligence

    cid = trained_shop["top"]
    intel = intelligence.analyze_customer(customer_id=cid)
    message = interface.generate_message(customer_id=cid, context={"goal": "upsell", "channel": "email"})
    assert message.backend == "offline" and intel.dna.archetype in message.notes
    assert f"{intel.historic.order_count} orders" in message.body
    actions = interface.suggest_actions(
        customer_id=cid, scenario="support_ticket", context={"body": "late parcel"}
    )
    assert actions[0].priority == 1 and intel.churn.risk_band in ("low", "medium", "high")
    offer = interface.personalize_offer(customer_id=cid, products=[{"sku": "X", "price": 50}])
    assert offer.max_discount_value <= intel.churn.probability * intel.ltv.predicted_spend + 1e-6
    recs = interface.recommend_content(customer_id=cid)
    assert any(r.kind == "product" for r in recs)
    timing = interface.optimize_timing(customer_id=cid)
    assert timing.confidence in ("low", "medium", "high")
    r = api_client.post(
        "/api/generation/message", {"customer_id": cid, "context": {"channel": "sms"}}, format="json"
    )
    assert r.status_code == 200 and len(r.json()["body"]) <= 160
    assert GenerationLog.objects.filter(customer_id=cid).count() == 2
    r = api_client.post("/api/generation/message", {"customer_id": "999999"}, format="json")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
