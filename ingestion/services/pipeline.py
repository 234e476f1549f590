"""The exactly-once write path shared by orders, interactions and events.

Per batch: read each record's key and version cheaply, fetch the existing
keys and versions in ONE query, count the known-and-not-newer records as
duplicates (they are not validated further: nothing of them is written), fully
validate the rest, fold duplicates inside the batch (the newest `updated_at`
wins, ties keep the first), then resolve identities and write only what is
new (bulk insert / COPY) or newer (bulk update). A re-sent batch costs one
look-up and writes nothing. The unique constraints are the last guard: a conflict with a
concurrent writer (or a deadlock with one) rolls the batch back and it is classified again,
that time alone: see `_db.writers_lock`. Two writers meeting the same new customer, the
common race, is settled inside the identity step instead (`identity.customers_resolve`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ingestion.interface import RecordError
from ingestion.services import _db, identity
from ingestion.services.common import (
    batch_record,
    collector_paused,
    customers_changed_on_commit,
    source_clean,
)
from ingestion.services.validation import record_key

_ATTEMPTS = 4


@dataclass(frozen=True)
class Kind:
    name: str  # orders / interactions / events
    model: type[models.Model]
    key_column: str  # the model's per-source unique id column
    id_key: str  # the record's id field, for error reports
    cleaner: Callable[[Any], tuple[dict | None, dict]]
    time_field: str  # drives customers' first/last seen
    versioned: bool  # a later `updated_at` replaces the stored row
    insert_fields: tuple[str, ...]  # columns after source, key and customer_id
    row: Callable[[dict, datetime], tuple]  # values for insert_fields
    update_fields: tuple[str, ...] = ()  # attnames rewritten on a newer version
    stamp_fields: tuple[str, ...] = ()  # columns set to the batch's time (after insert_fields)
    after_insert: Callable[[list[int], list[dict]], None] | None = None
    after_update: Callable[[list[int], list[dict]], None] | None = None


@dataclass
class _Counts:
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: list[RecordError] = field(default_factory=list)


def ingest(kind: Kind, *, source: str, records: Sequence[Any], via: str = "api", audit: bool = True):
    """Validate and store `records` exactly once; returns IngestResult."""
    from ingestion.interface import IngestResult

    source = source_clean(source)
    with collector_paused():
        counts, changed = _write_retried(kind, source, records)
    result = IngestResult(
        accepted=counts.accepted,
        duplicates=counts.duplicates,
        updated=counts.updated,
        rejected=tuple(counts.rejected),
        customer_ids=tuple(sorted(str(pk) for pk in changed)),
    )
    if audit:
        batch_record(source=source, kind=kind.name, via=via, result=result)
    customers_changed_on_commit(changed)
    return result


def _write_retried(kind: Kind, source: str, records: Sequence[Any]) -> tuple[_Counts, set[int]]:
    cleaned: dict[int, tuple] = {}  # validation results, kept across retries
    # A concurrent writer got there first: the batch runs again, alone.
    return _db.conflict_retried(
        lambda n: _write(kind, source, records, cleaned, alone=n > 0), attempts=_ATTEMPTS
    )


def _write(
    kind: Kind, source: str, records: Sequence[Any], cleaned: dict[int, tuple], *, alone: bool
) -> tuple[_Counts, set[int]]:
    """Classify the batch and resolve its customers, then store it.

    Writers run side by side. The customers are committed first, in a transaction of their own
    (when no outer transaction holds this one): writers that meet the same people wait for each
    other that long, not for each other's whole batch. A customer whose batch then fails keeps
    existing, with no records; sending the batch again finds it. A batch that lost a race
    (`alone`) runs in one transaction holding the writers' lock exclusively.
    """
    with transaction.atomic():
        _db.writers_lock(exclusive=alone)
        counts, new, upd, platform_map = _classify(kind, source, records, cleaned)
        if not new and not upd:
            return counts, set()
        todo = new + [rec for _, _, rec in upd]
        res = identity.customers_resolve(
            source=source,
            identities=[(r["customer_id"], r["email"], r["platform_customer_id"]) for r in todo],
            seen=[r[kind.time_field] for r in todo],
            platform_map=platform_map,
        )
        if alone:
            pks = _store(kind, source, new, upd, res.customer_pks)
    if not alone:
        with transaction.atomic():
            _db.writers_lock(exclusive=False)
            pks = _store(kind, source, new, upd, res.customer_pks)
    counts.accepted = len(new)
    counts.updated += len(upd)
    return counts, set(pks) | res.changed | {old for _, old, _ in upd}


def _newer(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


def _classify(
    kind: Kind, source: str, records: Sequence[Any], cleaned: dict[int, tuple]
) -> tuple[_Counts, list[dict], list[tuple[int, int, dict]], dict[int, int]]:
    """`(counts, new records, [(row id, old customer pk, record)] to update, the batch's known
    platform customers)`; duplicates and rejected records are counted, not returned."""
    counts = _Counts()
    quick = [record_key(rec, kind.id_key, kind.versioned) for rec in records]
    columns = ("id", "customer_id", "source_updated_at") if kind.versioned else ("id",)
    existing = _db.rows_by_key(
        kind.model,
        source=source,
        key=kind.key_column,
        keys=list({k for k, _, _ in quick if k is not None}),
        columns=columns,
    )
    latest: dict[str, dict] = {}
    where: dict[str, int] = {}  # key -> index of the version kept, for errors found later
    folded: dict[str, int] = {}  # key -> earlier versions in the batch a newer one replaced
    for index, (key, version, ok) in enumerate(quick):
        row = existing.get(key) if key is not None else None
        if row is not None and ok and not (kind.versioned and _newer(version, row[2])):
            counts.duplicates += 1  # known and not newer: nothing to check or write
            continue
        if index not in cleaned:
            cleaned[index] = kind.cleaner(records[index])
        rec, errors = cleaned[index]
        if rec is None:
            counts.rejected.append(RecordError(index=index, external_id=key, errors=errors))
            continue
        prev = latest.get(key)
        if prev is None:
            latest[key] = rec
            where[key] = index
        elif kind.versioned and _newer(rec["updated_at"], prev["updated_at"]):
            # A newer version of a record earlier in the batch replaces it before anything is
            # written, and counts as an update: the counts are those of sending the records one
            # batch at a time, whatever the batch size.
            latest[key] = rec
            where[key] = index
            folded[key] = folded.get(key, 0) + 1
        else:  # the same version again, or an older one: ties keep the first
            counts.duplicates += 1
    platform_map = identity.platform_customers({r["platform_customer_id"] for r in latest.values()} - {None})
    known_platform = {None, *platform_map}
    for key in [k for k, r in latest.items() if r["platform_customer_id"] not in known_platform]:
        del latest[key]
        counts.duplicates += folded.pop(key, 0)  # the versions it replaced are not stored either
        counts.rejected.append(
            RecordError(
                index=where[key], external_id=key, errors={"platform_customer_id": ["No such customer."]}
            )
        )
    counts.rejected.sort(key=lambda e: e.index)  # errors found in the second pass join the others
    counts.updated = sum(folded.values())
    new: list[dict] = []
    upd: list[tuple[int, int, dict]] = []
    for key, rec in latest.items():
        row = existing.get(key)
        if row is None:
            new.append(rec)
        else:
            upd.append((row[0], row[1], rec))
    return counts, new, upd, platform_map


def _store(
    kind: Kind, source: str, new: list[dict], upd: list[tuple[int, int, dict]], pks: list[int]
) -> list[int]:
    """Insert the new records and apply the newer versions, with their customers' pks (in order);
    returns the pks used: a customer merged since it was resolved gives way to its survivor."""
    pks = identity.customers_held(pks)
    _insert(kind, source, new, pks[: len(new)])
    if upd:
        _update(kind, upd, pks[len(new) :])
    return pks


def _insert(kind: Kind, source: str, new: list[dict], pks: list[int]) -> None:
    if not new:
        return
    now = timezone.now()
    row = kind.row
    rows = [(r["external_id"], pk, *row(r, now)) for r, pk in zip(new, pks, strict=True)]
    ids = _db.insert_rows(
        kind.model,
        (kind.key_column, "customer_id", *kind.insert_fields),
        rows,
        constants={"source": source, **dict.fromkeys(kind.stamp_fields, now)},
    )
    if kind.after_insert is not None:
        kind.after_insert(ids, new)


def _update(kind: Kind, upd: list[tuple[int, int, dict]], pks: list[int]) -> None:
    now = timezone.now()
    objs = []
    for (row_id, _, rec), pk in zip(upd, pks, strict=True):
        values = dict(zip(kind.insert_fields, kind.row(rec, now), strict=True))
        values.update(dict.fromkeys(kind.stamp_fields, now))
        obj = kind.model(pk=row_id, customer_id=pk, **{f: values[f] for f in kind.update_fields})
        objs.append(obj)
    kind.model.objects.bulk_update(objs, ["customer_id", *kind.update_fields], batch_size=500)
    if kind.after_update is not None:
        kind.after_update([row_id for row_id, _, _ in upd], [rec for _, _, rec in upd])
