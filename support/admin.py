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


class TrailReadOnly:
    """View-only screen of a history the support services append to (never edited by hand)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "routing_method", "auto_assign", "lead"]
    list_filter = ["routing_method", "auto_assign"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["lead"]


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
    show_full_result_count = False


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
    raw_id_fields = ["ticket", "author_agent", "author_user"]
    show_full_result_count = False


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "set_status", "active"]
    list_filter = ["active", "team"]
    search_fields = ["name", "body"]
    list_select_related = ["team"]


@admin.register(TicketEvent)
class TicketEventAdmin(TrailReadOnly, admin.ModelAdmin):
    list_display = ["ticket", "kind", "field", "old_value", "new_value", "actor_label", "created_at"]
    list_filter = ["kind", "field"]
    search_fields = ["=ticket__id", "actor_label", "new_value"]
    raw_id_fields = ["ticket", "actor"]
    show_full_result_count = False


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
    list_select_related = ["calendar"]


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
    show_full_result_count = False


@admin.register(SLAEvent)
class SLAEventAdmin(TrailReadOnly, admin.ModelAdmin):
    list_display = ["ticket", "metric", "kind", "at"]
    list_filter = ["kind", "metric"]
    search_fields = ["=ticket__id"]
    raw_id_fields = ["ticket", "timer"]
    show_full_result_count = False


@admin.register(AssignmentLog)
class AssignmentLogAdmin(TrailReadOnly, admin.ModelAdmin):
    list_display = ["ticket", "agent", "previous_agent", "reason", "method", "created_at"]
    list_filter = ["reason", "method"]
    search_fields = ["=ticket__id", "agent__user__username"]
    raw_id_fields = ["ticket", "agent", "previous_agent"]
    # Agents print as their username: without the joins each row costs two more queries.
    list_select_related = ["ticket", "agent__user", "previous_agent__user"]
    show_full_result_count = False
