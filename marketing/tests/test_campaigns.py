from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from ingestion import interface as ingestion
from marketing import tasks
from marketing.errors import CampaignStateConflict, InvalidCampaign, InvalidTemplate
from marketing.models import Campaign, OutboxMessage, Variant
from marketing.services import campaigns, delivery
from marketing.tests.factories import (
    ABTestFactory,
    CampaignFactory,
    OutboxMessageFactory,
    SegmentFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

TEMPLATE = {
    "name": "A",
    "subject_template": "{{ first_name }}, a gift from {{ shop_name }}",
    "body_template": "Hi {{ first_name }} ({{ email }}), we miss you.",
}


def _campaign(variants=None, **kw):
    return campaigns.campaign_create(
        name=kw.pop("name", "Win-back"), segment=SegmentFactory(), variants=variants or [TEMPLATE], **kw
    )


def _ticket(customer_email, *, external_id, status="open", priority="urgent", kind="ticket"):
    result = ingestion.ingest_interactions(
        source="helpdesk",
        records=[
            {
                "external_id": external_id,
                "email": customer_email,
                "occurred_at": "2026-01-01T10:00:00Z",
                "kind": kind,
                "channel": "email",
                "status": status,
                "priority": priority,
            }
        ],
    )
    assert not result.rejected


def test_send_writes_one_message_per_recipient_with_content_timing_and_email(platform, shoppers):
    platform.audience = shoppers
    campaign = _campaign()
    report = campaigns.campaign_send(campaign=campaign)
    assert (report.audience, report.written, report.queued, report.suppressed) == (24, 24, 24, 0)
    rows = list(OutboxMessage.objects.filter(campaign=campaign))
    assert len(rows) == 24 and {r.customer_id for r in rows} == set(shoppers)
    first = next(r for r in rows if r.customer_id == shoppers[0])
    summary = ingestion.customer_get(customer_id=shoppers[0])
    assert first.email == summary.email
    assert first.subject == "there, a gift from our shop"  # CDNOW customers have no name
    assert first.body == f"Hi there ({summary.email}), we miss you."
    assert all(r.send_at == platform.send_at for r in rows)
    # One analysis per recipient, handed to timing rather than asked for again.
    assert platform.analyze_calls == platform.timing_calls == platform.timing_with_profile == 24
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING


def test_retrying_a_send_never_duplicates_and_each_mail_goes_out_once(platform, shoppers, after_send):
    platform.audience = shoppers
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    retry = campaigns.campaign_send(campaign=campaign)
    assert (retry.written, retry.already_in_outbox) == (0, 24)
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 24

    assert delivery.outbox_deliver_due(now=platform.send_at - timedelta(hours=1)) == 0  # not due yet
    assert delivery.outbox_deliver_due(now=after_send) == 24
    assert delivery.outbox_deliver_due(now=after_send) == 0
    assert len(mail.outbox) == 24
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        OutboxMessage.objects.values_list("email", flat=True)
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    with pytest.raises(CampaignStateConflict):
        campaigns.campaign_send(campaign=campaign)


def test_a_send_interrupted_half_way_only_fills_in_the_missing_recipients(platform, shoppers):
    campaign = _campaign()
    platform.audience = shoppers[:10]
    campaigns.campaign_send(campaign=campaign)  # "crashed" after the first 10
    platform.audience = shoppers
    report = campaigns.campaign_send(campaign=campaign)
    assert (report.written, report.already_in_outbox) == (14, 10)
    assert platform.timing_calls == 24
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 24


def test_the_database_refuses_a_second_message_for_the_same_campaign_and_customer(platform, shoppers):
    from django.db import IntegrityError, transaction

    platform.audience = shoppers[:1]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(campaign=campaign, customer_id=shoppers[0], send_at=timezone.now())


def test_guard_holds_out_customers_with_an_open_urgent_ticket(platform, shoppers, after_send):
    emails = {cid: ingestion.customer_get(customer_id=cid).email for cid in shoppers[:4]}
    _ticket(emails[shoppers[0]], external_id="t1")  # open + urgent: held out
    _ticket(emails[shoppers[1]], external_id="t2", status="solved")  # closed
    _ticket(emails[shoppers[2]], external_id="t3", priority="normal")  # not urgent
    _ticket(emails[shoppers[3]], external_id="t4", kind="chat", status="open")  # not a ticket
    platform.audience = shoppers
    campaign = _campaign()
    report = campaigns.campaign_send(campaign=campaign)
    assert (report.queued, report.suppressed) == (23, 1)
    held = OutboxMessage.objects.get(campaign=campaign, customer_id=shoppers[0])
    assert (held.status, held.suppressed_reason) == ("suppressed", campaigns.REASON_URGENT_TICKET)
    assert held.body == ""
    delivery.outbox_deliver_due(now=after_send)
    assert emails[shoppers[0]] not in {m.to[0] for m in mail.outbox}
    assert len(mail.outbox) == 23


def test_guard_is_checked_again_at_delivery(platform, shoppers, after_send):
    platform.audience = shoppers[:5]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    email = ingestion.customer_get(customer_id=shoppers[2]).email
    _ticket(email, external_id="late", status="pending")  # opened after the outbox was written
    assert delivery.outbox_deliver_due(now=after_send) == 4
    late = OutboxMessage.objects.get(campaign=campaign, customer_id=shoppers[2])
    assert (late.status, late.suppressed_reason) == ("suppressed", campaigns.REASON_URGENT_TICKET)
    assert email not in {m.to[0] for m in mail.outbox}


def test_customers_without_email_are_suppressed(platform, db):
    result = ingestion.ingest_orders(
        source="pos",
        records=[
            {"external_id": "o1", "customer_id": "walk-in-7", "placed_at": "1997-03-01", "total": "12.00"}
        ],
    )
    platform.audience = list(result.customer_ids)
    campaign = _campaign()
    report = campaigns.campaign_send(campaign=campaign)
    assert report.suppressed == 1
    assert OutboxMessage.objects.get(campaign=campaign).suppressed_reason == "no_email"


def test_generated_variants_are_written_per_customer(platform, shoppers):
    platform.audience = shoppers[:6]
    campaign = _campaign(variants=[{"name": "AI", "kind": Variant.Kind.GENERATED, "tone": "empathetic"}])
    campaigns.campaign_send(campaign=campaign)
    rows = OutboxMessage.objects.filter(campaign=campaign)
    assert platform.generate_calls == 6
    assert {r.body for r in rows} == {f"A note written for {c} (win_back)." for c in shoppers[:6]}
    assert {r.generation_backend for r in rows} == {"offline"}


def test_a_failed_generation_is_recorded_and_not_retried(platform, shoppers, monkeypatch, after_send):
    from generation import interface as generation

    def broken(**kwargs):
        raise RuntimeError("model unavailable")

    monkeypatch.setattr(generation, "generate_message", broken)
    platform.audience = shoppers[:2]
    campaign = _campaign(variants=[{"name": "AI", "kind": Variant.Kind.GENERATED}])
    campaigns.campaign_send(campaign=campaign)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"failed"}
    assert delivery.outbox_deliver_due(now=after_send) == 0
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT  # nothing left waiting


