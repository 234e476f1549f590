"""SLA configuration (calendars, policies) and per-ticket timers with their events."""

from django.db import models


class BusinessCalendar(models.Model):
    """IANA zone + weekly intervals + holidays (explicit dates and a country's public holidays).

    `weekly_hours`: {"0": [["09:00", "17:00"]], ...}, 0 = Monday, local wall-clock times.
    """

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    weekly_hours = models.JSONField(default=dict)
    holidays = models.JSONField(default=list, blank=True)  # ["2026-12-24", ...]
    holiday_country = models.CharField(max_length=2, blank=True)  # ISO code for the `holidays` package
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.timezone})"


class SLAPolicy(models.Model):
    """Ordered: the first active policy whose conditions all match wins.

    `conditions` (all optional, each a list; empty or missing = any):
      priority, channel, team (slugs), tags_any, churn_band (low/medium/high/unknown),
      ltv_tier (low/mid/high/unknown).
    `targets`: {priority: {"first_response": min, "next_response": min, "resolution": min}},
    in business minutes of `calendar` (no calendar = 24/7).
    """

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict, blank=True)
    targets = models.JSONField(default=dict)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT)
    warn_share = models.FloatField(default=0.75)  # warn when this share of the target is used

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class SLATimer(models.Model):
    """One per metric per ticket. Minutes are business minutes of the policy's calendar."""

    class Metric(models.TextChoices):
        FIRST_RESPONSE = "first_response"
        NEXT_RESPONSE = "next_response"
        RESOLUTION = "resolution"

    ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, related_name="sla_timers")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    policy = models.ForeignKey(SLAPolicy, null=True, on_delete=models.SET_NULL)
    target_minutes = models.FloatField()
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)  # start of the current running span
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    warn_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining_minutes = models.FloatField(null=True, blank=True)  # set while paused
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    elapsed_calendar_minutes = models.FloatField(default=0.0)  # over finished running spans
    elapsed_business_minutes = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "metric"], name="uniq_sla_timer_metric")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.metric}"

    @property
    def state(self) -> str:
        if self.fulfilled_at:
            return "fulfilled_late" if self.breached_at else "fulfilled"
        if self.paused_at:
            return "paused"
        if self.breached_at:
            return "breached"
        return "warning" if self.warned_at else "running"


class SLAEvent(models.Model):
    class Kind(models.TextChoices):
        APPLY = "apply"
        START = "start"
        PAUSE = "pause"
        RESUME = "resume"
        FULFIL = "fulfil"
        WARN = "warn"
        BREACH = "breach"
        ESCALATE = "escalate"

    ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, related_name="sla_events")
    timer = models.ForeignKey(
        SLATimer, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    metric = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "SLA event"

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.metric} {self.kind}"
