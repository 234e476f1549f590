"""Generate a realistic synthetic shop and ingest it (idempotent for a given seed)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion.services.common import InvalidSource, source_clean
from ingestion.synthetic import DEFAULT_END_DATE, shop_ingest

# numpy refuses a negative seed; 32 bits are plenty, and the seed is part of every external id.
MAX_SEED = 2**32 - 1


class Command(BaseCommand):
    help = (
        "Build a synthetic shop (customers of several behaviour types over two years: orders, "
        "refunds, support interactions, marketing events) and ingest it. Same seed, same ids: "
        "a re-run is all duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True, help="Number of customers.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--source", default="synthetic", help="Source name the records are stored under.")
        parser.add_argument(
            "--end-date", default=DEFAULT_END_DATE.isoformat(), help="Last day of the history (YYYY-MM-DD)."
        )
        parser.add_argument("--chunk-size", type=int, default=5000, help="Records per ingest call.")
        parser.add_argument("--no-interactions", action="store_true", help="Skip support interactions.")
        parser.add_argument("--no-events", action="store_true", help="Skip marketing events.")

    def handle(
        self, *args, customers, seed, source, end_date, chunk_size, no_interactions, no_events, **options
    ):
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        if not 0 <= seed <= MAX_SEED:
            raise CommandError(f"--seed must be between 0 and {MAX_SEED}.")
        try:
            source = source_clean(source)
        except InvalidSource as exc:
            raise CommandError(f"--source: {exc}") from exc
        if not 1 <= chunk_size <= 5000:
            raise CommandError("--chunk-size must be between 1 and 5000.")
        try:
            end = date.fromisoformat(end_date)
        except ValueError as exc:
            raise CommandError(f"--end-date: {exc}") from exc
        with tqdm(
            total=customers, unit="customer", desc="generate_shop", disable=options["verbosity"] < 1
        ) as bar:
            summary = shop_ingest(
                customers=customers,
                seed=seed,
                source=source,
                end_date=end,
                chunk_size=chunk_size,
                interactions=not no_interactions,
                events=not no_events,
                progress=bar.update,
            )
        self.stdout.write(
            f"Shop '{source}' (seed {seed}, {customers} customers, ending {end}) in {summary.seconds:.1f} s:"
        )
        for name in ("orders", "interactions", "events"):
            t = getattr(summary, name)
            rate = t.received / t.seconds if t.seconds else 0.0
            self.stdout.write(
                f"  {name:<13} received {t.received:>9}  accepted {t.accepted:>9}"
                f"  duplicates {t.duplicates:>9}  updated {t.updated:>6}  rejected {t.rejected:>5}"
                f"  ({rate:,.0f} records/s ingesting)"
            )
