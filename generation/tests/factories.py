import factory

from generation.models import GenerationLog, TokenUsage


class GenerationLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GenerationLog

    operation = "message"
    backend = "offline"
    model = "offline-rules-v1"
    customer_id = factory.Sequence(str)
    requester = "key:test"
    goal = "resolve_support_issue"
    channel = "email"
    tone = "empathetic"


class TokenUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TokenUsage

    requester = "key:test"
    day = factory.Faker("date_object")
    input_tokens = 100
    output_tokens = 50
