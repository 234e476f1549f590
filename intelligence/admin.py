import json

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from intelligence import selectors
from intelligence.errors import IntelligenceError
from intelligence.models import Archetype, CustomerIntelligence, ModelVersion
from intelligence.services import registry

METRIC_KEYS = (
    ("churn", "roc_auc"),
    ("churn", "pr_auc"),
    ("churn", "brier"),
    ("ltv", "spearman"),
    ("ltv", "mae"),
)


class ModelVersionListFilter(admin.RelatedFieldListFilter):
    """Filter by model version without reading every version's artefact (megabytes each)."""

    def field_choices(self, field, request, model_admin):
        versions = ModelVersion.objects.only("id", "kind", "active")
        return [(version.pk, str(version)) for version in versions]


class ScoredReadOnly:
    """View-only screen: rows written by training and batch scoring only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "label",
        "kind",
        "active",
        "as_of",
        "horizon_days",
        "trained_at",
        "churn_auc",
        "ltv_spearman",
    )
    list_filter = ("kind", "active", "as_of", "horizon_days")
    search_fields = ("id", "kind")
    actions = ("activate", "rollback")
    readonly_fields = (
        "kind",
        "active",
        "activated_at",
        "as_of",
        "horizon_days",
        "scored_as_of",
        "training_start",
        "training_end",
        "trained_at",
        "training_seconds",
        "customers_trained",
        "artifact_bytes",
        "metrics_table",
        "parameters_json",
    )
    exclude = ("metrics", "parameters")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request) -> bool:
        return False  # versions come from training

    def has_delete_permission(self, request, obj=None) -> bool:
        # The active version scores every customer: roll back or activate another one first.
        return obj is None or not obj.active

    def get_actions(self, request):
        # A bulk delete could take the active version (and its archetypes) with it.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="churn ROC AUC")
    def churn_auc(self, obj):
        return selectors.version_metrics(version=obj)["roc_auc"]

    @admin.display(description="LTV Spearman")
    def ltv_spearman(self, obj):
        return selectors.version_metrics(version=obj)["spearman"]

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        rows = [
            (kind, name, value)
            for kind, values in sorted((obj.metrics or {}).items())
            if isinstance(values, dict)
            for name, value in sorted(values.items())
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tr><th>kind</th><th>metric</th><th>value</th></tr>{}</table>", body)

    @admin.display(description="parameters")
    def parameters_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.parameters or {}, indent=2, default=str))

    @admin.action(description="Activate the selected version (one per kind)")
    def activate(self, request, queryset):
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        registry.version_activate(version=chosen[0])
        self.message_user(request, f"{chosen[0].label} is now active.")

    @admin.action(description="Roll back: activate the version before the active one of this kind")
    def rollback(self, request, queryset):
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            try:
                version = registry.version_rollback(kind=kind)
            except IntelligenceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Rolled back {kind} to {version.label}.")


@admin.register(Archetype)
class ArchetypeAdmin(ScoredReadOnly, admin.ModelAdmin):
    list_display = ("name", "key", "size", "model_version")
    list_filter = (("model_version", ModelVersionListFilter),)
    search_fields = ("name", "key")
    list_select_related = ("model_version",)
    readonly_fields = ("model_version", "key", "name", "centroid", "size")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact")


@admin.register(CustomerIntelligence)
class CustomerIntelligenceAdmin(ScoredReadOnly, admin.ModelAdmin):
    list_display = (
        "customer_id",
        "archetype",
        "risk_band",
        "churn_probability",
        "predicted_ltv",
        "value_at_risk",
        "order_count",
        "as_of",
        "model_version",
    )
    list_filter = (
        "risk_band",
        "as_of",
        "has_open_support_interaction",
        "churn_model",
        "ltv_model",
        ("model_version", ModelVersionListFilter),
    )
    search_fields = ("customer_id", "archetype")
    list_select_related = ("model_version",)
    readonly_fields = [f.name for f in CustomerIntelligence._meta.fields]
    show_full_result_count = False  # one row per customer

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact")
