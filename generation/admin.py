from django.contrib import admin

from generation.models import GenerationLog, TokenUsage


class WrittenByGeneration:
    """View-only screen: the record of what was generated, for whom, at what cost, and the
    counters the daily token budget is read from (a hand-made, edited or deleted row would hand
    a requester budget it has already spent)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GenerationLog)
class GenerationLogAdmin(WrittenByGeneration, admin.ModelAdmin):
    list_display = [
        "created_at",
        "operation",
        "backend",
        "model",
        "outcome",
        "fallback_reason",
        "goal",
        "channel",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "requester",
    ]
    list_filter = ["operation", "backend", "outcome", "fallback_reason", "channel", "goal", "created_at"]
    search_fields = ["customer_id", "requester", "prompt_hash", "model"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in GenerationLog._meta.fields]
    show_full_result_count = False  # one row per generation


@admin.register(TokenUsage)
class TokenUsageAdmin(WrittenByGeneration, admin.ModelAdmin):
    list_display = ["day", "requester", "requests", "input_tokens", "output_tokens", "updated_at"]
    list_filter = ["day"]
    search_fields = ["requester"]
    date_hierarchy = "day"
    readonly_fields = ["requester", "day", "requests", "input_tokens", "output_tokens", "updated_at"]
