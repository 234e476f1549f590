"""Raw behaviour: customers and their identities, orders, interactions, events.

Every record is keyed by (source, external id) so that ingestion is
idempotent: the same record sent twice is found, never stored twice.
"""

from django.db import models


class Customer(models.Model):
    """A person, as the platform knows them. `str(pk)` is the platform id.

    A customer merged into another keeps its row (with `merged_into` set) so
    that ids handed out earlier still resolve.
    """

    # Not indexed: people are found by e-mail through their ("email", address) ExternalRef, and
    # the admin's search is a substring match. Every new order moves its customer's last seen,
    # and each index here would be written again on each such update.
    email = models.EmailField(max_length=254, blank=True)
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    profile_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The source's time of the e-mail, name and phone last applied: an older customer "
        "record does not overwrite them.",
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.pk} {self.email or self.name}".strip()


class ExternalRef(models.Model):
    """A source's id for a customer (e.g. Shopify customer 207119551)."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="external_refs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="uniq_extref_source_id"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class CustomerMerge(models.Model):
    """One merge: `merged_customer_id` was found to be `into` and folded in."""

    merged_customer_id = models.BigIntegerField(db_index=True)
    into = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    reason = models.CharField(max_length=200)
    evidence = models.JSONField(default=dict, blank=True)
    moved = models.JSONField(default=dict, blank=True)  # rows repointed per table
    merged_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.merged_customer_id} -> {self.into_id}"


class OrderStatus(models.TextChoices):
    PLACED = "placed"
    PAID = "paid"
    FULFILLED = "fulfilled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class Order(models.Model):
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    # No index of its own: the (customer, time) index below serves look-ups by customer.
    # No database foreign key either. Every writer of orders already holds their customers
    # (`identity.customers_held`: one FOR KEY SHARE statement per batch, which finds a customer
    # that is gone), and customers are deleted only through `identity.customer_delete`, which
    # waits for the writers in flight; so the database's own check, a FOR KEY SHARE per order
    # at commit, only repeated that hold: about 8 us per order, a sixth of the database's work
    # in a bulk load.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="orders", db_index=False, db_constraint=False
    )
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(max_digits=14, decimal_places=2)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    refunded_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    item_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=64, blank=True)
    # The source's own last-modified time: an older version never overwrites a newer one.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="uniq_order_source_id"),
        ]
        indexes = [
            models.Index(fields=["customer", "placed_at"]),
            models.Index(fields=["placed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class OrderLine(models.Model):
    """One line of an order.

    Lines are written only by the order writer, in the same transaction as their order and with
    its fresh id, and deleted only through the ORM (which cascades from the order). So the
    database does not check the reference again: a deferred foreign-key check per line cost about
    10 us at commit, as much as writing the line itself.
    No index on sku either: nothing looks lines up by exact sku (admin search is a substring match).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_constraint=False)
    sku = models.CharField(max_length=128, blank=True)
    product_id = models.CharField(max_length=128, blank=True)
    title = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=128, blank=True)
    quantity = models.IntegerField(default=1)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.sku or self.title} x{self.quantity}"


class Interaction(models.Model):
    """A contact between the shop and the customer: ticket, chat, e-mail, call, review."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    # No index of its own: the (customer, time) index below serves look-ups by customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="interactions", db_index=False
    )
    channel = models.CharField(max_length=32, blank=True)
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=32, blank=True)  # e.g. open / solved, for tickets
    priority = models.CharField(max_length=16, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="uniq_interaction_source_id"),
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.source}:{self.external_id}"


class Event(models.Model):
    """A tracked behaviour (Segment-style `track`): deduplicated on message id forever."""

    source = models.CharField(max_length=64)
    message_id = models.CharField(max_length=255)
    # No index of its own: the (customer, time) index below serves look-ups by customer.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events", db_index=False)
    name = models.CharField(max_length=128)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="uniq_event_source_message"),
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.name} {self.source}:{self.message_id}"


class WebhookDelivery(models.Model):
    """A received webhook, stored before it is acknowledged, processed by a task."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        FAILED = "failed"

    source = models.CharField(max_length=64)
    delivery_id = models.CharField(max_length=255)
    topic = models.CharField(max_length=64)
    shop_domain = models.CharField(max_length=255, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    result = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="uniq_webhook_delivery"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.delivery_id}"


class IngestionBatch(models.Model):
    """An audit row per ingestion call (HTTP batch, file import, webhook)."""

    source = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)  # orders / interactions / events / customers
    via = models.CharField(max_length=32)  # api / file / webhook / task
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(
        blank=True, help_text="Why a file import stopped early (its counts are what it did)."
    )

    class Meta:
        verbose_name_plural = "ingestion batches"
        indexes = [models.Index(fields=["started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} from {self.source} via {self.via}"
