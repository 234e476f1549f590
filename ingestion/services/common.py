"""Shared pieces of the write path: source names, audit rows, change signals."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from ingestion.errors import IngestionError
from ingestion.models import IngestionBatch


class InvalidSource(IngestionError):
    """The source name is missing or invalid."""

    code = "validation_error"
    http_status = 400


def source_clean(source: object) -> str:
    if not isinstance(source, str) or not source.strip() or len(source) > 64 or "\x00" in source:
        raise InvalidSource("source must be a non-empty string of at most 64 characters.")
    return source.strip()


def customers_changed_on_commit(pks: Iterable[int]) -> None:
    """Send `customers_changed` once the surrounding transaction commits."""
    ids = tuple(sorted(str(pk) for pk in set(pks)))
    if not ids:
        return
    from ingestion.interface import customers_changed

    transaction.on_commit(lambda: customers_changed.send(sender=IngestionBatch, customer_ids=ids))


def batch_record(*, source: str, kind: str, via: str, result) -> IngestionBatch:
    """One audit row per ingestion call."""
    return IngestionBatch.objects.create(
        source=source,
        kind=kind,
        via=via,
        accepted=result.accepted,
        duplicates=result.duplicates,
        updated=result.updated,
        rejected=len(result.rejected),
        finished_at=timezone.now(),
    )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is parsed and written.

    A batch allocates some hundred thousand dicts, lists and tuples that all live until it is
    written, so every collection the allocations trigger scans them and frees nothing: about a
    sixth of the write path's CPU. Nothing here makes reference cycles, and reference counting
    frees the batch as before. Nested uses leave the collector as the outermost found it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
