from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from quimbi_site.audit import audit_actor
from quimbi_site.models import SCOPES, ClientApiKey


def _grants(support_teams: str) -> dict:
    teams = list(dict.fromkeys(t.strip().lower() for t in support_teams.split(",") if t.strip()))
    if not teams:
        return {}
    return {"support_teams": "*" if "*" in teams else teams}


class Command(BaseCommand):
    help = "Create an API key and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", default="", help="Comma-separated scopes; empty = all.")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument(
            "--support-teams",
            default="",
            help='Support team slugs whose tickets the key may see, comma separated, or "*" for all '
            "(without it, the support API shows the key no tickets).",
        )

    def handle(self, *args, name, scopes, expires_days, support_teams, **options):
        name = name.strip()
        max_length = ClientApiKey._meta.get_field("name").max_length
        if not name or len(name) > max_length:
            raise CommandError(f"The name must be 1 to {max_length} characters.")
        # Checked against None: 0 days would otherwise mean a key that never expires.
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be a positive number of days.")
        try:
            expiry = timezone.now() + timedelta(days=expires_days) if expires_days else None
        except OverflowError as exc:
            raise CommandError("--expires-days is too large.") from exc
        # Scope checks are exact and case-sensitive: store only known scopes, in their spelling.
        scope_list = list(dict.fromkeys(s.strip().lower() for s in scopes.split(",") if s.strip()))
        if unknown := [s for s in scope_list if s not in SCOPES]:
            raise CommandError(
                f"Unknown scope(s): {', '.join(unknown)}. Valid scopes: {', '.join(sorted(SCOPES))}."
            )
        with audit_actor("command:create_api_key"):
            _, key = ClientApiKey.objects.create_key(
                name=name, scopes=scope_list, expiry_date=expiry, grants=_grants(support_teams)
            )
        self.stdout.write(key)
