import itertools
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from generation import interface
from generation.backends.offline import category_label
from generation.services import content, timing
from generation.services.messages import CHANNELS, GOALS, TONES
from generation.tests.profiles import CDNOW, shop_profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(django_db_blocker):
    call_command("generate_shop", customers=60, seed=11, verbosity=0)
    from ingestion import interface as ingestion

    orders = ingestion.orders_frame()
    counts = orders.groupby("customer_id").size().sort_values()
    return {"busy": str(counts.index[-1]), "light": str(counts.index[0])}


def test_offline_on_generated_shop_profiles(shop):
    for key in ("busy", "light"):
        profile = shop_profile(shop[key])
        for goal in GOALS:
            for channel in CHANNELS:
                for tone in TONES:
                    m = interface.generate_message(
                        customer_profile=profile,
                        context={"goal": goal, "channel": channel, "constraints": {"tone": tone}},
                    )
                    assert "{" not in m.body and (channel != "sms" or len(m.body) <= 160)
        m = interface.generate_message(
            customer_profile=profile, context={"goal": "upsell", "channel": "email"}
        )
        assert category_label(profile["historic"]["top_categories"][0]) in m.body + m.subject


def test_recommend_content_uses_copurchase_and_excludes_recent(shop):
    from ingestion import interface as ingestion

    cid = shop["busy"]
    recs = interface.recommend_content(customer_profile=shop_profile(cid))
    products = [r for r in recs if r.kind == "product"]
    assert products and all(r.score > 0 for r in products)
    lines = ingestion.order_lines_frame(customer_ids=[cid])
    recent = set(
        lines.loc[lines["placed_at"] >= lines["placed_at"].max() - content.timedelta(days=180), "sku"]
    )
    assert not recent & {r.item_id for r in products}
    assert any("bought by customers who bought" in r.reason for r in products)
    assert any(r.kind == "category" for r in recs)
    model = content.copurchase_matrix()
    assert model.similarity.shape[0] == lines.shape[0] * 0 + len(model.items)
    assert model.similarity.diagonal().sum() == 0


def test_recommend_content_without_catalogue():
    call_command("ingest_file", str(CDNOW), source="cdnow", format="cdnow", no_progress=True, verbosity=0)
    recs = interface.recommend_content(customer_profile={"customer_id": "1", "historic": {"order_count": 4}})
    assert [r.kind for r in recs] == ["none"] and "no products" in recs[0].reason


def test_optimize_timing_blends_customer_and_population(shop):
    from ingestion import interface as ingestion

    cid = shop["busy"]
    rec = interface.optimize_timing(customer_profile=shop_profile(cid), message_type="email")
    assert 0 <= rec.weekday <= 6 and 0 <= rec.hour <= 23 and rec.next_send_at > datetime.now(UTC)
    assert rec.next_send_at.weekday() == rec.weekday and rec.next_send_at.hour == rec.hour
    own = ingestion.orders_frame(customer_ids=[cid])["placed_at"]
    assert str(len(own)) in rec.reason or "orders/events" in rec.reason
    unknown = interface.optimize_timing(customer_profile={"customer_id": ""})
    assert unknown.confidence == "low" and "population" in unknown.reason


def test_category_labels():
    assert category_label("sports_outdoors") == "Sports & Outdoors"
    assert category_label("pet_supplies") == "Pet Supplies"
    assert category_label("Jazz") == "Jazz"


def test_timing_prior_dominates_with_little_data():
    import numpy as np
    import pandas as pd

    pop = np.array([0.05, 0.05, 0.05, 0.05, 0.6, 0.1, 0.1])
    days, _hours, _ = timing._counts(pd.Series(pd.to_datetime(["2026-01-05 10:00"], utc=True)))  # one Monday
    post = timing.PRIOR_STRENGTH * pop + days
    assert int(np.argmax(post)) == 4  # one order does not beat the population's Friday
    many = days * 10
    assert int(np.argmax(timing.PRIOR_STRENGTH * pop + many)) == 0


def _profile(p, ltv, sensitivity="balanced", orders=5):
    return {
        "customer_id": "x",
        "dna": {"axes": [{"axis": "price_sensitivity", "label": sensitivity, "strength": 1}]},
        "churn": {"probability": p},
        "ltv": {"predicted_spend": ltv},
        "historic": {"order_count": orders, "average_order_value": 60.0},
    }


