"""Site-wide records: API client keys and idempotency records.

They belong to the HTTP edge, not to any one app: every app's POST endpoints
honour Idempotency-Key, and every API key may be granted any app's scopes.
"""

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

# The API areas a key can be granted: each API view names its own (`api_scope`).
SCOPES = ("data", "intelligence", "generation", "support", "marketing")


class ClientApiKey(AbstractAPIKey):
    """An API key of an external client (stored hashed; shown once).

    `scopes` lists the API areas the key may call (`SCOPES`); an empty list grants all of them.
    `grants` holds app-specific limits, e.g. {"support_teams": ["billing"]}.
    """

    scopes = models.JSONField(default=list, blank=True)
    grants = models.JSONField(default=dict, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "client API key"
        verbose_name_plural = "client API keys"

    def allows(self, scope: str) -> bool:
        return not self.scopes or scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key.

    The key is scoped to the caller (API key or user) so that two clients
    using the same key never see each other's responses. A record without a
    response is a request in flight.
    """

    owner = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="uniq_idempotency_owner_key"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"

    @property
    def in_flight(self) -> bool:
        return self.status_code is None


from quimbi_site.audit_models import AuditEvent  # noqa: E402,F401
