from datetime import timedelta

import pytest
from django.utils import timezone

from marketing import tasks
from marketing.models import JourneyEnrollment, OutboxMessage
from marketing.services import journeys
from marketing.tests.factories import JourneyFactory, JourneyStepFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _win_back_journey():
    """send A; wait 7 days; if churn band is low/medium jump past the end; else send B."""
    journey = JourneyFactory()
    a = VariantFactory(campaign=journey.campaign, name="A")
    b = VariantFactory(campaign=journey.campaign, name="B")
    JourneyStepFactory(journey=journey, position=0, kind="send", variant=a)
    JourneyStepFactory(journey=journey, position=1, kind="wait", wait_days=7)
    JourneyStepFactory(
        journey=journey, position=2, kind="branch", churn_bands=["low", "medium"], goto_position=9
    )
    JourneyStepFactory(journey=journey, position=3, kind="send", variant=b)
    return journey, a, b


def test_enrollments_walk_the_steps_and_branch_on_the_churn_band(platform, shoppers):
    journey, a, b = _win_back_journey()
    platform.audience = shoppers[:4]
    platform.bands = {shoppers[0]: "high", shoppers[1]: "low", shoppers[2]: "medium", shoppers[3]: "high"}
    now = timezone.now()
    assert journeys.journey_enroll(journey=journey, now=now) == 4
    assert journeys.journey_enroll(journey=journey, now=now) == 0

    first = journeys.enrollments_advance(now=now)
    assert (first.advanced, first.messages) == (4, 4)
    assert set(OutboxMessage.objects.values_list("variant_id", flat=True)) == {a.pk}
    assert set(JourneyEnrollment.objects.values_list("position", flat=True)) == {2}

    assert journeys.enrollments_advance(now=now + timedelta(days=3)).advanced == 0  # still waiting

    second = journeys.enrollments_advance(now=now + timedelta(days=8))
    assert (second.advanced, second.messages, second.completed) == (4, 2, 4)
    got_b = set(OutboxMessage.objects.filter(variant=b).values_list("customer_id", flat=True))
    assert got_b == {shoppers[0], shoppers[3]}
    history = JourneyEnrollment.objects.get(customer_id=shoppers[1]).history
    assert [h["kind"] for h in history] == ["send", "wait", "branch", "end"]
    assert history[2]["outcome"] == "taken"


def test_advancing_again_sends_nothing_twice(platform, shoppers):
    journey, a, _ = _win_back_journey()
    platform.audience = shoppers[:3]
    now = timezone.now()
    journeys.journey_enroll(journey=journey, now=now)
    journeys.enrollments_advance(now=now)
    # A crashed run left an enrollment behind its outbox row: the unique step key absorbs the retry.
    JourneyEnrollment.objects.filter(customer_id=shoppers[0]).update(position=0, next_run_at=now)
    journeys.enrollments_advance(now=now)
    assert OutboxMessage.objects.filter(variant=a).count() == 3


def test_journey_sends_respect_the_guard_and_beat_task_runs(platform, shoppers, monkeypatch):
    from marketing.services import campaigns

    journey, _, _ = _win_back_journey()
    platform.audience = shoppers[:3]
    monkeypatch.setattr(
        campaigns, "customers_held_out", lambda *, customer_ids: {shoppers[1]: campaigns.REASON_URGENT_TICKET}
    )
    result = tasks.journeys_advance()
    assert result["enrolled"] == 3 and result["messages"] == 3
    held = OutboxMessage.objects.get(customer_id=shoppers[1])
    assert held.status == "suppressed" and held.enrollment.journey == journey


def test_an_endless_branch_loop_is_cut_and_resumed_later(platform, shoppers):
    journey = JourneyFactory()
    JourneyStepFactory(journey=journey, position=0, kind="branch", churn_bands=["high"], goto_position=0)
    platform.audience = shoppers[:1]
    platform.bands = {shoppers[0]: "high"}
    now = timezone.now()
    journeys.journey_enroll(journey=journey, now=now)
    journeys.enrollments_advance(now=now)
    enrollment = JourneyEnrollment.objects.get()
    assert enrollment.status == "active" and enrollment.next_run_at > now
    assert len(enrollment.history) == journeys.MAX_STEPS_PER_RUN


def test_advance_makes_few_queries(platform, shoppers, django_assert_max_num_queries, monkeypatch):

    journey, _, _ = _win_back_journey()
    platform.audience = shoppers
    journeys.journey_enroll(journey=journey)
    with django_assert_max_num_queries(13):  # 12 + one read of the suppression list
        journeys.enrollments_advance()
