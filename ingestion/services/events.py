"""Tracked events, deduplicated on (source, message_id) forever."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ingestion.models import Event
from ingestion.services.pipeline import Kind, ingest
from ingestion.services.validation import event_clean


def _row(r: dict, now: datetime) -> tuple:
    return (r["name"], r["occurred_at"], r["properties"], now)


EVENTS = Kind(
    name="events",
    model=Event,
    key_column="message_id",
    id_key="message_id",
    cleaner=event_clean,
    time_field="occurred_at",
    versioned=False,
    insert_fields=("name", "occurred_at", "properties", "ingested_at"),
    row=_row,
)


def events_ingest(*, source: str, records: Sequence[dict[str, Any]], via: str = "api", audit: bool = True):
    """Store events not seen before; a known message_id is a duplicate, whatever its age."""
    return ingest(EVENTS, source=source, records=records, via=via, audit=audit)
