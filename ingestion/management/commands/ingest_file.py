"""python manage.py ingest_file PATH --source NAME --format {csv,jsonl,shopify,cdnow} [--kind ...]
[--workers N]"""

import os

from django.core.management.base import BaseCommand, CommandError

from ingestion.errors import IngestionError
from ingestion.services.files import CHUNK_SIZE, FORMATS, KINDS, FileFormatError, file_ingest


class Command(BaseCommand):
    help = "Import a file of orders, interactions or events exactly once (re-importing adds nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", required=True, help="Source name, e.g. shopify or cdnow.")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--kind", default="orders", choices=KINDS)
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=CHUNK_SIZE,
            help=f"Records per chunk, each stored in its own transactions (default: {CHUNK_SIZE:,}).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar (so does -v 0)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            help="Processes ingesting chunks side by side on PostgreSQL (default: the CPU count, "
            "at most 4; SQLite always uses one).",
        )

    def handle(self, *args, path, source, format, kind, chunk_size, no_progress, workers, **options):
        from tqdm import tqdm

        fmt = format

        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        if not 1 <= chunk_size <= 100_000:
            raise CommandError("--chunk-size must be between 1 and 100000.")
        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64.")
        bar = tqdm(
            total=os.path.getsize(path),
            unit="B",
            unit_scale=True,
            desc=os.path.basename(path),
            disable=no_progress or options["verbosity"] == 0,
            file=self.stderr._out,
            mininterval=0.5,
        )
        try:
            summary = file_ingest(
                path=path,
                source=source,
                fmt=fmt,
                kind=kind,
                chunk_size=chunk_size,
                progress=bar.update,
                workers=workers,
            )
        except (FileFormatError, IngestionError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{kind} from {path} ({fmt}, source {source}): received {summary.received}, "
            f"accepted {summary.accepted}, duplicates {summary.duplicates}, "
            f"updated {summary.updated}, rejected {summary.rejected}"
        )
        for number, ext, errors in summary.errors:
            self.stdout.write(f"  record {number} ({ext or 'no id'}): {errors}")
        if summary.rejected and not (summary.accepted or summary.duplicates or summary.updated):
            # As the API answers 400 for such a batch: a script importing the wrong file must notice.
            raise CommandError(
                f"Every record was rejected and nothing was stored: is this a {fmt} file of {kind}?"
            )
