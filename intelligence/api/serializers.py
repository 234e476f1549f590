"""API shapes. Outputs mirror the interface dataclasses (dataclasses.asdict)."""

from rest_framework import serializers


class IntelligenceErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class IntelligenceErrorSerializer(serializers.Serializer):
    error = IntelligenceErrorDetailSerializer()


class FactorSerializer(serializers.Serializer):
    feature = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField()
    direction = serializers.ChoiceField(choices=["raises", "lowers"])


class ChurnSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    probability = serializers.FloatField(help_text="P(no order within horizon_days after as_of)")
    horizon_days = serializers.IntegerField()
    risk_band = serializers.ChoiceField(choices=["low", "medium", "high", "unknown"])
    top_factors = FactorSerializer(many=True)
    recommendations = serializers.ListField(child=serializers.CharField())
    model = serializers.CharField()
    model_version = serializers.CharField()
    confidence = serializers.ChoiceField(choices=["low", "medium", "high"])
    as_of = serializers.DateField(allow_null=True)


class LTVSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    horizon_days = serializers.IntegerField()
    predicted_spend = serializers.FloatField()
    p10 = serializers.FloatField()
    p90 = serializers.FloatField()
    expected_orders = serializers.FloatField()
    probability_of_purchase = serializers.FloatField()
    expected_next_order_date = serializers.DateField(allow_null=True)
    historic_value = serializers.FloatField()
    model = serializers.CharField()
    model_version = serializers.CharField()
    confidence = serializers.ChoiceField(choices=["low", "medium", "high"])
    currency = serializers.CharField()


class AxisSerializer(serializers.Serializer):
    axis = serializers.CharField()
    label = serializers.CharField()
    strength = serializers.FloatField()


class DNASerializer(serializers.Serializer):
    axes = AxisSerializer(many=True)
    archetype = serializers.CharField()
    archetype_id = serializers.CharField(allow_null=True)
    model_version = serializers.CharField()


class HistoricSerializer(serializers.Serializer):
    order_count = serializers.IntegerField()
    total_spent = serializers.FloatField()
    average_order_value = serializers.FloatField(allow_null=True)
    average_days_between_orders = serializers.FloatField(allow_null=True)
    first_order_at = serializers.DateTimeField(allow_null=True)
    last_order_at = serializers.DateTimeField(allow_null=True)
    days_since_last_order = serializers.IntegerField(allow_null=True)
    top_categories = serializers.ListField(child=serializers.CharField())


class IntelligenceSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    as_of = serializers.DateField()
    computed_at = serializers.DateTimeField()
    dna = DNASerializer()
    churn = ChurnSerializer()
    ltv = LTVSerializer()
    historic = HistoricSerializer()
    features = serializers.DictField(child=serializers.FloatField(allow_null=True))
    cached = serializers.BooleanField()


class RecentOrderSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    placed_at = serializers.DateTimeField()
    total = serializers.FloatField()
    status = serializers.CharField()


class CustomerDetailSerializer(IntelligenceSerializer):
    recent_orders = RecentOrderSerializer(many=True)


class ScoreSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    score = serializers.FloatField()
    context = serializers.CharField()
    components = serializers.DictField(child=serializers.FloatField())
    reasons = serializers.ListField(child=serializers.CharField())


class ExplanationSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    question = serializers.CharField()
    answer = serializers.CharField()
    evidence = serializers.ListField(child=serializers.CharField())


class ModelVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField(source="label")
    kind = serializers.CharField()
    active = serializers.BooleanField()
    as_of = serializers.DateField()
    horizon_days = serializers.IntegerField()
    training_start = serializers.DateField(allow_null=True)
    training_end = serializers.DateField(allow_null=True)
    scored_as_of = serializers.DateField(allow_null=True)
    trained_at = serializers.DateTimeField()
    training_seconds = serializers.FloatField()
    customers_trained = serializers.IntegerField()
    metrics = serializers.JSONField()
    parameters = serializers.JSONField()


class FeatureSpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    axis = serializers.CharField()
    definition = serializers.CharField()
    unit = serializers.CharField()


class FeatureCatalogueSerializer(serializers.Serializer):
    axes = serializers.ListField(child=serializers.CharField())
    features = FeatureSpecSerializer(many=True)
