"""This app's part of `manage.py seed_demo` (idempotent): a win-back campaign with an A/B test."""

from django.db import transaction

from marketing.models import ABTest, Campaign, Journey, JourneyStep, Segment, Variant
from marketing.services import abtests, campaigns, segments

AT_RISK_HIGH_VALUE = {
    "combinator": "and",
    "rules": [
        {"field": "churn_probability", "op": "gte", "value": 0.6},
        {
            "combinator": "or",
            "rules": [
                {"field": "predicted_ltv", "op": "gte", "value": 50},
                {"field": "total_spent", "op": "gte", "value": 150},
            ],
        },
        {"field": "order_count", "op": "gte", "value": 2},
    ],
}

VARIANTS = [
    {
        "name": "A: personal note",
        "kind": Variant.Kind.TEMPLATE,
        "subject_template": "{{ first_name }}, we saved something for you",
        "body_template": (
            "Hi {{ first_name }},\n\nIt has been a while since your last order at {{ shop_name }}. "
            "We have new arrivals picked for you, and free shipping on your next order this week.\n\n"
            "See you soon,\nThe {{ shop_name }} team"
        ),
        "weight": 1,
    },
    {"name": "B: written for each customer", "kind": Variant.Kind.GENERATED, "tone": "friendly", "weight": 1},
]


@transaction.atomic
def seed(*, stdout) -> None:
    segment = Segment.objects.filter(name="At-risk, high value").first()
    if segment is None:
        segment = segments.segment_create(
            name="At-risk, high value",
            description="Likely to churn, worth winning back (seeded).",
            rules=AT_RISK_HIGH_VALUE,
        )
    campaign = Campaign.objects.filter(name="Win-back: at-risk, high value").first()
    if campaign is None:
        campaign = campaigns.campaign_create(
            name="Win-back: at-risk, high value", segment=segment, goal="win_back", variants=VARIANTS
        )
    if not ABTest.objects.filter(campaign=campaign).exists():
        abtests.abtest_create(
            campaign=campaign, name="Win-back: note vs generated", conversion_window_days=30
        )
    if not Journey.objects.filter(name="Win-back follow-up").exists():
        journey = Journey.objects.create(name="Win-back follow-up", segment=segment, campaign=campaign)
        first, second = campaign.variants.order_by("id")[:2]
        JourneyStep.objects.bulk_create(
            [
                JourneyStep(journey=journey, position=0, kind="send", variant=first),
                JourneyStep(journey=journey, position=1, kind="wait", wait_days=7),
                # No longer high risk after a week: leave the journey (there is no step 4).
                JourneyStep(
                    journey=journey, position=2, kind="branch", churn_bands=["low", "medium"], goto_position=4
                ),
                JourneyStep(journey=journey, position=3, kind="send", variant=second),
            ]
        )
    stdout.write(f"marketing: segment {segment.pk}, campaign {campaign.pk} with 2 variants and an A/B test")
