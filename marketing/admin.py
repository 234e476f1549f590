from django.contrib import admin

from marketing import selectors
from marketing.models import (
    ABTest,
    Campaign,
    Journey,
    JourneyEnrollment,
    JourneyStep,
    OutboxMessage,
    Segment,
    SegmentSnapshot,
    Suppression,
    Variant,
)
from marketing.services import suppressions


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at", "updated_at"]
    search_fields = ["name", "description"]
    list_filter = ["created_at"]


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ["segment", "taken_at", "member_count", "truncated"]
    list_filter = ["segment", "truncated", "taken_at"]
    search_fields = ["segment__name"]
    exclude = ["members_blob"]
    readonly_fields = ["segment", "taken_at", "member_count", "truncated", "members_preview", "changes"]

    @admin.display(description="members (first 50)")
    def members_preview(self, obj) -> str:
        return ", ".join(sorted(obj.member_ids)[:50])

    @admin.display(description="since the previous snapshot")
    def changes(self, obj) -> str:
        from marketing.services.segments import snapshot_diff

        previous = selectors.snapshot_previous(snapshot=obj)
        if previous is None:
            return "first snapshot"
        change = snapshot_diff(older=previous, newer=obj)
        entered, left = ", ".join(change.entered[:50]), ", ".join(change.left[:50])
        return f"entered {len(change.entered)}: {entered or '-'} | left {len(change.left)}: {left or '-'}"

    def has_add_permission(self, request) -> bool:
        return False


class VariantInline(admin.StackedInline):
    model = Variant
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "goal",
        "channel",
        "segment",
        "status",
        "scheduled_at",
        "send_pending_since",
        "finished_at",
    ]
    list_filter = ["status", "goal", "channel", ("send_pending_since", admin.EmptyFieldListFilter)]
    search_fields = ["name", "segment__name"]
    list_select_related = ["segment"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "kind", "weight"]
    list_filter = ["kind"]
    search_fields = ["name", "campaign__name"]
    list_select_related = ["campaign"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "campaign", "variant", "status", "suppressed_reason", "send_at", "sent_at"]
    list_filter = ["status", "suppressed_reason", "campaign"]
    search_fields = ["customer_id", "email", "subject", "campaign__name"]
    # A variant prints as "<campaign> / <name>".
    list_select_related = ["campaign", "variant__campaign"]
    raw_id_fields = ["enrollment"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    show_full_result_count = False  # one row per recipient per send

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # The outbox row is what makes a send exactly-once per recipient: deleting it re-sends.
        return False


@admin.register(ABTest)
class ABTestAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "conversion_window_days", "alpha", "winner", "evaluated_at"]
    list_filter = ["evaluated_at"]
    search_fields = ["name", "campaign__name"]
    list_select_related = ["campaign", "winner__campaign"]
    readonly_fields = ["winner", "evaluated_at", "last_result"]


class VariantChoicesMixin:
    """Variant selects print "<campaign> / <name>": fetch the campaign in the same query."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "variant":
            kwargs["queryset"] = Variant.objects.select_related("campaign")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class JourneyStepInline(VariantChoicesMixin, admin.TabularInline):
    model = JourneyStep
    extra = 1
    ordering = ["position"]


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "campaign", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "segment__name", "campaign__name"]
    inlines = [JourneyStepInline]


@admin.register(JourneyStep)
class JourneyStepAdmin(VariantChoicesMixin, admin.ModelAdmin):
    list_display = ["journey", "position", "kind", "wait_days", "variant", "goto_position"]
    list_filter = ["kind"]
    search_fields = ["journey__name"]
    list_select_related = ["journey", "variant__campaign"]


@admin.register(JourneyEnrollment)
class JourneyEnrollmentAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "journey", "position", "status", "next_run_at"]
    list_filter = ["status", "journey"]
    search_fields = ["customer_id", "journey__name"]
    list_select_related = ["journey"]
    show_full_result_count = False  # one row per customer per journey


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Add an address by hand (reason manual, say); delete a row to lift it. Rows are not edited:
    an unsubscribe is a record of what the person asked."""

    list_display = ["email", "reason", "campaign", "created_at"]
    list_filter = ["reason", "created_at"]
    search_fields = ["email", "campaign__name"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign"]
    show_full_result_count = False  # can grow to one row per address ever unsubscribed

    def get_readonly_fields(self, request, obj=None):
        return ["email", "reason", "campaign", "created_at"] if obj else ["created_at"]

    def save_model(self, request, obj, form, change):
        # The same lowercase form the send path looks up; an address already listed keeps its row.
        if not change:
            obj.pk = suppressions.suppression_add(email=obj.email, reason=obj.reason, campaign=obj.campaign)[
                0
            ].pk