def test_placeholders_are_whitelisted_and_rendered_once():
    with pytest.raises(InvalidTemplate) as exc:
        _campaign(variants=[{"name": "X", "body_template": "Hi {{ password }} {{ first_name }}"}])
    assert exc.value.details["unknown"] == ["password"]
    text = campaigns.template_render(text="Hi {{name}}!", values={"name": "{{ email }}"})
    assert text == "Hi {{ email }}!"


def test_campaign_needs_unique_variants():
    with pytest.raises(InvalidCampaign):
        _campaign(variants=[TEMPLATE, TEMPLATE])
    with pytest.raises(InvalidCampaign):
        _campaign(variants=[{"name": "empty", "body_template": "  "}], name="other")


def test_variants_are_assigned_deterministically_by_weight(platform, shoppers):
    platform.audience = shoppers
    campaign = _campaign(variants=[{**TEMPLATE, "weight": 1}, {**TEMPLATE, "name": "B", "weight": 1}])
    ABTestFactory(campaign=campaign)
    campaigns.campaign_send(campaign=campaign)
    variants = list(campaign.variants.order_by("id"))
    salt = campaigns.assignment_salt(campaign=campaign)
    assert salt == f"abtest:{campaign.ab_test.pk}"
    for row in OutboxMessage.objects.filter(campaign=campaign):
        expected = campaigns.variant_for(salt=salt, customer_id=row.customer_id, variants=variants)
        assert row.variant_id == expected.pk
    assert OutboxMessage.objects.values("variant_id").distinct().count() == 2


def test_send_makes_a_constant_number_of_queries_whatever_the_audience(platform, shoppers, monkeypatch):
    counts = []
    for size in (4, 24):
        platform.audience = shoppers[:size]
        campaign = _campaign(name=f"size {size}")
        with CaptureQueriesContext(connection) as ctx:
            campaigns.campaign_send(campaign=campaign)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    # Ours (with "outbox whole" and one read of the suppression list) and the platform's batch
    # read of the summaries.
    assert counts[1] <= 18


