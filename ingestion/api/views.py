"""The data API: batch ingestion, customer sync and Shopify webhooks.

Batch contract (documented in the schema): valid records are stored and
invalid ones reported with their index and field errors. The answer is 200
with the counts when at least one record was stored or recognised; when every
record is rejected it is a 400 `validation_error` whose details carry the same
counts and errors. Batches run synchronously so the response holds the counts.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ingestion import interface, webhooks
from ingestion.api import serializers as s
from ingestion.errors import BatchTooLarge, IngestionError
from ingestion.services.common import collector_paused


class BatchRejected(IngestionError):
    """Every record of the batch was rejected; nothing was stored."""

    code = "validation_error"
    http_status = 400


def _errors(*statuses: int) -> dict:
    described = {
        400: "Malformed body, invalid envelope, or every record rejected (details: per-record errors).",
        401: "Missing, invalid, revoked or expired X-API-Key.",
        403: "The key is not granted the `data` scope.",
        404: "Unknown webhook topic.",
        409: "A request with the same Idempotency-Key is still in flight.",
        413: "More than 5,000 records or more than 5 MB.",
        415: "The body is not application/json.",
        429: "Throttled; see Retry-After.",
    }
    return {code: OpenApiResponse(s.ErrorSerializer, description=described[code]) for code in statuses}


_BATCH_ERRORS = _errors(400, 401, 403, 409, 413, 415, 429)
_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Retries with the same key replay the first successful response for 24 h.",
)


class _BatchIngestApi(APIView):
    api_scope = "data"
    throttle_scope = "ingestion"

    def ingest(self, *, source: str, records: list) -> interface.IngestResult:
        raise NotImplementedError

    def post(self, request):
        # Parsing the body allocates as much as writing the records: both run with the
        # collector off (see collector_paused).
        with collector_paused():
            return self._post(request)

    def _post(self, request):
        records = request.data.get("records") if isinstance(request.data, dict) else None
        limit = getattr(settings, "QUIMBI_MAX_BATCH_RECORDS", 5_000)
        if isinstance(records, list) and len(records) > limit:
            raise BatchTooLarge(
                f"A batch holds at most {limit} records.",
                details={"max_records": limit, "received": len(records)},
            )
        data = s.BatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = data.validated_data["source"]
        result = self.ingest(source=source, records=data.validated_data["records"])
        body = s.ingest_result_data(source=source, result=result)
        if result.rejected and not (result.accepted or result.duplicates or result.updated):
            raise BatchRejected("Every record was rejected; nothing was stored.", details=body)
        return Response(body)


class OrdersIngestApi(_BatchIngestApi):
    @extend_schema(
        operation_id="data_orders_ingest",
        summary="Ingest a batch of orders",
        description="Exactly once per (source, external_id); a later `updated_at` updates an order.",
        request=s.OrderBatchSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={200: s.IngestResultSerializer, **_BATCH_ERRORS},
    )
    def post(self, request):
        return super().post(request)

    def ingest(self, *, source, records):
        return interface.ingest_orders(source=source, records=records)


class InteractionsIngestApi(_BatchIngestApi):
    @extend_schema(
        operation_id="data_interactions_ingest",
        summary="Ingest a batch of interactions (tickets, chats, e-mails, calls, reviews)",
        request=s.InteractionBatchSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={200: s.IngestResultSerializer, **_BATCH_ERRORS},
    )
    def post(self, request):
        return super().post(request)

    def ingest(self, *, source, records):
        return interface.ingest_interactions(source=source, records=records)


class EventsIngestApi(_BatchIngestApi):
    @extend_schema(
        operation_id="data_events_ingest",
        summary="Ingest a batch of events",
        description="Deduplicated on (source, message_id) with no time window.",
        request=s.EventBatchSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={200: s.IngestResultSerializer, **_BATCH_ERRORS},
    )
    def post(self, request):
        return super().post(request)

    def ingest(self, *, source, records):
        return interface.ingest_events(source=source, records=records)


class CustomerSyncApi(APIView):
    api_scope = "data"
    throttle_scope = "ingestion"

    @extend_schema(
        operation_id="data_customers_sync",
        summary="Create or update one customer",
        description="Names the customer by the source's `customer_id`, `email` and/or Quimbi's "
        "`platform_customer_id`; when the record "
        "proves two known customers are one person they are merged (`merged_from`).",
        request=s.CustomerSyncSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={200: s.CustomerSyncResultSerializer, **_errors(400, 401, 403, 409, 413, 415, 429)},
    )
    def post(self, request):
        data = s.CustomerSyncInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ref = interface.sync_customer(
            source=data.validated_data["source"], data=data.validated_data["customer"]
        )
        return Response(
            s.CustomerSyncResultSerializer(
                {"customer_id": ref.customer_id, "created": ref.created, "merged_from": list(ref.merged_from)}
            ).data
        )


class ShopifyWebhookApi(APIView):
    """Authenticated by the HMAC signature, not by an API key; not throttled so
    that Shopify's bursts are acknowledged (the delivery is stored, then processed)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    parser_classes = []  # the HMAC covers the exact bytes: the body is read raw

    @extend_schema(
        operation_id="data_shopify_webhook",
        summary="Receive a Shopify webhook",
        description="Verifies `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body with the app "
        "secret), stores the delivery once per `X-Shopify-Event-Id` / `X-Shopify-Webhook-Id`, answers "
        "200 and processes it in a task. Topics: " + ", ".join(sorted(webhooks.SHOPIFY_TOPICS)) + ".",
        auth=[],
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "topic", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(webhooks.SHOPIFY_TOPICS)
            ),
            OpenApiParameter(
                "X-Shopify-Hmac-Sha256", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True
            ),
            OpenApiParameter("X-Shopify-Webhook-Id", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Shopify-Event-Id", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Shopify-Shop-Domain", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Shopify-Triggered-At", OpenApiTypes.DATETIME, OpenApiParameter.HEADER),
        ],
        responses={
            200: s.WebhookAckSerializer,
            **_errors(400, 404, 413, 415),
            401: OpenApiResponse(s.ErrorSerializer, description="Missing or wrong HMAC; nothing stored."),
        },
    )
    def post(self, request, topic: str):
        if topic not in webhooks.SHOPIFY_TOPICS:
            raise exceptions.NotFound(f"Unknown Shopify topic {topic[:64]!r}.")
        if request.content_type.split(";")[0].strip().lower() != "application/json":
            raise exceptions.UnsupportedMediaType(request.content_type[:100])
        receipt = webhooks.shopify_webhook_receive(topic=topic, raw_body=request.body, headers=request.META)
        return Response(s.WebhookAckSerializer({"received": True, "duplicate": not receipt.created}).data)
