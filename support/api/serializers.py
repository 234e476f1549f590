from rest_framework import serializers

from support.models import Agent, Message, SLAPolicy, SLATimer, Ticket


class SLATimerSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = SLATimer
        fields = [
            "metric",
            "state",
            "target_minutes",
            "started_at",
            "due_at",
            "paused_at",
            "remaining_minutes",
            "fulfilled_at",
            "warned_at",
            "breached_at",
            "elapsed_business_minutes",
            "elapsed_calendar_minutes",
        ]


class TicketSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "customer_id",
            "requester_name",
            "requester_email",
            "channel",
            "status",
            "priority",
            "team",
            "assignee",
            "tags",
            "intent",
            "category",
            "churn_probability",
            "churn_band",
            "predicted_ltv",
            "archetype",
            "value_at_risk",
            "sla_due_at",
            "follow_up_of",
            "merged_into",
            "created_at",
            "updated_at",
            "first_response_at",
            "solved_at",
            "reopened_at",
        ]


class TicketDetailSerializer(TicketSerializer):
    sla_timers = SLATimerSerializer(many=True, read_only=True)
    sla_policy = serializers.StringRelatedField(allow_null=True)
    customer = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "sla_policy", "sla_timers", "customer"]

    def get_customer(self, obj) -> dict:
        return self.context["customer"]


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        # `ticket`: the message's own, another than the one posted to when a customer writes to a
        # closed ticket (a follow-up ticket is opened).
        fields = ["id", "ticket", "kind", "author_kind", "author_agent", "body", "via", "created_at"]


class AgentSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    teams = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    load = serializers.IntegerField(read_only=True)

    class Meta:
        model = Agent
        fields = ["id", "username", "status", "teams", "skills", "capacity", "load", "last_assigned_at"]


class SLAPolicySerializer(serializers.ModelSerializer):
    calendar = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = SLAPolicy
        fields = ["id", "name", "position", "active", "conditions", "targets", "calendar", "warn_share"]


class CustomerSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    message = serializers.CharField()
    intelligence = serializers.JSONField(allow_null=True)
    recent_orders = serializers.JSONField(allow_null=True)


class DraftSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    message = serializers.CharField()
    draft = serializers.JSONField(allow_null=True)
    actions = serializers.JSONField()
