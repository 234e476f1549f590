from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from quimbi_site.audit import audit_actor
from quimbi_site.models import ClientApiKey


class Command(BaseCommand):
    help = "Create an API key and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", default="", help="Comma-separated scopes; empty = all.")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, name, scopes, expires_days, **options):
        expiry = timezone.now() + timedelta(days=expires_days) if expires_days else None
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
        with audit_actor("command:create_api_key"):
            _, key = ClientApiKey.objects.create_key(name=name, scopes=scope_list, expiry_date=expiry)
        self.stdout.write(key)
