from django.apps import AppConfig


class QuimbiSiteConfig(AppConfig):
    name = "quimbi_site"
    verbose_name = "Quimbi site"
