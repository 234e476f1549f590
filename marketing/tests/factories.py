"""factory-boy factories for the marketing app's own models."""

import factory
from django.utils import timezone

from marketing.models import (
    ABTest,
    Campaign,
    Journey,
    JourneyEnrollment,
    JourneyStep,
    OutboxMessage,
    Segment,
    SegmentSnapshot,
    Suppression,
    Variant,
)

HIGH_RISK_RULES = {
    "combinator": "and",
    "rules": [{"field": "churn_probability", "op": "gte", "value": 0.6}],
}


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(lambda: dict(HIGH_RISK_RULES))


class SegmentSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentSnapshot

    class Params:
        members = ()

    segment = factory.SubFactory(SegmentFactory)
    taken_at = factory.LazyFunction(timezone.now)
    member_count = factory.LazyAttribute(lambda o: len(o.members))
    members_blob = factory.LazyAttribute(lambda o: SegmentSnapshot.pack(o.members))


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    segment = factory.SubFactory(SegmentFactory)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Variant {n}")
    subject_template = "{{ first_name }}, we miss you"
    body_template = "Hi {{ first_name }}, come back to {{ shop_name }}."


class ABTestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ABTest

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Test {n}")


class OutboxMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxMessage

    campaign = factory.SubFactory(CampaignFactory)
    variant = factory.SubFactory(VariantFactory, campaign=factory.SelfAttribute("..campaign"))
    customer_id = factory.Sequence(str)
    email = factory.LazyAttribute(lambda o: f"c{o.customer_id}@example.org")
    subject = "Hello"
    body = "Body"
    send_at = factory.LazyFunction(timezone.now)


class JourneyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Journey

    name = factory.Sequence(lambda n: f"Journey {n}")
    campaign = factory.SubFactory(CampaignFactory)
    segment = factory.SelfAttribute("campaign.segment")


class JourneyStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JourneyStep

    journey = factory.SubFactory(JourneyFactory)
    position = factory.Sequence(int)
    kind = JourneyStep.Kind.WAIT
    wait_days = 1


class JourneyEnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JourneyEnrollment

    journey = factory.SubFactory(JourneyFactory)
    customer_id = factory.Sequence(str)
    next_run_at = factory.LazyFunction(timezone.now)


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    email = factory.Sequence(lambda n: f"gone{n}@example.org")
    reason = Suppression.Reason.UNSUBSCRIBED
