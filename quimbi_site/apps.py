from django.apps import AppConfig


class QuimbiSiteConfig(AppConfig):
    name = "quimbi_site"
    verbose_name = "Quimbi site"

    def ready(self) -> None:
        from quimbi_site import audit_admin, audit_receivers  # noqa: F401  (connects the audit receivers)

        audit_admin.register()

        from quimbi_site.api.strict import install_strict_strings

        install_strict_strings()
