import io

import pytest

from marketing import demo
from marketing.models import ABTest, Campaign, Journey, JourneyStep, Segment, Variant
from marketing.services import segments

pytestmark = pytest.mark.django_db


def test_seed_creates_a_win_back_campaign_with_two_variants_and_an_ab_test_once():
    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    campaign = Campaign.objects.get()
    assert campaign.goal == "win_back" and campaign.status == "draft"
    assert Variant.objects.filter(campaign=campaign).count() == 2
    assert ABTest.objects.get().campaign == campaign
    assert Segment.objects.count() == 1 and Journey.objects.count() == 1 and JourneyStep.objects.count() == 4
    segments.rules_validate(rules=Segment.objects.get().rules)
