"""Assignment history: every assignment with its reason."""

from django.conf import settings
from django.db import models


class AssignmentLog(models.Model):
    class Reason(models.TextChoices):
        AUTO_CREATE = "auto_create", "Auto-assigned on creation"
        AUTO_ONLINE = "auto_online", "Auto-assigned when an agent came online"
        AUTO_CAPACITY = "auto_capacity", "Auto-assigned when capacity was freed"
        ASSIGN_NEXT = "assign_next", "Agent pulled the next ticket"
        MANUAL = "manual", "Assigned by hand"
        UNASSIGN = "unassign", "Unassigned"

    ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, related_name="assignments")
    agent = models.ForeignKey("support.Agent", null=True, blank=True, on_delete=models.SET_NULL)
    previous_agent = models.ForeignKey(
        "support.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    method = models.CharField(max_length=20, blank=True)  # round_robin / least_loaded / manual
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id} -> {self.agent_id} ({self.reason})"
