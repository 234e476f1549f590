from datetime import UTC, datetime, timedelta

import pytest

from ingestion import interface as ingestion
from marketing.errors import CampaignStateConflict, InvalidCampaign
from marketing.services import abtests
from marketing.tests.conftest import cdnow_records, ingest_cdnow
from marketing.tests.factories import ABTestFactory, CampaignFactory, OutboxMessageFactory, VariantFactory

pytestmark = pytest.mark.django_db

SENT_AT = datetime(1998, 7, 1, 12, 0, tzinfo=UTC)  # after the last CDNOW purchase


def _test_with_two_variants(window=14):
    campaign = CampaignFactory(status="sent")
    a, b = VariantFactory(campaign=campaign, name="A"), VariantFactory(campaign=campaign, name="B")
    return ABTestFactory(campaign=campaign, conversion_window_days=window), a, b


def _sent(ab_test, variant, customer_ids, sent_at=SENT_AT):
    for cid in customer_ids:
        OutboxMessageFactory(
            campaign=ab_test.campaign, variant=variant, customer_id=cid, status="sent", sent_at=sent_at
        )


def _orders(customer_ids, *, at):
    records = []
    for cid in customer_ids:
        summary = ingestion.customer_get(customer_id=cid)
        records.append(
            {
                "external_id": f"after-{cid}-{at:%j}",
                "email": summary.email,
                "placed_at": at.isoformat(),
                "total": "20",
            }
        )
    assert not ingestion.ingest_orders(source="shop", records=records).rejected


def test_a_significant_difference_declares_the_better_variant_the_winner():
    customers = ingest_cdnow(customers=60)
    ab_test, a, b = _test_with_two_variants()
    _sent(ab_test, a, customers[:30])
    _sent(ab_test, b, customers[30:])
    _orders(customers[:3], at=SENT_AT + timedelta(days=3))  # A: 3/30
    _orders(customers[30:48], at=SENT_AT + timedelta(days=5))  # B: 18/30
    _orders(customers[3:10], at=SENT_AT + timedelta(days=40))  # after the window: not conversions
    result = abtests.abtest_evaluate(ab_test=ab_test, now=SENT_AT + timedelta(days=20))
    control, treatment = result.variants
    assert (control.recipients, control.conversions) == (30, 3)
    assert (treatment.recipients, treatment.conversions) == (30, 18)
    assert treatment.p_value < 0.001 and treatment.significant
    assert result.winner_variant_id == b.pk and result.winner == "B"
    assert result.complete
    ab_test.refresh_from_db()
    assert ab_test.winner_id == b.pk and ab_test.last_result["winner"] == "B"


def test_no_winner_without_significance():
    customers = ingest_cdnow(customers=60)
    ab_test, a, b = _test_with_two_variants()
    _sent(ab_test, a, customers[:30])
    _sent(ab_test, b, customers[30:])
    _orders(customers[:3], at=SENT_AT + timedelta(days=1))
    _orders(customers[30:35], at=SENT_AT + timedelta(days=1))
    result = abtests.abtest_evaluate(ab_test=ab_test, now=SENT_AT + timedelta(days=2))
    assert result.variants[1].p_value > 0.05
    assert result.winner is None and not result.complete


def test_conversions_are_real_cdnow_repeat_purchases_in_the_window():
    customers = ingest_cdnow(customers=60)
    sent_at = datetime(1997, 9, 30, 12, 0, tzinfo=UTC)
    ab_test, a, b = _test_with_two_variants(window=30)
    _sent(ab_test, a, customers[::2], sent_at=sent_at)
    _sent(ab_test, b, customers[1::2], sent_at=sent_at)
    # Expected straight from the file: customers with a purchase in (sent_at, sent_at + 30 days].
    end = sent_at + timedelta(days=30)
    buyers = {
        r["email"]
        for r in cdnow_records(customers=60)
        if sent_at < datetime.fromisoformat(r["placed_at"].replace("Z", "+00:00")) <= end
    }
    emails = {cid: ingestion.customer_get(customer_id=cid).email for cid in customers}
    result = abtests.abtest_evaluate(ab_test=ab_test, now=end)
    expected_a = sum(emails[c] in buyers for c in customers[::2])
    expected_b = sum(emails[c] in buyers for c in customers[1::2])
    assert (result.variants[0].conversions, result.variants[1].conversions) == (expected_a, expected_b)
    assert expected_a + expected_b > 0


def test_evaluation_reads_orders_once(django_assert_max_num_queries):
    customers = ingest_cdnow(customers=20)
    ab_test, a, b = _test_with_two_variants()
    _sent(ab_test, a, customers[:10])
    _sent(ab_test, b, customers[10:])
    with django_assert_max_num_queries(8):
        abtests.abtest_evaluate(ab_test=ab_test, now=SENT_AT)


def test_create_rules():
    campaign = CampaignFactory()
    VariantFactory(campaign=campaign)
    with pytest.raises(InvalidCampaign):
        abtests.abtest_create(campaign=campaign)
    VariantFactory(campaign=campaign)
    ab_test = abtests.abtest_create(campaign=campaign, conversion_window_days=7)
    assert ab_test.name == f"{campaign.name} A/B"
    with pytest.raises(CampaignStateConflict):
        abtests.abtest_create(campaign=campaign)
    sent = CampaignFactory(status="sent")
    with pytest.raises(CampaignStateConflict):
        abtests.abtest_create(campaign=sent)


def test_a_handful_of_recipients_declares_no_winner():
    customers = ingest_cdnow(customers=6)
    ab_test, a, b = _test_with_two_variants()
    _sent(ab_test, a, customers[:3])
    _sent(ab_test, b, customers[3:])
    _orders(customers[3:], at=SENT_AT + timedelta(days=1))  # B: 3/3, A: 0/3 -> z-test p = 0.014
    result = abtests.abtest_evaluate(ab_test=ab_test, now=SENT_AT + timedelta(days=20))
    treatment = result.variants[1]
    assert treatment.test == "fisher" and treatment.p_value == pytest.approx(0.1)
    assert not treatment.significant and result.winner is None
    assert treatment.ci_low < 0.5 < treatment.ci_high == 1.0


def test_several_treatments_share_alpha_out():
    customers = ingest_cdnow(customers=90)
    campaign = CampaignFactory(status="sent")
    a, b, c = (VariantFactory(campaign=campaign, name=n) for n in "ABC")
    ab_test = ABTestFactory(campaign=campaign)
    _sent(ab_test, a, customers[:30])
    _sent(ab_test, b, customers[30:60])
    _sent(ab_test, c, customers[60:])
    _orders(customers[:4], at=SENT_AT + timedelta(days=1))  # A: 4/30
    _orders(customers[30:41], at=SENT_AT + timedelta(days=1))  # B: 11/30, p = 0.037 > 0.05 / 2
    result = abtests.abtest_evaluate(ab_test=ab_test, now=SENT_AT + timedelta(days=20))
    treatment = result.variants[1]
    assert 0.025 < treatment.p_value < 0.05
    assert not treatment.significant and result.winner is None
