"""Interactions (tickets, chats, e-mails, calls, reviews), exactly once per (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ingestion.models import Interaction
from ingestion.services.pipeline import Kind, ingest
from ingestion.services.validation import interaction_clean

_FIELDS = (
    "channel",
    "kind",
    "occurred_at",
    "status",
    "priority",
    "metadata",
    "source_updated_at",
    "ingested_at",
)


def _row(r: dict, now: datetime) -> tuple:
    return (
        r["channel"],
        r["kind"],
        r["occurred_at"],
        r["status"],
        r["priority"],
        r["metadata"],
        r["updated_at"],
        now,
    )


INTERACTIONS = Kind(
    name="interactions",
    model=Interaction,
    key_column="external_id",
    id_key="external_id",
    cleaner=interaction_clean,
    time_field="occurred_at",
    versioned=True,
    insert_fields=_FIELDS,
    row=_row,
    update_fields=tuple(f for f in _FIELDS if f != "ingested_at"),
)


def interactions_ingest(
    *, source: str, records: Sequence[dict[str, Any]], via: str = "api", audit: bool = True
):
    """Store new interactions, apply newer versions (later updated_at), skip the rest."""
    return ingest(INTERACTIONS, source=source, records=records, via=via, audit=audit)
