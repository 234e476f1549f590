"""Tickets, their conversation and history, and the people who work them."""

from django.conf import settings
from django.db import models


class Team(models.Model):
    class Routing(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round robin (longest since last assignment)"
        LEAST_LOADED = "least_loaded", "Least loaded (fewest open; tie: longest idle)"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    routing_method = models.CharField(max_length=20, choices=Routing.choices, default=Routing.LEAST_LOADED)
    auto_assign = models.BooleanField(default=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online"
        AWAY = "away"
        OFFLINE = "offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFLINE)
    teams = models.ManyToManyField(Team, related_name="agents", blank=True)
    skills = models.JSONField(default=list, blank=True)  # e.g. ["billing", "spanish"]
    capacity = models.PositiveSmallIntegerField(default=10)  # max tickets in SLA-active statuses
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_username()


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new"
        OPEN = "open"
        PENDING = "pending"
        ON_HOLD = "on_hold"
        SOLVED = "solved"
        CLOSED = "closed"

    class Priority(models.TextChoices):
        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"
        URGENT = "urgent"

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEB = "web"
        CHAT = "chat"
        PHONE = "phone"
        API = "api"

    subject = models.CharField(max_length=255)
    customer_id = models.CharField(max_length=64, blank=True, db_index=True)  # platform id, not a FK
    requester_name = models.CharField(max_length=200, blank=True)
    requester_email = models.EmailField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    assignee = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    tags = models.JSONField(default=list, blank=True)
    intent = models.CharField(max_length=64, blank=True)
    category = models.CharField(max_length=64, blank=True)
    required_skills = models.JSONField(default=list, blank=True)
    # Intelligence snapshot (for sorting and filtering without calling the platform per row).
    churn_probability = models.FloatField(null=True, blank=True)
    churn_band = models.CharField(max_length=10, blank=True)
    predicted_ltv = models.FloatField(null=True, blank=True)
    archetype = models.CharField(max_length=120, blank=True)
    value_at_risk = models.FloatField(default=0.0, db_index=True)  # score_customer, 0..100
    intelligence_at = models.DateTimeField(null=True, blank=True)
    sla_policy = models.ForeignKey(
        "support.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    sla_due_at = models.DateTimeField(null=True, blank=True, db_index=True)  # earliest running due time
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    # The closed ticket this one follows up: a customer who writes again after a ticket was
    # closed opens a new ticket, as helpdesks do; the closed one keeps its final figures.
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    # Set when a change is to be reported to the platform (and each time the catch-up queues
    # it again), cleared once reported as read then: a report lost on the way (broker down,
    # platform down) is made again by followups_catch_up.
    report_pending_since = models.DateTimeField(null=True, blank=True)

    SLA_ACTIVE_STATUSES = ("new", "open")
    # What a ticket can be set to: it leaves "new" once, for good (as in helpdesks).
    STATUS_CHOICES_AFTER_NEW = [(v, label) for v, label in Status.choices if v != "new"]
    PAUSED_STATUSES = ("pending", "on_hold")
    DONE_STATUSES = ("solved", "closed")
    PRIORITY_ORDER = ("low", "normal", "high", "urgent")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "status"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(  # the catch-up's scan: few rows are ever pending
                fields=["report_pending_since"],
                condition=models.Q(report_pending_since__isnull=False),
                name="ticket_report_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class Message(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", "Public reply"
        INTERNAL = "internal", "Internal note"

    class Author(models.TextChoices):
        AGENT = "agent"
        CUSTOMER = "customer"
        SYSTEM = "system"
        AI = "ai"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PUBLIC)
    author_kind = models.CharField(max_length=10, choices=Author.choices)
    author_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL)
    # Who wrote it in the agent pages or API session: an agent, or a lead or staff member
    # without an agent profile (whose name the thread must still show).
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    via = models.CharField(max_length=10, default="web")  # web, email, api, system
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    # A public reply not yet reported to the platform (see Ticket.report_pending_since).
    report_pending_since = models.DateTimeField(null=True, blank=True)
    # A reply e-mail owed to the requester and not yet taken by a send run. The run clears it
    # before handing the e-mail to the backend (at most once) and sets it again if the backend
    # refuses; followups_catch_up queues again whatever stays owed (and sets it to then).
    email_pending_since = models.DateTimeField(null=True, blank=True)
    # The one-time token of the reply form (or client request) that sent it: the same
    # submission again (a double click, the back button, a retried POST) is not stored twice.
    client_token = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "client_token"],
                condition=~models.Q(client_token=""),
                name="message_client_token_once",
            )
        ]
        indexes = [  # the catch-up's scans: few rows are ever pending
            models.Index(
                fields=["report_pending_since"],
                condition=models.Q(report_pending_since__isnull=False),
                name="message_report_pending",
            ),
            models.Index(
                fields=["email_pending_since"],
                condition=models.Q(email_pending_since__isnull=False),
                name="message_email_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_kind} {self.kind} on #{self.ticket_id}"


class Macro(models.Model):
    """A canned reply; placeholders: {requester_name}, {ticket_id}, {agent_name}, {subject}."""

    name = models.CharField(max_length=100)
    body = models.TextField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    set_status = models.CharField(max_length=10, choices=Ticket.Status.choices, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketEvent(models.Model):
    """History: who changed what, when (also merges, assignments, escalations)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=100, blank=True)  # "system", "sla", "email", username
    kind = models.CharField(max_length=30)  # created, changed, message, assigned, merged, escalated
    field = models.CharField(max_length=30, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.kind} {self.field}"
