"""python manage.py ingest_email FILE|-   (one RFC 822 message)"""

import sys

from django.core.management.base import BaseCommand, CommandError

from support.errors import NotAnEmail
from support.services import email_inbound


class Command(BaseCommand):
    help = "Create a ticket from an RFC 822 e-mail, or thread it into an existing one."

    def add_arguments(self, parser):
        parser.add_argument("path", help="file with one RFC 822 message, or - for stdin")

    def handle(self, *args, path, **options):
        try:
            raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            ticket, message, created = email_inbound.email_ingest(raw=raw)
        except NotAnEmail as exc:
            raise CommandError(f"{path}: {exc}") from exc
        verb = "created" if created else "threaded into"
        self.stdout.write(f"{verb} ticket #{ticket.pk} (message {message.pk})")