def test_delivery_makes_a_constant_number_of_queries(
    platform, shoppers, after_send, django_assert_max_num_queries
):
    platform.audience = shoppers
    campaigns.campaign_send(campaign=_campaign())
    with django_assert_max_num_queries(12):
        assert delivery.outbox_deliver_due(now=after_send) == 24


def test_schedule_and_the_beat_task_send_due_campaigns(
    platform, shoppers, django_capture_on_commit_callbacks
):
    platform.audience = shoppers[:3]
    campaign = _campaign()
    campaigns.campaign_schedule(campaign=campaign, scheduled_at=timezone.now() - timedelta(minutes=1))
    later = _campaign(name="later")
    campaigns.campaign_schedule(campaign=later, scheduled_at=timezone.now() + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.campaigns_send_due() == 1
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 3
    assert not OutboxMessage.objects.filter(campaign=later).exists()
    campaign.refresh_from_db()
    with pytest.raises(CampaignStateConflict):
        campaigns.campaign_schedule(campaign=campaign, scheduled_at=timezone.now())


def test_send_task_is_idempotent(platform, shoppers, django_capture_on_commit_callbacks):
    platform.audience = shoppers[:5]
    campaign = CampaignFactory()
    VariantFactory(campaign=campaign)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.campaign_send.delay(campaign.pk)
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 5


def test_without_intelligence_template_messages_still_go_out(platform, shoppers, monkeypatch):
    from intelligence import interface as intelligence

    def not_ready(**kwargs):
        raise RuntimeError("no active churn model")

    monkeypatch.setattr(intelligence, "analyze_customer", not_ready)
    platform.audience = shoppers[:3]
    campaign = _campaign()
    report = campaigns.campaign_send(campaign=campaign)
    assert report.queued == 3
    assert platform.timing_calls == 3 and platform.timing_with_profile == 0  # asked by customer id instead


def test_a_delivery_run_that_died_after_claiming_is_failed_not_resent(platform, shoppers, after_send):
    platform.audience = shoppers[:3]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    OutboxMessage.objects.filter(customer_id=shoppers[0]).update(status="sending", claimed_at=after_send)
    assert delivery.outbox_deliver_due(now=after_send) == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING  # one message's fate is unknown
    delivery.outbox_deliver_due(now=after_send + timedelta(hours=2))
    stuck = OutboxMessage.objects.get(customer_id=shoppers[0])
    assert stuck.status == "failed" and "interrupted" in stuck.error
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert len(mail.outbox) == 2


# --- a broker outage: the send stays owed and the beat sweep queues it again --------------


def _broker_down(*args, **kwargs):
    raise BrokerDown("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


def test_a_send_asked_for_while_the_broker_is_down_is_swept_up_later(
    platform, shoppers, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    platform.audience = shoppers[:3]
    campaign = _campaign()
    with monkeypatch.context() as m:
        m.setattr(tasks.campaign_send, "delay", _broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            campaigns.campaign_send_enqueue(campaign=campaign)
    assert "Connection refused" in caplog.text
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING and campaign.send_pending_since is not None
    assert not OutboxMessage.objects.filter(campaign=campaign).exists()
    # Nothing in its outbox is waiting, yet it is not done: marked sent, it would refuse its send.
    campaigns.campaign_finish_if_done(campaign_ids=[campaign.pk], now=timezone.now())
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.campaigns_send_stalled() == 0  # not quiet for long enough yet
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.campaigns_send_stalled() == 1
        assert OutboxMessage.objects.filter(campaign=campaign).count() == 3
        campaign.refresh_from_db()
        assert campaign.send_pending_since is None  # the outbox is whole: nothing owed
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.campaigns_send_stalled() == 0


def test_a_send_writing_its_outbox_is_not_queued_again_and_a_requeue_waits_its_turn():
    now = timezone.now()
    campaign = CampaignFactory(status=Campaign.Status.SENDING, send_pending_since=now - timedelta(hours=1))
    OutboxMessageFactory(campaign=campaign)  # written just now: the run is making progress
    assert campaigns.campaigns_send_stalled(now=now) == []
    later = now + timedelta(minutes=31)
    assert campaigns.campaigns_send_stalled(now=later) == [campaign.pk]
    assert campaigns.campaigns_send_stalled(now=later + timedelta(minutes=5)) == []  # queued at `later`
    CampaignFactory(status=Campaign.Status.SENDING, send_pending_since=None)  # outbox whole
    CampaignFactory(status=Campaign.Status.DRAFT, send_pending_since=now - timedelta(hours=1))
    assert campaigns.campaigns_send_stalled(now=later + timedelta(minutes=31)) == [campaign.pk]


def test_a_send_asked_for_while_a_run_is_writing_stays_owed_after_that_run(platform, shoppers, monkeypatch):
    from intelligence import interface as intelligence

    platform.audience = shoppers[:2]
    campaign = _campaign()
    members = platform.customers_query

    def asked_again_meanwhile(**kwargs):
        campaigns.campaign_send_enqueue(campaign=campaign)  # its task is queued at the commit
        return members(**kwargs)

    monkeypatch.setattr(intelligence, "customers_query", asked_again_meanwhile)
    campaigns.campaign_send(campaign=campaign, now=timezone.now() - timedelta(seconds=1))
    campaign.refresh_from_db()
    assert campaign.send_pending_since is not None  # the later request is still owed
    campaigns.campaign_finish_if_done(campaign_ids=[campaign.pk], now=timezone.now())
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING


def test_the_stalled_send_sweep_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["marketing-campaigns-send-stalled"]
    assert entry["task"] == tasks.campaigns_send_stalled.name
    assert entry["schedule"] <= 600


def test_scheduling_in_the_past_is_refused():
    campaign = _campaign()
    with pytest.raises(InvalidCampaign):
        campaigns.campaign_schedule(campaign=campaign, scheduled_at=timezone.now() - timedelta(days=1))
    campaign.refresh_from_db()
    assert campaign.status == "draft" and campaign.scheduled_at is None


# --- cancel -----------------------------------------------------------------


def test_cancelling_a_scheduled_campaign_keeps_the_beat_task_from_sending_it(platform, shoppers):
    platform.audience = shoppers
    campaign = _campaign()
    campaigns.campaign_schedule(campaign=campaign, scheduled_at=timezone.now() + timedelta(hours=1))
    cancelled = campaigns.campaign_cancel(campaign=campaign)
    assert cancelled.status == Campaign.Status.CANCELLED and cancelled.finished_at is not None
    assert campaigns.campaigns_send_due(now=timezone.now() + timedelta(days=1)) == []
    with pytest.raises(CampaignStateConflict):
        campaigns.campaign_send(campaign=campaign)
    with pytest.raises(CampaignStateConflict):
        campaigns.campaign_schedule(campaign=campaign, scheduled_at=timezone.now() + timedelta(hours=2))
    assert tasks.campaign_send.delay(campaign.pk).get()["skipped"] == "already cancelled"
    assert not OutboxMessage.objects.exists()


def test_cancelling_a_sending_campaign_suppresses_what_is_pending_and_keeps_what_was_sent(
    platform, shoppers, after_send
):
    platform.audience = shoppers[:4]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    first = OutboxMessage.objects.get(customer_id=shoppers[0])
    OutboxMessage.objects.filter(pk=first.pk).update(send_at=timezone.now() - timedelta(minutes=1))
    assert delivery.outbox_deliver_due() == 1  # one went out before the cancel
    campaigns.campaign_cancel(campaign=campaign)
    assert delivery.outbox_deliver_due(now=after_send) == 0
    assert len(mail.outbox) == 1
    counts = dict(
        OutboxMessage.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    assert counts == {"sent": 1, "suppressed": 3}
    assert set(
        OutboxMessage.objects.filter(status="suppressed").values_list("suppressed_reason", flat=True)
    ) == {"campaign_cancelled"}
    assert campaigns.campaigns_send_stalled(now=after_send + timedelta(days=1)) == []
    # Cancelling again is harmless.
    assert campaigns.campaign_cancel(campaign=campaign).status == Campaign.Status.CANCELLED


def test_a_message_claimed_before_the_cancel_is_checked_again_at_delivery(platform, shoppers, after_send):
    platform.audience = shoppers[:2]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    # Cancelled after a delivery run listed the rows (simulated: cancel flips only pending rows,
    # so mark the campaign cancelled directly while the rows are still pending).
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    assert delivery.outbox_deliver_due(now=after_send) == 0
    assert not mail.outbox
    assert set(OutboxMessage.objects.values_list("suppressed_reason", flat=True)) == {"campaign_cancelled"}


@pytest.mark.parametrize("status", [Campaign.Status.DRAFT, Campaign.Status.SENT])
def test_only_scheduled_or_sending_campaigns_can_be_cancelled(status):
    campaign = CampaignFactory(status=status)
    with pytest.raises(CampaignStateConflict):
        campaigns.campaign_cancel(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == status
