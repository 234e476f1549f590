from django.apps import AppConfig


class IntelligenceConfig(AppConfig):
    name = "intelligence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ingestion import interface as ingestion
        from intelligence.services import cache

        ingestion.customers_changed.connect(
            cache.on_customers_changed, dispatch_uid="intelligence-invalidate"
        )
