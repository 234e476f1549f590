"""Batch scoring on real CDNOW data: the bulk-written rows (COPY on PostgreSQL, bulk_create
elsewhere) hold what scoring one customer gives, and CDNOW's missing sources stay unknown."""

import pytest

from intelligence.models import CustomerIntelligence
from intelligence.services import analysis, scoring

pytestmark = pytest.mark.django_db

NUMBERS = (
    "churn_probability", "predicted_ltv", "ltv_p10", "ltv_p90", "expected_orders", "p_purchase",
    "value_at_risk", "total_spent",
)  # fmt: skip
EXACT = (
    "customer_id", "as_of", "horizon_days", "model_version_id", "churn_model", "ltv_model", "churn_confidence",
    "ltv_confidence", "risk_band", "archetype", "archetype_key", "order_count", "days_since_last_order",
    "expected_next_order_date", "has_open_support_interaction", "stale", "axes", "recommendations",
)  # fmt: skip


def _same_json_numbers(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json_numbers(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, abs=1e-4)
    return a == b


def test_bulk_written_rows_match_scoring_one_customer(trained):
    ids = list(
        CustomerIntelligence.objects.filter(order_count__gte=2)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:5]
    )
    assert ids
    for customer_id in ids:
        stored = CustomerIntelligence.objects.get(customer_id=customer_id)
        fresh = analysis.customer_compute(customer_id=customer_id, version=trained)
        for name in EXACT:
            assert getattr(fresh, name) == getattr(stored, name), name
        for name in NUMBERS:
            assert getattr(fresh, name) == pytest.approx(getattr(stored, name), abs=1e-6), name
        assert _same_json_numbers(fresh.features, stored.features)
        assert _same_json_numbers(fresh.top_factors, stored.top_factors)
        assert len(stored.top_factors) == 3 and stored.recommendations


def test_rescoring_everyone_replaces_every_row(trained):
    before = dict(CustomerIntelligence.objects.values_list("customer_id", "computed_at"))
    assert scoring.customers_score_all(as_of=trained.scored_as_of) == len(before)
    after = dict(CustomerIntelligence.objects.values_list("customer_id", "computed_at"))
    assert after.keys() == before.keys()
    assert len(set(after.values())) == 1 and set(after.values()).isdisjoint(before.values())


def test_stored_cdnow_rows_leave_discounts_and_refunds_unknown(trained):
    # Stored CDNOW orders hold the database's default 0 discount and refund: not facts.
    rows = CustomerIntelligence.objects.filter(order_count__gte=1)
    assert rows.exists()
    for row in rows[:200]:
        assert row.features["discount_order_share"] is None and row.features["discount_total"] is None
        assert row.features["refund_value_share"] is None and row.features["cancelled_orders"] is None
        assert row.axes["price_sensitivity"] == {"label": "unknown", "strength": None}
        assert row.axes["returns_refunds"]["label"] == "unknown"


def test_the_bulk_write_keeps_every_character_and_drops_unscored_customers(trained):
    """Text and JSON with tabs, line breaks, backslashes and quotes go through the COPY text
    format (PostgreSQL) or bulk_create unchanged; customers not in the batch lose their row."""
    from django.utils import timezone

    rows = list(CustomerIntelligence.objects.order_by("customer_id")[:3])
    kept, dropped = rows[:2], rows[2]
    tricky = 'tab\there\nnew line \\ back"slash\r ünï'
    now = timezone.now()
    columns = {name: [getattr(r, name) for r in kept] for name in ["customer_id", *scoring.SCORED_FIELDS]}
    columns["computed_at"] = [now, now]
    columns["archetype"] = [tricky, ""]
    columns["recommendations"] = [[tricky], []]
    columns["axes"] = [{"timing": {"label": tricky, "strength": None}}, {}]
    columns["churn_probability"] = [None, 0.125]
    written = scoring.rows_write(chunks=iter([columns]), total=2, computed_at=now)
    assert written == 2
    assert not CustomerIntelligence.objects.filter(customer_id=dropped.customer_id).exists()
    first, second = CustomerIntelligence.objects.order_by("customer_id")
    assert first.archetype == tricky and first.recommendations == [tricky]
    assert first.axes == {"timing": {"label": tricky, "strength": None}}
    assert first.churn_probability is None and second.churn_probability == 0.125
    assert second.archetype == "" and second.axes == {} and second.features == kept[1].features
