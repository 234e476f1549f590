from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from quimbi_site.audit import PRUNE_BATCH, audit_actor, audit_events_prune


class Command(BaseCommand):
    help = "Delete audit events older than the retention (QUIMBI_AUDIT_RETENTION_DAYS) and print how many."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="Retention in days (default: QUIMBI_AUDIT_RETENTION_DAYS)."
        )
        parser.add_argument("--batch-size", type=int, default=PRUNE_BATCH, help="Rows per DELETE.")

    def handle(self, *args, days, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            with audit_actor("command:prune_audit"):
                removed = audit_events_prune(older_than_days=days, batch_size=batch_size)
        except ValueError as exc:  # the service refuses a retention under one day
            raise CommandError(str(exc)) from exc
        days = settings.QUIMBI_AUDIT_RETENTION_DAYS if days is None else days
        self.stdout.write(f"Removed {removed} audit events older than {days} days.")
