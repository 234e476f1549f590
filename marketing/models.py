"""Marketing's own data: segments, campaigns, variants, the outbox, A/B tests, journeys.

Customers are platform ids stored as plain strings (never foreign keys into
platform tables): the platform is reached only through its interfaces.
"""

import zlib

from django.db import models
from django.db.models import Q


class Segment(models.Model):
    """An audience defined by rules over intelligence fields (see services.segments)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    # {"combinator": "and"|"or", "rules": [condition | group, ...]}, validated on write.
    rules = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentSnapshot(models.Model):
    """Who was in a segment at a moment; consecutive snapshots give who entered and left."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(db_index=True)
    member_count = models.PositiveIntegerField()
    # True when the platform found more members than the audience cap stored here.
    truncated = models.BooleanField(default=False)
    # Sorted member ids, newline-separated, zlib-compressed (about 3 bytes per id).
    members_blob = models.BinaryField()

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["segment", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.segment} @ {self.taken_at:%Y-%m-%d %H:%M} ({self.member_count})"

    @staticmethod
    def pack(member_ids) -> bytes:
        return zlib.compress("\n".join(sorted(set(member_ids))).encode(), level=9)

    @property
    def member_ids(self) -> frozenset[str]:
        text = zlib.decompress(bytes(self.members_blob)).decode()
        return frozenset(text.split("\n")) if text else frozenset()


class Goal(models.TextChoices):
    WIN_BACK = "win_back"
    RETENTION = "retention"
    UPSELL = "upsell"
    WELCOME = "welcome"
    NURTURE_LEAD = "nurture_lead"
    REVIEW_REQUEST = "review_request"


class Channel(models.TextChoices):
    EMAIL = "email"  # delivered through Django's e-mail backend (the only channel delivered today)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        SENDING = "sending"  # outbox written, messages waiting for their send time
        SENT = "sent"  # every message delivered or suppressed
        CANCELLED = "cancelled"  # stopped before finishing: its pending messages were suppressed

    name = models.CharField(max_length=160, unique=True)
    goal = models.CharField(max_length=32, choices=Goal.choices, default=Goal.WIN_BACK)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when a send is asked for (or a send run starts), cleared once a run has written the
    # whole outbox. While set the campaign is not finished, and a campaign quiet for a while is
    # queued again (campaigns_send_stalled): its task was never queued (broker down) or it died.
    send_pending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"])]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    class Kind(models.TextChoices):
        TEMPLATE = "template"  # subject/body with {{ placeholders }}
        GENERATED = "generated"  # written per customer by generation.interface

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEMPLATE)
    subject_template = models.CharField(max_length=255, blank=True)
    body_template = models.TextField(blank=True)
    tone = models.CharField(max_length=16, default="friendly")  # for generated variants
    weight = models.PositiveIntegerField(default=1)  # relative share of the audience

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="uniq_variant_campaign_name"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.name}"


class Journey(models.Model):
    """Ordered steps (wait, send, branch on churn band) that customers of a segment walk through."""

    name = models.CharField(max_length=160, unique=True)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="journeys")
    # The campaign whose outbox and variants the journey's sends use.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="journeys")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class JourneyStep(models.Model):
    class Kind(models.TextChoices):
        WAIT = "wait"  # pause wait_days
        SEND = "send"  # queue `variant` for the customer
        BRANCH = "branch"  # jump to goto_position when the churn band is in churn_bands

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    wait_days = models.PositiveIntegerField(default=0)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.PROTECT)
    churn_bands = models.JSONField(default=list, blank=True)  # e.g. ["high"]
    goto_position = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["journey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "position"], name="uniq_journey_step_position"),
        ]

    def __str__(self) -> str:
        return f"{self.journey} #{self.position} {self.kind}"

    def clean(self) -> None:
        """Each kind needs its own fields (checked by forms, e.g. the admin inline)."""
        from django.core.exceptions import ValidationError

        if self.kind == self.Kind.SEND and self.variant_id is None:
            raise ValidationError({"variant": "A send step needs a variant."})
        if (
            self.kind == self.Kind.SEND
            and self.journey_id
            and self.variant.campaign_id != self.journey.campaign_id
        ):
            raise ValidationError({"variant": "The variant must belong to the journey's campaign."})
        if self.kind == self.Kind.BRANCH and (self.goto_position is None or not self.churn_bands):
            raise ValidationError({"goto_position": "A branch needs churn bands and a step to jump to."})
        bands = {"low", "medium", "high", "unknown"}
        if not isinstance(self.churn_bands, list) or not set(self.churn_bands) <= bands:
            raise ValidationError({"churn_bands": f"A list drawn from {sorted(bands)}."})


class JourneyEnrollment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrollments")
    customer_id = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)  # the next step to run
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    next_run_at = models.DateTimeField(db_index=True)
    history = models.JSONField(default=list, blank=True)  # [{at, position, kind, outcome}]
    enrolled_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer_id"], name="uniq_enrollment_journey_customer"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_run_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.journey} @ {self.position}"


class OutboxMessage(models.Model):
    """One message to one customer. Written once per (campaign, customer): never sent twice."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"  # claimed by a delivery run (at most once)
        SENT = "sent"
        SUPPRESSED = "suppressed"
        FAILED = "failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outbox")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL)
    enrollment = models.ForeignKey(
        JourneyEnrollment, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    journey_position = models.PositiveIntegerField(null=True, blank=True)
    customer_id = models.CharField(max_length=64)
    email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    suppressed_reason = models.CharField(max_length=64, blank=True)
    send_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)  # when a delivery run took it
    sent_at = models.DateTimeField(null=True, blank=True)
    generation_backend = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer_id"],
                condition=Q(enrollment__isnull=True),
                name="uniq_outbox_campaign_customer",
            ),
            models.UniqueConstraint(
                fields=["enrollment", "journey_position"],
                condition=Q(enrollment__isnull=False),
                name="uniq_outbox_enrollment_step",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "send_at"]),
            models.Index(fields=["campaign", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} -> {self.customer_id} ({self.status})"


class ABTest(models.Model):
    """Splits a campaign's audience over its variants and measures orders after the send."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="ab_test")
    name = models.CharField(max_length=160)
    conversion_window_days = models.PositiveIntegerField(default=14)
    alpha = models.FloatField(default=0.05)
    winner = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evaluated_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "A/B test"

    def __str__(self) -> str:
        return self.name


class Suppression(models.Model):
    """An address never to be e-mailed by marketing (unsubscribed, bounced, complained, or by hand).

    Keyed by the normalised (lowercase) address, not the customer: a merged or re-imported
    customer keeps the same address, and the law binds the address the person gave.
    """

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        MANUAL = "manual"

    email = models.CharField(max_length=254, unique=True)  # lowercase, see services.suppressions
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.MANUAL)
    # The campaign whose message led here (an unsubscribe link names it), if any.
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="suppressions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"
