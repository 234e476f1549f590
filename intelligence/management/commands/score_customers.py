from datetime import date

from django.core.management.base import BaseCommand, CommandError

from intelligence.errors import IntelligenceError
from intelligence.management.commands._arguments import as_of_checked
from intelligence.management.commands._progress import tqdm_progress
from intelligence.services import scoring


class Command(BaseCommand):
    help = "Score every customer with the active model and store their intelligence."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (exclusive)")

    def handle(self, *args, as_of=None, verbosity=1, **options):
        as_of_checked(as_of)
        with tqdm_progress(desc="score", stream=self.stderr._out, disable=verbosity < 1) as progress:
            try:
                count = scoring.customers_score_all(as_of=as_of, progress=progress)
            except IntelligenceError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"Scored {count} customers.")
