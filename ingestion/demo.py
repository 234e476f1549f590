"""This app's part of `manage.py seed_demo` (idempotent).

Loads the CDNOW sample (source "cdnow", through the `ingest_file` command) and
a generated shop (source "shop", `QUIMBI_DEMO_CUSTOMERS` customers, seed 42).
Both are keyed by stable external ids, so a second run stores nothing new.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

DEMO_SHOP_SOURCE = "shop"
DEMO_SHOP_SEED = 42
CDNOW_SOURCE = "cdnow"


def _cdnow_path() -> Path:
    return Path(settings.QUIMBI_SHARED_DATA) / "cdnow" / "CDNOW_sample.txt"


def seed(*, stdout) -> None:
    from ingestion.synthetic import shop_ingest

    path = _cdnow_path()
    if path.exists():
        stdout.write(f"CDNOW sample: {path}")
        call_command(
            "ingest_file",
            str(path),
            "--source",
            CDNOW_SOURCE,
            "--format",
            "cdnow",
            stdout=stdout,
            verbosity=0,
        )
    else:
        stdout.write(f"CDNOW sample not found at {path}; skipped (set QUIMBI_SHARED_DATA).")

    customers = int(os.environ.get("QUIMBI_DEMO_CUSTOMERS", "2000"))
    summary = shop_ingest(customers=customers, seed=DEMO_SHOP_SEED, source=DEMO_SHOP_SOURCE)
    new = ", ".join(
        f"{name} {t.accepted} new of {t.received}"
        for name, t in (
            ("orders", summary.orders),
            ("interactions", summary.interactions),
            ("events", summary.events),
        )
    )
    stdout.write(
        f"Generated shop '{DEMO_SHOP_SOURCE}' ({customers} customers): {new}; {summary.seconds:.1f} s."
    )
