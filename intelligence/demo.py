"""This app's part of `manage.py seed_demo` (idempotent): train and score on the demo data."""

import time

from django.core.management import call_command


def seed(*, stdout) -> None:
    from intelligence.services import frames, registry

    started = time.perf_counter()
    as_of = frames.default_as_of()
    active = registry.active_version_get()
    if active is None or active.as_of != as_of:
        call_command("train_models", "--as-of", as_of.isoformat(), stdout=stdout, verbosity=0)
        active = registry.active_version_get()
    else:
        stdout.write(f"Intelligence: {active.label} already trained as of {as_of}; not retrained.")
    if active is not None and active.scored_as_of != as_of:
        call_command("score_customers", "--as-of", as_of.isoformat(), stdout=stdout, verbosity=0)
    stdout.write(f"Intelligence ready in {time.perf_counter() - started:.1f} s.")
