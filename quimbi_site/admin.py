from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from quimbi_site.audit_admin import ViewOnly
from quimbi_site.models import ClientApiKey, IdempotencyRecord

# The library's own key model: the API authenticates ClientApiKey only, so a key made on that
# screen would be refused everywhere. Its table stays (the library's migrations), unused.
admin.site.unregister(APIKey)


@admin.register(ClientApiKey)
class ClientApiKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "last_used_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ViewOnly, admin.ModelAdmin):
    """A deleted record would let a client's retry run a second time; expiry is records_purge's job."""

    list_display = ["key", "owner", "path", "status_code", "created_at", "completed_at"]
    list_filter = ["status_code", "path"]
    search_fields = ["key", "owner", "path"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]
    show_full_result_count = False  # one row per idempotent request
