"""Serializers of the marketing API (output shapes; inputs live on each view)."""

from rest_framework import serializers

from marketing.models import ABTest, Campaign, Segment, SegmentSnapshot, Suppression, Variant
from marketing.services.campaigns import PLACEHOLDERS

RULES_HELP = (
    'A group {"combinator": "and"|"or", "rules": [...]} of groups or conditions '
    '{"field", "op", "value"}. Fields: churn_probability, predicted_ltv, total_spent, '
    "days_since_last_order, order_count (ops eq ne gt gte lt lte between), archetype, "
    'axis (+ "axis": name), risk_band (ops eq ne in), has_open_support_interaction (eq). '
    'Example: {"combinator": "and", "rules": [{"field": "churn_probability", "op": "gte", '
    '"value": 0.6}, {"field": "predicted_ltv", "op": "gte", "value": 100}]}'
)


class SegmentSerializer(serializers.ModelSerializer):
    rules = serializers.JSONField(help_text=RULES_HELP)

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rules", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class AudiencePreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Customers matching the rules now.")
    sample = serializers.ListField(child=serializers.CharField(), help_text="Highest value at risk first.")
    filters = serializers.JSONField(help_text="The rules as sent to the intelligence platform.")


class SegmentSnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentSnapshot
        fields = ["id", "segment", "taken_at", "member_count", "truncated"]


class MembershipChangeSerializer(serializers.Serializer):
    segment_id = serializers.IntegerField()
    from_snapshot = serializers.IntegerField()
    to_snapshot = serializers.IntegerField()
    entered = serializers.ListField(child=serializers.CharField())
    left = serializers.ListField(child=serializers.CharField())
    stayed = serializers.IntegerField()


class VariantInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    kind = serializers.CharField(
        max_length=16, default="template", help_text="`template` or `generated` (written per customer)."
    )
    subject_template = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    body_template = serializers.CharField(
        max_length=20000,
        required=False,
        allow_blank=True,
        default="",
        help_text=f"Placeholders: {', '.join('{{ ' + p + ' }}' for p in PLACEHOLDERS)}.",
    )
    tone = serializers.ChoiceField(
        choices=["empathetic", "friendly", "formal", "concise"],
        default="friendly",
        help_text="Generated only.",
    )
    weight = serializers.IntegerField(min_value=1, max_value=10000, default=1)


class VariantSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="template or generated.")

    class Meta:
        model = Variant
        fields = ["id", "name", "kind", "subject_template", "body_template", "tone", "weight"]


class CampaignSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="draft, scheduled, sending, sent or cancelled.")
    channel = serializers.CharField(read_only=True)
    variants = VariantSerializer(many=True, read_only=True)
    ab_test_id = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "goal", "channel", "segment", "status", "scheduled_at",
            "started_at", "finished_at", "created_at", "variants", "ab_test_id",
        ]  # fmt: skip

    def get_ab_test_id(self, obj) -> int | None:
        ab_test = getattr(obj, "ab_test", None)
        return ab_test.pk if ab_test else None


class SendAcceptedSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    status = serializers.CharField(help_text="The campaign status after the send was queued.")


class VariantDeliverySerializer(serializers.Serializer):
    variant_id = serializers.IntegerField(allow_null=True)
    variant = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())


class CampaignResultsSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Messages per outbox status.")
    suppressed_reasons = serializers.DictField(child=serializers.IntegerField())
    variants = VariantDeliverySerializer(many=True)
    ab_test = serializers.JSONField(allow_null=True, help_text="The A/B test's last evaluation.")


class ABTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ABTest
        fields = [
            "id",
            "name",
            "campaign",
            "conversion_window_days",
            "alpha",
            "winner",
            "evaluated_at",
            "created_at",
        ]


class VariantResultSerializer(serializers.Serializer):
    variant_id = serializers.IntegerField()
    variant = serializers.CharField()
    recipients = serializers.IntegerField()
    conversions = serializers.IntegerField()
    conversion_rate = serializers.FloatField()
    ci_low = serializers.FloatField(
        allow_null=True, help_text="Wilson interval of the conversion rate at confidence 1 - alpha."
    )
    ci_high = serializers.FloatField(allow_null=True)
    z = serializers.FloatField(allow_null=True, help_text="Against the control (first variant).")
    p_value = serializers.FloatField(
        allow_null=True,
        help_text="Two-sided: pooled two-proportion z-test, or Fisher's exact test on small counts.",
    )
    test = serializers.CharField(allow_null=True, help_text="`z` or `fisher`; null for the control.")
    significant = serializers.BooleanField(
        help_text="p_value < alpha / (number of treatments): Bonferroni-corrected against the control."
    )


class ABTestResultSerializer(serializers.Serializer):
    ab_test_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    conversion_window_days = serializers.IntegerField()
    alpha = serializers.FloatField()
    control_variant_id = serializers.IntegerField()
    variants = VariantResultSerializer(many=True)
    winner_variant_id = serializers.IntegerField(allow_null=True)
    winner = serializers.CharField(allow_null=True)
    complete = serializers.BooleanField(help_text="Every recipient's conversion window has closed.")
    evaluated_at = serializers.DateTimeField()


class SuppressionSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="Lowercase address never e-mailed by marketing.")
    reason = serializers.CharField(read_only=True, help_text="unsubscribed, bounced, complained or manual.")
    campaign = serializers.IntegerField(
        source="campaign_id", read_only=True, allow_null=True, help_text="The campaign that led here, if any."
    )

    class Meta:
        model = Suppression
        fields = ["id", "email", "reason", "campaign", "created_at"]
