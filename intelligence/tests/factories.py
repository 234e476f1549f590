import datetime

import factory
from django.utils import timezone

from intelligence.models import Archetype, CustomerIntelligence, ModelVersion


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    kind = ModelVersion.Kind.BUNDLE
    artifact = b""
    as_of = datetime.date(1997, 9, 30)
    horizon_days = 273
    metrics = factory.LazyFunction(
        lambda: {"churn": {"roc_auc": 0.78, "model": "lightgbm"}, "ltv": {"spearman": 0.5}}
    )


class ArchetypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Archetype

    model_version = factory.SubFactory(ModelVersionFactory)
    key = factory.Sequence(lambda n: f"arch_{n}")
    name = factory.Sequence(lambda n: f"Archetype {n}")
    size = 10


class CustomerIntelligenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerIntelligence

    customer_id = factory.Sequence(lambda n: f"cust-{n}")
    as_of = datetime.date(1997, 9, 30)
    horizon_days = 273
    computed_at = factory.LazyFunction(timezone.now)
    model_version = factory.SubFactory(ModelVersionFactory)
    churn_probability = 0.5
    risk_band = "medium"
    predicted_ltv = 100.0
    value_at_risk = 50.0
