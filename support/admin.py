"""Admin screens for every support model (searchable, filterable)."""

from django.contrib import admin

from support.models import (
    Agent,
    AssignmentLog,
    BusinessCalendar,
    Macro,
    Message,
    SLAEvent,
    SLAPolicy,
    SLATimer,
    Team,
    Ticket,
    TicketEvent,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "routing_method", "auto_assign", "lead"]
    list_filter = ["routing_method", "auto_assign"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "capacity", "last_assigned_at"]
    list_filter = ["status", "teams"]
    search_fields = ["user__username", "user__email"]
    filter_horizontal = ["teams"]
    list_select_related = ["user"]


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["created_at", "kind", "author_kind", "author_agent", "via", "body"]
    readonly_fields = fields


class SLATimerInline(admin.TabularInline):
    model = SLATimer
    extra = 0
    fields = ["metric", "target_minutes", "started_at", "due_at", "paused_at", "fulfilled_at", "breached_at"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "status",
        "priority",
        "team",
        "assignee",
        "value_at_risk",
        "sla_due_at",
        "created_at",
    ]
    list_filter = [
        "status",
        "priority",
        "channel",
        "team",
        "churn_band",
        ("report_pending_since", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=id", "subject", "customer_id", "requester_email", "requester_name"]
    list_select_related = ["team", "assignee__user"]
    raw_id_fields = ["assignee", "merged_into", "follow_up_of"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, SLATimerInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "kind", "author_kind", "via", "created_at", "email_pending_since"]
    list_filter = [
        "kind",
        "author_kind",
        "via",
        ("email_pending_since", admin.EmptyFieldListFilter),
        ("report_pending_since", admin.EmptyFieldListFilter),
    ]
    search_fields = ["body", "email_message_id", "=ticket__id"]
    raw_id_fields = ["ticket", "author_agent"]


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "set_status", "active"]
    list_filter = ["active", "team"]
    search_fields = ["name", "body"]


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "field", "old_value", "new_value", "actor_label", "created_at"]
    list_filter = ["kind", "field"]
    search_fields = ["=ticket__id", "actor_label", "new_value"]
    raw_id_fields = ["ticket", "actor"]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "holiday_country"]
    list_filter = ["timezone", "holiday_country"]
    search_fields = ["name"]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ["position", "name", "active", "calendar", "warn_share"]
    list_display_links = ["name"]
    list_filter = ["active", "calendar"]
    search_fields = ["name"]
    ordering = ["position", "id"]


@admin.register(SLATimer)
class SLATimerAdmin(admin.ModelAdmin):
    list_display = [
        "ticket",
        "metric",
        "target_minutes",
        "due_at",
        "paused_at",
        "fulfilled_at",
        "breached_at",
    ]
    list_filter = [
        "metric",
        ("breached_at", admin.EmptyFieldListFilter),
        ("fulfilled_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=ticket__id"]
    raw_id_fields = ["ticket"]


@admin.register(SLAEvent)
class SLAEventAdmin(admin.ModelAdmin):
    list_display = ["ticket", "metric", "kind", "at"]
    list_filter = ["kind", "metric"]
    search_fields = ["=ticket__id"]
    raw_id_fields = ["ticket", "timer"]


@admin.register(AssignmentLog)
class AssignmentLogAdmin(admin.ModelAdmin):
    list_display = ["ticket", "agent", "previous_agent", "reason", "method", "created_at"]
    list_filter = ["reason", "method"]
    search_fields = ["=ticket__id", "agent__user__username"]
    raw_id_fields = ["ticket", "agent", "previous_agent"]
