"""Admin screens for every ingestion model, kept fast at millions of rows (raw id widgets, no counts).

Ingested rows are read-only: they arrive through the idempotent ingestion services, keyed by
(source, external id) or delivery id, so a hand edit or delete would silently break the
exactly-once guarantee (a deleted row is re-accepted on the next replay, an edited one diverges
from its source) and bypass the re-scoring that every ingestion triggers.
"""

from django.contrib import admin

from ingestion.models import (
    Customer,
    CustomerMerge,
    Event,
    ExternalRef,
    IngestionBatch,
    Interaction,
    Order,
    OrderLine,
    WebhookDelivery,
)
from ingestion.services import identity


class IngestedReadOnly:
    """View-only screen (and inline) for rows only the ingestion services may write."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ExternalRefInline(IngestedReadOnly, admin.TabularInline):
    model = ExternalRef
    extra = 0
    fields = ("source", "external_id", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "email", "name", "first_seen_at", "last_seen_at", "merged_into")
    list_filter = (("merged_into", admin.EmptyFieldListFilter), "last_seen_at")
    search_fields = ("=id", "email", "name", "external_refs__external_id")
    list_select_related = ("merged_into",)
    # Merges go through the identity service, which moves orders, refs and events with them.
    readonly_fields = ("merged_into", "created_at", "updated_at")
    inlines = (ExternalRefInline,)
    show_full_result_count = False

    def get_actions(self, request):
        # Deleting customers in bulk cascades to their orders, events and interactions.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        identity.customer_delete(obj)  # waits for the ingestion writers in flight


@admin.register(ExternalRef)
class ExternalRefAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = ("source", "external_id", "customer", "created_at")
    list_filter = ("source",)
    search_fields = ("external_id", "=customer__id")
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    show_full_result_count = False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = ("merged_customer_id", "into", "reason", "merged_at")
    list_filter = ("reason", "merged_at")
    search_fields = ("=merged_customer_id", "=into__id")
    raw_id_fields = ("into",)
    list_select_related = ("into",)
    show_full_result_count = False


class OrderLineInline(IngestedReadOnly, admin.TabularInline):
    model = OrderLine
    extra = 0


@admin.register(Order)
class OrderAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = (
        "external_id",
        "source",
        "customer",
        "placed_at",
        "total",
        "currency",
        "status",
        "channel",
    )
    list_filter = ("source", "status", "channel", "currency", "placed_at")
    search_fields = ("external_id", "=customer__id", "customer__email")
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    readonly_fields = ("ingested_at", "updated_at")
    date_hierarchy = "placed_at"
    inlines = (OrderLineInline,)
    show_full_result_count = False


@admin.register(OrderLine)
class OrderLineAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = ("order", "sku", "title", "category", "quantity", "unit_price", "discount")
    list_filter = ("category",)
    search_fields = ("sku", "title", "product_id", "order__external_id")
    raw_id_fields = ("order",)
    list_select_related = ("order",)
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = (
        "external_id",
        "source",
        "kind",
        "channel",
        "status",
        "priority",
        "customer",
        "occurred_at",
    )
    list_filter = ("source", "kind", "channel", "status", "priority")
    search_fields = ("external_id", "=customer__id", "customer__email")
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = ("name", "source", "message_id", "customer", "occurred_at")
    list_filter = ("source", "name")
    search_fields = ("message_id", "name", "=customer__id")
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    show_full_result_count = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = ("delivery_id", "source", "topic", "shop_domain", "status", "received_at", "processed_at")
    list_filter = ("source", "topic", "status")
    search_fields = ("delivery_id", "shop_domain")
    readonly_fields = ("received_at", "processed_at")
    show_full_result_count = False


@admin.register(IngestionBatch)
class IngestionBatchAdmin(IngestedReadOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "kind",
        "via",
        "accepted",
        "duplicates",
        "updated",
        "rejected",
        "started_at",
    )
    list_filter = ("source", "kind", "via")
    search_fields = ("source",)
    readonly_fields = ("started_at", "finished_at")
    date_hierarchy = "started_at"
    show_full_result_count = False