@pytest.mark.parametrize(
    "p, ltv, sensitivity",
    [
        (0.9, 2000, "deal_hunter"),
        (0.9, 40, "deal_hunter"),
        (0.5, 300, "balanced"),
        (0.8, 900, "premium"),
        (0.1, 1000, "balanced"),
        (0.7, 5, "deal_hunter"),
    ],
)
def test_offer_never_exceeds_value_at_stake(p, ltv, sensitivity):
    products = [{"sku": "A", "price": 80.0}, {"sku": "B", "price": 45.0, "quantity": 2}]
    offer = interface.personalize_offer(customer_profile=_profile(p, ltv, sensitivity), products=products)
    assert offer.max_discount_value <= p * ltv + 1e-9
    assert offer.discount_percent <= 25
    assert offer.reason
    if p < 0.33:
        assert offer.offer_type == "none"
    if sensitivity == "premium":
        assert offer.offer_type in ("free_shipping", "loyalty_points", "none")


def test_suggest_actions_follow_churn_and_value():
    vip_at_risk = _profile(0.85, 1500)
    actions = interface.suggest_actions(
        customer_profile=vip_at_risk,
        scenario="support_ticket",
        context={"subject": "Late delivery", "body": "my parcel is late"},
    )
    names = [a.action for a in actions]
    assert names[:2] == ["apologise_personally", "expedite_shipping"]
    gesture = next(a for a in actions if a.action == "offer_goodwill_gesture")
    assert gesture.max_offer_value is not None and gesture.max_offer_value <= 0.85 * 1500
    assert [a.priority for a in actions] == list(range(1, len(actions) + 1))
    cheap_safe = interface.suggest_actions(
        customer_profile=_profile(0.1, 20), scenario="support_ticket", context={"body": "I want a refund"}
    )
    assert [a.action for a in cheap_safe] == ["process_refund", "resolve_efficiently"]
    assert (
        interface.suggest_actions(customer_profile=_profile(0.9, 2000), scenario="marketing_campaign")[
            0
        ].action
        == "win_back_campaign"
    )
    assert (
        interface.suggest_actions(customer_profile=_profile(0.1, 2000), scenario="sales_opportunity")[
            0
        ].action
        == "upsell_premium"
    )


def test_customer_id_path_uses_intelligence_and_stored_name(shop, monkeypatch):
    from ingestion import interface as ingestion
    from intelligence import interface as intelligence

    monkeypatch.setattr(
        intelligence, "analyze_customer", lambda *, customer_id, context=None: shop_profile(customer_id)
    )
    cid = shop["busy"]
    source, external_id = ingestion.customer_get(customer_id=cid).external_refs[0]
    ingestion.sync_customer(source=source, data={"customer_id": external_id, "name": "Umar Kowalski"})
    first = "Umar"
    m = interface.generate_message(
        customer_id=cid, context={"goal": "win_back", "constraints": {"tone": "friendly"}}
    )
    assert m.body.startswith(f"Hi {first}!")
    named = interface.generate_message(
        customer_profile=shop_profile(cid), context={"customer_name": "Ana Lima"}
    )
    assert named.body.startswith("Hi Ana,")


def test_action_reasons_count_one_order_in_the_singular():
    actions = interface.suggest_actions(
        customer_profile=_profile(0.5, 300, orders=1), scenario="support_ticket", context={"body": "late"}
    )
    reasons = " ".join(a.reason for a in actions)
    assert ", 1 order" in reasons and "1 orders" not in reasons


def test_offers_in_money_are_never_token_amounts():
    """Credit or money off is at least MIN_GESTURE, in whole units, and still within the value at stake."""
    from generation.services.offers import MIN_GESTURE

    for p, ltv, sensitivity, aov in itertools.product(
        (0.4, 0.7, 0.95), (3, 10, 30, 120, 900), ("deal_hunter", "balanced", "premium"), (8.0, 11.9, 60.0)
    ):
        profile = _profile(p, ltv, sensitivity) | {"historic": {"order_count": 5, "average_order_value": aov}}
        offer = interface.personalize_offer(customer_profile=profile)
        assert offer.max_discount_value <= p * ltv + 1e-9
        if offer.offer_type in ("loyalty_points", "fixed_discount"):
            label = (p, ltv, sensitivity, aov, offer)
            assert offer.max_discount_value >= MIN_GESTURE and offer.max_discount_value.is_integer(), label


def test_small_budget_gets_no_offer_unless_the_minimum_is_lowered(settings):
    # 10% (premium buyer) of an $11.90 basket: $1.19 to spend.
    profile = _profile(0.9, 300, "premium") | {"historic": {"order_count": 5, "average_order_value": 11.9}}
    offer = interface.personalize_offer(customer_profile=profile)
    assert offer.offer_type == "none" and "below the $5.00" in offer.reason
    settings.GENERATION_MIN_OFFER_VALUE = 1.0
    offer = interface.personalize_offer(customer_profile=profile)
    assert (offer.offer_type, offer.max_discount_value) == ("loyalty_points", 1.0)
