"""The intelligence API: thin views over intelligence.interface."""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from intelligence import interface, selectors
from intelligence.api import serializers as s

_DESCRIBED = {
    400: "Invalid body.",
    401: "Missing, invalid, revoked or expired X-API-Key.",
    403: "The key is not granted the `intelligence` scope.",
    404: "Unknown customer.",
    429: "Throttled; see Retry-After.",
    503: "`model_not_ready`: no model is trained yet.",
}


def _errors(*codes: int) -> dict:
    return {
        code: OpenApiResponse(s.IntelligenceErrorSerializer, description=_DESCRIBED[code]) for code in codes
    }


_CUSTOMER_ERRORS = _errors(400, 401, 403, 404, 429, 503)


class _IntelligenceApi(APIView):
    api_scope = "intelligence"
    throttle_scope = "intelligence"


@extend_schema_serializer(component_name="IntelligenceCustomerInput")
class CustomerIdInput(serializers.Serializer):
    customer_id = serializers.CharField(max_length=64)


class AnalyzeApi(_IntelligenceApi):
    @extend_schema_serializer(component_name="IntelligenceAnalyzeInput")
    class InputSerializer(serializers.Serializer):
        customer_id = serializers.CharField(max_length=64, required=False)
        context = serializers.DictField(
            required=False,
            help_text='Inline behaviour {"orders": [...], "interactions": [...], "events": [...]}; '
            "scored with the active model and never stored.",
        )

        def validate(self, attrs):
            if not attrs.get("customer_id") and attrs.get("context") is None:
                raise serializers.ValidationError("Give a customer_id or a context.")
            return attrs

    @extend_schema(
        operation_id="intelligence_analyze",
        request=InputSerializer,
        responses={200: s.IntelligenceSerializer, **_CUSTOMER_ERRORS},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        intel = interface.analyze_customer(
            customer_id=data.validated_data.get("customer_id"), context=data.validated_data.get("context")
        )
        return Response(asdict(intel))


class PredictChurnApi(_IntelligenceApi):
    @extend_schema(
        operation_id="intelligence_predict_churn",
        request=CustomerIdInput,
        responses={200: s.ChurnSerializer, **_CUSTOMER_ERRORS},
    )
    def post(self, request):
        data = CustomerIdInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(asdict(interface.predict_churn(customer_id=data.validated_data["customer_id"])))


class PredictLtvApi(_IntelligenceApi):
    @extend_schema_serializer(component_name="IntelligencePredictLtvInput")
    class InputSerializer(CustomerIdInput):
        horizon_months = serializers.IntegerField(min_value=1, max_value=60, default=12)

    @extend_schema(
        operation_id="intelligence_predict_ltv",
        request=InputSerializer,
        responses={200: s.LTVSerializer, **_CUSTOMER_ERRORS},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        forecast = interface.forecast_ltv(**data.validated_data)
        return Response(asdict(forecast))


class SegmentApi(_IntelligenceApi):
    @extend_schema_serializer(component_name="IntelligenceSegmentInput")
    class InputSerializer(serializers.Serializer):
        behavior = serializers.DictField(
            help_text='{"customer_id": ...}, inline {"orders": [...]} or raw feature values by name.'
        )

    @extend_schema(
        operation_id="intelligence_segment",
        request=InputSerializer,
        responses={200: s.DNASerializer, **_CUSTOMER_ERRORS},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(asdict(interface.segment_customer(behavior=data.validated_data["behavior"])))


class ScoreApi(_IntelligenceApi):
    @extend_schema_serializer(component_name="IntelligenceScoreInput")
    class InputSerializer(CustomerIdInput):
        scoring_context = serializers.JSONField(
            default="support_priority",
            help_text='"support_priority", "retention", "value", or {"name": ..., "weights": {...}}.',
        )

        def validate_scoring_context(self, value):
            if not isinstance(value, (str, dict)):
                raise serializers.ValidationError("A name or an object.")
            return value

    @extend_schema(
        operation_id="intelligence_score",
        request=InputSerializer,
        responses={200: s.ScoreSerializer, **_CUSTOMER_ERRORS},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(asdict(interface.score_customer(**data.validated_data)))


class ExplainApi(_IntelligenceApi):
    @extend_schema_serializer(component_name="IntelligenceExplainInput")
    class InputSerializer(CustomerIdInput):
        question = serializers.CharField(max_length=1000)

    @extend_schema(
        operation_id="intelligence_explain",
        request=InputSerializer,
        responses={200: s.ExplanationSerializer, **_CUSTOMER_ERRORS},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(asdict(interface.explain_behavior(**data.validated_data)))


class CustomerDetailApi(_IntelligenceApi):
    @extend_schema(
        operation_id="intelligence_customer_retrieve",
        responses={200: s.CustomerDetailSerializer, **_errors(401, 403, 404, 429, 503)},
    )
    def get(self, request, customer_id: str):
        intelligence = asdict(interface.analyze_customer(customer_id=customer_id))
        orders = selectors.recent_orders(customer_id=customer_id)
        return Response({**intelligence, "recent_orders": orders})


class ModelsApi(_IntelligenceApi):
    @extend_schema(
        operation_id="intelligence_models_list",
        responses={200: s.ModelVersionSerializer(many=True), **_errors(401, 403, 429)},
    )
    def get(self, request):
        return Response(s.ModelVersionSerializer(selectors.versions_list(), many=True).data)


class FeaturesApi(_IntelligenceApi):
    @extend_schema(
        operation_id="intelligence_features_list",
        responses={200: s.FeatureCatalogueSerializer, **_errors(401, 403, 429)},
    )
    def get(self, request):
        from intelligence.ml import features

        return Response(
            {"axes": list(features.AXES), "features": [asdict(spec) for spec in features.FEATURE_CATALOGUE]}
        )
