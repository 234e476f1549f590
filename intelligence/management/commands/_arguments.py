"""Checks of the arguments the ML commands share."""

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone


def as_of_checked(as_of: date | None) -> None:
    """Refuse an --as-of after today: no data exists yet for the days until then, so training,
    scoring or exporting as of that day would count them as days without an order (and scoring
    would overwrite every stored score)."""
    today = timezone.localdate()
    if as_of is not None and as_of > today:
        raise CommandError(f"--as-of {as_of} is after today ({today}).")
