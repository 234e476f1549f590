from rest_framework import serializers

from generation.services.messages import CHANNELS, GOALS, TONES


class ProfileInputSerializer(serializers.Serializer):
    customer_profile = serializers.JSONField(
        required=False, help_text="A CustomerIntelligence object as /api/intelligence/analyze returns it."
    )
    customer_id = serializers.CharField(required=False, max_length=64)

    def validate(self, attrs):
        if attrs.get("customer_profile") is None and not attrs.get("customer_id"):
            raise serializers.ValidationError("Pass customer_profile or customer_id.")
        if attrs.get("customer_profile") is not None and not isinstance(attrs["customer_profile"], dict):
            raise serializers.ValidationError({"customer_profile": ["Must be an object."]})
        return attrs


class TurnSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["customer", "user", "agent", "assistant"])
    text = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)


class ConstraintsSerializer(serializers.Serializer):
    tone = serializers.ChoiceField(choices=TONES, default="empathetic")
    length = serializers.ChoiceField(choices=["short", "medium", "long"], default="medium")


class MessageContextSerializer(serializers.Serializer):
    conversation = TurnSerializer(many=True, required=False, max_length=50)
    goal = serializers.ChoiceField(choices=GOALS, default="resolve_support_issue")
    channel = serializers.ChoiceField(choices=CHANNELS, default="email")
    constraints = ConstraintsSerializer(required=False)
    customer_name = serializers.CharField(
        required=False, max_length=100, help_text="Name for the greeting when the profile has none."
    )


class GeneratedMessageSerializer(serializers.Serializer):
    subject = serializers.CharField()
    body = serializers.CharField()
    notes = serializers.CharField()
    goal = serializers.CharField()
    channel = serializers.CharField()
    tone = serializers.CharField()
    backend = serializers.CharField()
    model = serializers.CharField()
    fallback_reason = serializers.CharField()
    reasoning = serializers.ListField(child=serializers.CharField())


class SuggestedActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    title = serializers.CharField()
    priority = serializers.IntegerField()
    reason = serializers.CharField()
    max_offer_value = serializers.FloatField(allow_null=True)


class ActionsOutputSerializer(serializers.Serializer):
    scenario = serializers.CharField()
    actions = SuggestedActionSerializer(many=True)


class ContentRecommendationSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["product", "category", "none"])
    item_id = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField()
    reason = serializers.CharField()


class ContentOutputSerializer(serializers.Serializer):
    objective = serializers.CharField()
    recommendations = ContentRecommendationSerializer(many=True)


class SendTimeSerializer(serializers.Serializer):
    weekday = serializers.IntegerField()
    weekday_name = serializers.CharField()
    hour = serializers.IntegerField()
    next_send_at = serializers.DateTimeField()
    confidence = serializers.ChoiceField(choices=["low", "medium", "high"])
    reason = serializers.CharField()


class ProductSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=128)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, coerce_to_string=False)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, default=1)


class OfferSerializer(serializers.Serializer):
    offer_type = serializers.CharField()
    discount_percent = serializers.FloatField()
    max_discount_value = serializers.FloatField()
    applies_to = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
