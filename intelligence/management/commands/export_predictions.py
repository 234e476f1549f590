import os
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from intelligence.errors import IntelligenceError
from intelligence.management.commands._arguments import as_of_checked
from intelligence.management.commands._progress import tqdm_progress
from intelligence.services import export


class Command(BaseCommand):
    help = (
        "Write one CSV row per external customer ref: source,external_id,customer_id,churn_probability,"
        "predicted_spend,predicted_orders,archetype. Scores on the fly when --as-of/--horizon-days differ "
        "from the stored scores."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (exclusive)")
        parser.add_argument("--horizon-days", type=int, default=None)

    def handle(self, *args, out, as_of=None, horizon_days=None, verbosity=1, **options):
        # Checked before scoring, which can take minutes, rather than when the file is opened.
        as_of_checked(as_of)
        if not out or out.endswith(os.sep) or os.path.isdir(out):
            raise CommandError(f"--out must name a file, not a directory: {out!r}")
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):
            raise CommandError(f"--out: no such directory: {folder}")
        if not os.access(folder, os.W_OK):
            raise CommandError(f"--out: cannot write to the directory {folder}")
        with tqdm_progress(desc="export", stream=self.stderr._out, disable=verbosity < 1) as progress:
            try:
                count = export.predictions_export(
                    path=out, as_of=as_of, horizon_days=horizon_days, progress=progress
                )
            except IntelligenceError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {count} rows to {out}.")
