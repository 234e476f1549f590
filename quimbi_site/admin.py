from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from quimbi_site.models import ClientApiKey, IdempotencyRecord


@admin.register(ClientApiKey)
class ClientApiKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "last_used_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "owner", "path", "status_code", "created_at", "completed_at"]
    list_filter = ["status_code", "path"]
    search_fields = ["key", "owner", "path"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
