"""Read-only admin screen of the audit log (registered by QuimbiSiteConfig.ready)."""

from django.contrib import admin

from quimbi_site.audit_models import AuditEvent


class ViewOnly:
    """View-only screen: rows only the site's own code writes (audit events, idempotency records)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditEventAdmin(ViewOnly, admin.ModelAdmin):
    list_display = ["occurred_at", "actor", "action", "target", "outcome", "ip"]
    list_filter = ["action", "outcome", "occurred_at"]
    search_fields = ["actor", "action", "target", "ip"]
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    show_full_result_count = False


def register(site: admin.AdminSite = admin.site) -> None:
    if not site.is_registered(AuditEvent):
        site.register(AuditEvent, AuditEventAdmin)
