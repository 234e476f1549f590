"""What the generation app stores: an audit log of generations and token spend.

Neither model holds raw customer text or PII: the log keeps a hash of the
(already redacted) prompt, never the prompt itself.
"""

from django.db import models


class GenerationLog(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok"
        FALLBACK = "fallback"  # the configured backend failed; the offline backend answered

    operation = models.CharField(max_length=16, db_index=True)  # message / actions / content / timing / offer
    customer_id = models.CharField(max_length=64, blank=True, db_index=True)  # opaque platform id
    requester = models.CharField(
        max_length=80, blank=True, db_index=True
    )  # "key:<id>", "user:<pk>", "in-process"
    goal = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    tone = models.CharField(max_length=16, blank=True)
    backend = models.CharField(max_length=32)
    model = models.CharField(max_length=64, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)  # sha256 of the redacted prompt
    latency_ms = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OK)
    fallback_reason = models.CharField(max_length=64, blank=True)
    flags = models.JSONField(default=list, blank=True)  # e.g. ["pii_redacted", "injection_suspected"]
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["backend", "created_at"])]

    def __str__(self) -> str:
        return f"{self.operation} {self.backend} {self.outcome} {self.created_at:%Y-%m-%d %H:%M}"


class TokenUsage(models.Model):
    """Tokens spent on a remote model per API key (or in-process caller) per UTC day."""

    requester = models.CharField(max_length=80)
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["requester", "day"], name="uniq_token_usage_day")]
        verbose_name_plural = "token usage"

    def __str__(self) -> str:
        return f"{self.requester} {self.day}: {self.total_tokens}"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
