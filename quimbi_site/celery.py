"""The Celery application (cookiecutter-django wiring)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_site.settings")

app = Celery("quimbi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
