"""Serializers of the data API.

Batch envelopes (`source` + `records`) are validated here; each record is
validated by the ingestion service (one set of rules for HTTP, files and
webhooks), so the record serializers below document the shapes in the
OpenAPI schema and are not used to validate requests.
"""

from django.conf import settings
from rest_framework import serializers

from ingestion.models import OrderStatus
from ingestion.services.validation import MAX_LINES

SOURCE_HELP = (
    "The system the records come from (a slug, e.g. `shopify`, `zendesk`); ids are unique per source."
)
CUSTOMER_ID_HELP = (
    "The source's customer id. `customer_id`, `email` and/or `platform_customer_id` name the customer."
)
PLATFORM_CUSTOMER_ID_HELP = (
    "Quimbi's own customer id, for applications that already know the customer (an unknown id "
    "rejects the record); a merged id leads to the customer it was merged into."
)


class RecordField(serializers.Field):
    """One record: any JSON object, checked field by field by the service."""

    default_error_messages = {"not_an_object": "Each record must be a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_an_object")
        return data

    def to_representation(self, value):
        return value


class RecordListField(serializers.ListField):
    """A list of records (objects, as the child documents). The ingestion service checks each one:
    a record that is not an object is reported with its index like any other invalid record, and
    the rest of the batch is stored."""

    def run_child_validation(self, data):
        return list(data)


class BatchInputSerializer(serializers.Serializer):
    source = serializers.SlugField(max_length=64, help_text=SOURCE_HELP)
    records = RecordListField(child=RecordField(), allow_empty=True)


class CustomerSyncInputSerializer(serializers.Serializer):
    source = serializers.SlugField(max_length=64, help_text=SOURCE_HELP)
    customer = RecordField()


# --- Record shapes (documentation) -------------------------------------------


class _Identity(serializers.Serializer):
    customer_id = serializers.CharField(max_length=255, required=False, help_text=CUSTOMER_ID_HELP)
    email = serializers.EmailField(max_length=254, required=False)
    platform_customer_id = serializers.CharField(
        max_length=18, required=False, help_text=PLATFORM_CUSTOMER_ID_HELP
    )


class OrderLineRecordSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=128, required=False)
    product_id = serializers.CharField(max_length=128, required=False)
    title = serializers.CharField(max_length=255, required=False)
    category = serializers.CharField(max_length=128, required=False)
    quantity = serializers.IntegerField(min_value=0, max_value=1_000_000, default=1)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)


class OrderRecordSerializer(_Identity):
    external_id = serializers.CharField(max_length=255, help_text="The order's id in the source.")
    placed_at = serializers.DateTimeField(help_text="ISO 8601; without an offset it is UTC.")
    total = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = serializers.CharField(min_length=3, max_length=3, default="USD", help_text="ISO 4217.")
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    refunded_total = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    status = serializers.ChoiceField(choices=OrderStatus.choices, default=OrderStatus.PLACED)
    cancelled_at = serializers.DateTimeField(required=False)
    channel = serializers.CharField(max_length=64, required=False, help_text="e.g. web, pos, marketplace.")
    updated_at = serializers.DateTimeField(
        required=False,
        help_text="The source's last-modified time. A later version updates the order; "
        "an older or equal one changes nothing.",
    )
    item_count = serializers.IntegerField(
        min_value=0, required=False, help_text="Used when no lines are sent."
    )
    lines = OrderLineRecordSerializer(many=True, required=False, max_length=MAX_LINES)


class InteractionRecordSerializer(_Identity):
    external_id = serializers.CharField(max_length=255)
    occurred_at = serializers.DateTimeField()
    kind = serializers.CharField(max_length=32, help_text="ticket, chat, email, call, review, ...")
    channel = serializers.CharField(max_length=32, required=False)
    status = serializers.CharField(max_length=32, required=False)
    priority = serializers.CharField(max_length=16, required=False)
    metadata = serializers.DictField(required=False, help_text="Any JSON object up to 16 KB.")
    updated_at = serializers.DateTimeField(required=False)


class EventRecordSerializer(_Identity):
    message_id = serializers.CharField(max_length=255, help_text="Deduplicated per source, forever.")
    name = serializers.CharField(max_length=128, help_text="e.g. Viewed Product, Opened Email.")
    occurred_at = serializers.DateTimeField()
    properties = serializers.DictField(required=False, help_text="Any JSON object up to 32 KB.")


class CustomerRecordSerializer(_Identity):
    name = serializers.CharField(max_length=200, required=False)
    phone = serializers.CharField(max_length=40, required=False)
    updated_at = serializers.DateTimeField(
        required=False,
        help_text="When the source last changed this customer: a record older than the one applied "
        "last links its identities but leaves the e-mail, name and phone alone.",
    )


def _batch_doc(name: str, record: type[serializers.Serializer]) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "source": serializers.SlugField(max_length=64, help_text=SOURCE_HELP),
            "records": record(
                many=True,
                max_length=settings.QUIMBI_MAX_BATCH_RECORDS,
                help_text=f"At most {settings.QUIMBI_MAX_BATCH_RECORDS:,} records and "
                f"{settings.QUIMBI_MAX_REQUEST_BYTES // (1024 * 1024)} MB per request (more is a 413).",
            ),
        },
    )


OrderBatchSerializer = _batch_doc("OrderBatch", OrderRecordSerializer)
InteractionBatchSerializer = _batch_doc("InteractionBatch", InteractionRecordSerializer)
EventBatchSerializer = _batch_doc("EventBatch", EventRecordSerializer)


class CustomerSyncSerializer(serializers.Serializer):
    source = serializers.SlugField(max_length=64, help_text=SOURCE_HELP)
    customer = CustomerRecordSerializer()


# --- Responses -----------------------------------------------------------------


class RecordErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in `records`.")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class IngestResultSerializer(serializers.Serializer):
    source = serializers.CharField()
    received = serializers.IntegerField()
    accepted = serializers.IntegerField(help_text="New records stored.")
    duplicates = serializers.IntegerField(
        help_text="Records already stored as sent, or older than the stored version; nothing written."
    )
    updated = serializers.IntegerField(
        help_text="Newer versions (later `updated_at`) of stored records, or of records earlier in the "
        "batch: the counts are those of sending the records one at a time."
    )
    rejected = serializers.IntegerField(help_text="Invalid records; none of them was stored.")
    errors = RecordErrorSerializer(many=True)


class CustomerSyncResultSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The platform customer id.")
    created = serializers.BooleanField()
    merged_from = serializers.ListField(child=serializers.CharField(), help_text="Customer ids merged in.")


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField(help_text="This delivery was already received; nothing new stored.")


class _ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class ErrorSerializer(serializers.Serializer):
    """The error envelope every /api/ error uses."""

    error = _ErrorBody()


def ingest_result_data(*, source: str, result) -> dict:
    """The response body for an `IngestResult`."""
    return IngestResultSerializer(
        {
            "source": source,
            "received": result.received,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "updated": result.updated,
            "rejected": len(result.rejected),
            "errors": result.rejected,
        }
    ).data
