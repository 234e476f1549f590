"""Record validation: plain per-record dict checks, no database access.

Each `*_clean(record)` returns `(clean, errors)`: a normalised dict ready to
store, or field errors. A record with any error is never stored.
"""

from ingestion.services.validation.fields import (
    MAX_LINES,
    MAX_METADATA_BYTES,
    MAX_PROPERTIES_BYTES,
    Unreadable,
    identity_blocked,
    parse_time,
    record_key,
)
from ingestion.services.validation.orders import order_clean
from ingestion.services.validation.records import customer_clean, event_clean, interaction_clean

__all__ = [
    "MAX_LINES",
    "MAX_METADATA_BYTES",
    "MAX_PROPERTIES_BYTES",
    "Unreadable",
    "customer_clean",
    "event_clean",
    "identity_blocked",
    "interaction_clean",
    "order_clean",
    "parse_time",
    "record_key",
]
