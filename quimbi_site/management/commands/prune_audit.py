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
        days = settings.QUIMBI_AUDIT_RETENTION_DAYS if days is None else days
        if days < 1 or batch_size < 1:
            raise CommandError("--days and --batch-size must be at least 1.")
        with audit_actor("command:prune_audit"):
            removed = audit_events_prune(older_than_days=days, batch_size=batch_size)
        self.stdout.write(f"Removed {removed} audit events older than {days} days.")
