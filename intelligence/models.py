"""Intelligence data: the model registry, archetypes and each customer's latest intelligence."""

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One trained model. A training run stores one `bundle` (churn + LTV + segmentation
    trained together on the same windows); exactly one is active per kind."""

    class Kind(models.TextChoices):
        BUNDLE = "bundle", "Bundle (churn + LTV + segmentation)"
        CHURN = "churn", "Churn"
        LTV = "ltv", "Lifetime value"
        SEGMENTATION = "segmentation", "Segmentation"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BUNDLE)
    artifact = models.BinaryField(editable=False, help_text="zlib-compressed pickle of the trained bundle")
    artifact_bytes = models.PositiveIntegerField(default=0)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="time-split validation metrics per kind")
    training_start = models.DateField(null=True, blank=True)
    training_end = models.DateField(null=True, blank=True)
    as_of = models.DateField()
    horizon_days = models.PositiveIntegerField()
    scored_as_of = models.DateField(null=True, blank=True, help_text="as_of of the latest batch scoring")
    customers_trained = models.PositiveIntegerField(default=0)
    training_seconds = models.FloatField(default=0.0)
    trained_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(active=True), name="intel_one_active_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}{' (active)' if self.active else ''}"

    @property
    def label(self) -> str:
        """The version string stamped on predictions, e.g. "bundle-v3"."""
        return f"{self.kind}-v{self.pk}"


class Archetype(models.Model):
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="archetypes")
    key = models.CharField(max_length=200, help_text="the archetype id the segmentation model assigns")
    name = models.CharField(max_length=200)
    centroid = models.JSONField(default=dict, blank=True)
    size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-size", "name"]
        constraints = [models.UniqueConstraint(fields=["model_version", "key"], name="intel_archetype_key")]

    def __str__(self) -> str:
        return self.name


class CustomerIntelligence(models.Model):
    """The latest batch-scored intelligence of one customer (platform customer id as a string)."""

    customer_id = models.CharField(max_length=64)
    as_of = models.DateField()
    horizon_days = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    # No index: every row names the active version, so a look-up by version reads the whole table
    # anyway, and each full scoring would rewrite the index for nothing.
    model_version = models.ForeignKey(
        ModelVersion, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    churn_model = models.CharField(max_length=40, blank=True)
    ltv_model = models.CharField(max_length=40, blank=True)
    churn_confidence = models.CharField(max_length=10, blank=True)
    ltv_confidence = models.CharField(max_length=10, blank=True)
    churn_probability = models.FloatField(null=True, db_index=True)
    risk_band = models.CharField(max_length=10, default="unknown")
    top_factors = models.JSONField(default=list, blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    predicted_ltv = models.FloatField(null=True, db_index=True)
    ltv_p10 = models.FloatField(null=True)
    ltv_p90 = models.FloatField(null=True)
    expected_orders = models.FloatField(null=True)
    p_purchase = models.FloatField(null=True)
    expected_next_order_date = models.DateField(null=True, blank=True)
    value_at_risk = models.FloatField(
        null=True, db_index=True, help_text="churn probability x predicted spend"
    )
    archetype = models.CharField(max_length=200, blank=True)
    archetype_key = models.CharField(max_length=200, blank=True)
    axes = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=dict, blank=True)
    order_count = models.PositiveIntegerField(default=0, db_index=True)
    total_spent = models.FloatField(default=0.0, db_index=True)
    days_since_last_order = models.IntegerField(null=True, db_index=True)
    has_open_support_interaction = models.BooleanField(default=False)
    stale = models.BooleanField(default=False, help_text="new data arrived; a re-score is queued")

    class Meta:
        verbose_name_plural = "customer intelligence"
        ordering = ["-value_at_risk", "customer_id"]
        # Declared here rather than as unique=True / db_index=True: on PostgreSQL those add a
        # second, LIKE-pattern index to every text column, which queries here never use and
        # every full scoring would write (100,000 entries each).
        constraints = [models.UniqueConstraint(fields=["customer_id"], name="intel_customer_unique")]
        indexes = [
            models.Index(fields=["risk_band"], name="intel_risk_band_idx"),
            models.Index(fields=["archetype"], name="intel_archetype_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.archetype or 'unsegmented'})"
