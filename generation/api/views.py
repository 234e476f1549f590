"""One thin view per operation: validate -> generation.interface -> serialize."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from generation import interface
from generation.api import serializers as s
from generation.services.actions import SCENARIOS


def _requester(request) -> str:
    key_id = getattr(getattr(request, "auth", None), "id", None)
    if key_id is not None:
        return f"key:{key_id}"
    user = getattr(request, "user", None)
    return f"user:{user.pk}" if user is not None and user.is_authenticated else "anonymous"


# Errors peculiar to these operations; the shared ones (400, 401, ...) are added by the schema class.
_ERRORS = {404: OpenApiResponse(description="No customer with this `customer_id`.")}


class _GenerationApi(APIView):
    api_scope = "generation"
    throttle_scope = "generation"


class MessageApi(_GenerationApi):
    class InputSerializer(s.ProfileInputSerializer):
        context = s.MessageContextSerializer(required=False)

        class Meta:
            ref_name = "GenerationMessageInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: s.GeneratedMessageSerializer, **_ERRORS},
        tags=["generation"],
        summary="Write a message for a customer (Claude or offline)",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = interface.generate_message(
            customer_profile=data.validated_data.get("customer_profile"),
            customer_id=data.validated_data.get("customer_id"),
            context=data.validated_data.get("context") or {},
            requester=_requester(request),
        )
        return Response(s.GeneratedMessageSerializer(message).data)


class ActionsApi(_GenerationApi):
    class InputSerializer(s.ProfileInputSerializer):
        scenario = serializers.ChoiceField(choices=SCENARIOS, default="support_ticket")
        context = serializers.JSONField(
            required=False,
            help_text="What the action is about, e.g. a ticket {subject, body, priority, issue}.",
        )

        def validate_context(self, value):
            if value is not None and not isinstance(value, dict):
                raise serializers.ValidationError("Must be an object.")
            return value

        class Meta:
            ref_name = "GenerationActionsInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: s.ActionsOutputSerializer, **_ERRORS},
        tags=["generation"],
        summary="Prioritised next actions for a customer",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        context = v.get("context") or {}
        actions = interface.suggest_actions(
            customer_profile=v.get("customer_profile"),
            customer_id=v.get("customer_id"),
            scenario=v["scenario"],
            context=context,
        )
        return Response(s.ActionsOutputSerializer({"scenario": v["scenario"], "actions": actions}).data)


class ContentApi(_GenerationApi):
    class InputSerializer(s.ProfileInputSerializer):
        objective = serializers.ChoiceField(
            choices=["cross_sell", "upsell", "win_back", "retention"], default="cross_sell"
        )

        class Meta:
            ref_name = "GenerationContentInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: s.ContentOutputSerializer, **_ERRORS},
        tags=["generation"],
        summary="Products and categories to recommend",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        recs = interface.recommend_content(
            customer_profile=v.get("customer_profile"),
            customer_id=v.get("customer_id"),
            objective=v["objective"],
        )
        return Response(
            s.ContentOutputSerializer({"objective": v["objective"], "recommendations": recs}).data
        )


class TimingApi(_GenerationApi):
    class InputSerializer(s.ProfileInputSerializer):
        message_type = serializers.ChoiceField(choices=["email", "sms", "chat", "push"], default="email")

        class Meta:
            ref_name = "GenerationTimingInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: s.SendTimeSerializer, **_ERRORS},
        tags=["generation"],
        summary="Best weekday and hour to reach a customer",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        rec = interface.optimize_timing(
            customer_profile=v.get("customer_profile"),
            customer_id=v.get("customer_id"),
            message_type=v["message_type"],
        )
        return Response(s.SendTimeSerializer(rec).data)


class OfferApi(_GenerationApi):
    class InputSerializer(s.ProfileInputSerializer):
        products = s.ProductSerializer(many=True, required=False, max_length=200)

        class Meta:
            ref_name = "GenerationOfferInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: s.OfferSerializer, **_ERRORS},
        tags=["generation"],
        summary="An offer bounded by the value at stake",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        products = [{**p, "price": float(p["price"])} for p in v.get("products") or []]
        offer = interface.personalize_offer(
            customer_profile=v.get("customer_profile"), customer_id=v.get("customer_id"), products=products
        )
        return Response(s.OfferSerializer(offer).data)
