"""Load the demo: data, models and application records. Safe to run twice."""

import os
from importlib import import_module

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from quimbi_site.models import ClientApiKey

DEMO_KEY_NAME = "demo"
APPS_IN_ORDER = ("ingestion", "intelligence", "generation", "support", "marketing")


class Command(BaseCommand):
    help = "Load demo data into every app, train the models, print the logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers",
            type=int,
            default=None,
            help="Generated shop size (default: $QUIMBI_DEMO_CUSTOMERS, else 2000).",
        )

    def handle(self, *args, customers, **options):
        # The apps' seeds read the size from the environment; an explicit option overrides it.
        if customers is not None:
            if customers < 1:
                raise CommandError("--customers must be at least 1.")
            os.environ["QUIMBI_DEMO_CUSTOMERS"] = str(customers)
        for app in APPS_IN_ORDER:
            self.stdout.write(self.style.MIGRATE_HEADING(f"Seeding {app}"))
            import_module(f"{app}.demo").seed(stdout=self.stdout)
        self._admin_login()
        self._demo_key()

    def _admin_login(self) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@quimbi.local"}
        )
        if created:
            user.set_password("quimbi-admin")
            user.save()
        self.stdout.write(
            self.style.SUCCESS("Admin login: admin / quimbi-admin  (http://127.0.0.1:8000/admin/)")
        )

    def _demo_key(self) -> None:
        # Keys are shown once, so each run replaces the demo key instead of adding one.
        ClientApiKey.objects.filter(name=DEMO_KEY_NAME, revoked=False).update(revoked=True)
        # The demo key may do everything the demo shows, support tickets of every team included.
        _, key = ClientApiKey.objects.create_key(name=DEMO_KEY_NAME, grants={"support_teams": "*"})
        self.stdout.write(self.style.SUCCESS(f"API key (X-API-Key): {key}"))
