"""File import: read csv / jsonl / shopify / cdnow files as record streams and ingest them in chunks.

Ids a file does not carry are derived deterministically from the row, so
importing the same file again finds every record and writes nothing.

On PostgreSQL, outside a transaction, `workers` processes ingest chunks side by
side, each chunk through the same exactly-once path as one writer (`pipeline`:
its customers, then its records, each step a transaction; unique constraints;
retried alone after a lost race).
This process reads the file (and for JSON lines hands the raw lines over, so
parsing and validation run in the workers too; JSON-lines orders are read as
columns there, see `order_columns`). One difference with a single
writer: two versions of a record with the same `updated_at` (or none) in
different chunks are settled by which chunk commits first, not by file order.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import json
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from django.utils import timezone

from ingestion.models import IngestionBatch
from ingestion.services.validation import Unreadable

FORMATS = ("csv", "jsonl", "shopify", "cdnow")
KINDS = ("orders", "interactions", "events")
# Records per chunk. Each chunk has fixed costs (its transactions and their commits, a sample
# look-up, the columnar checks' set-up): importing 1,000,000 orders in chunks of 5,000 took
# 7% and 33% longer than in chunks of 20,000 (two runs each). A chunk of JSON-lines orders read as
# columns takes about 15 MB.
CHUNK_SIZE = 20_000


class FileFormatError(ValueError):
    """The file does not match its declared format."""


@dataclass
class FileSummary:
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[tuple[int, str | None, dict]] = field(
        default_factory=list
    )  # first few (record #, id, errors)
    batch_id: int | None = None

    @property
    def received(self) -> int:
        return self.accepted + self.duplicates + self.updated + self.rejected


@dataclass
class _ChunkResult:
    """What one chunk's ingest sends back (from a worker process: small and picklable)."""

    records: int
    accepted: int
    duplicates: int
    updated: int
    rejected: int
    errors: list[tuple[int, str | None, dict]]  # first few (index in chunk, id, errors)


def file_ingest(
    *,
    path: str,
    source: str,
    fmt: str,
    kind: str = "orders",
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    max_errors: int = 10,
    workers: int = 1,
) -> FileSummary:
    """Stream `path` in chunks through the exactly-once write path; `progress(n_bytes)` is
    called as lines are read.

    `workers` > 1 ingests chunks in that many processes (PostgreSQL, outside a transaction;
    elsewhere the file is ingested here, chunk after chunk).
    """
    from ingestion.services.common import source_clean

    source = source_clean(source)
    if fmt not in FORMATS or kind not in KINDS:
        raise FileFormatError(f"Unknown format {fmt!r} or kind {kind!r}.")
    if fmt in ("csv", "cdnow", "shopify") and kind != "orders":
        raise FileFormatError(f"The {fmt} format holds orders only.")
    batch = IngestionBatch.objects.create(source=source, kind=kind, via="file")
    summary = FileSummary(batch_id=batch.pk)
    # JSON lines are parsed where they are ingested; the other readers keep state across the
    # file (ids derived from repeated rows), so they run here.
    raw = fmt == "jsonl"
    if raw and kind == "orders":
        # Imported here, before the workers fork, rather than once in each of them (pyarrow
        # takes a few hundred milliseconds to load).
        from ingestion.services import order_columns  # noqa: F401
    job = partial(_chunk_ingest, kind, source, raw, max_errors)
    offset = 0
    error = ""
    try:
        with open(path, "rb") as fh:
            if raw:
                chunks = _line_blocks(fh, chunk_size, progress)
            else:
                chunks = _chunks(READERS[fmt](_lines(fh, progress)), chunk_size)
            results = _parallel(job, chunks, workers) if _parallel_ok(workers) else map(job, chunks)
            for result in results:
                summary.accepted += result.accepted
                summary.duplicates += result.duplicates
                summary.updated += result.updated
                summary.rejected += result.rejected
                for index, external_id, errors in result.errors[: max(0, max_errors - len(summary.errors))]:
                    summary.errors.append((offset + index + 1, external_id, errors))
                offset += result.records
    except FileFormatError as exc:
        # The chunks before the bad spot are stored (each exactly once): say so, and that
        # importing the mended file again finds them rather than storing them twice.
        error = (
            f"{exc} Stopped there; the {summary.received:,} records before it were processed"
            f" (accepted {summary.accepted}, duplicates {summary.duplicates}, updated {summary.updated},"
            f" rejected {summary.rejected}). Importing the corrected file again stores only what is missing."
        )
        raise FileFormatError(error) from None
    except BaseException as exc:
        error = f"Stopped early by {type(exc).__name__}: {exc}"
        raise
    finally:
        if summary.accepted or summary.updated:
            statistics_refresh(kind, workers=workers)
        IngestionBatch.objects.filter(pk=batch.pk).update(
            accepted=summary.accepted,
            duplicates=summary.duplicates,
            updated=summary.updated,
            rejected=summary.rejected,
            error=error[:2000],
            finished_at=timezone.now(),
        )
    return summary


def statistics_refresh(*kinds: str, workers: int = 1) -> None:
    """Fresh planner statistics for the tables of these record kinds (all when none), after a
    bulk load. With `workers` > 1 (PostgreSQL, outside a transaction), that many tables at a
    time, each on a connection of its own: ANALYZE of a table keeps one CPU busy, and for
    a million orders the four tables took about 3 s, near a tenth of the import."""
    from concurrent.futures import ThreadPoolExecutor

    from ingestion.models import Customer, Event, ExternalRef, Interaction, Order, OrderLine
    from ingestion.services import _db

    tables = {"orders": [Order, OrderLine], "interactions": [Interaction], "events": [Event]}
    todo = [m for k in kinds or tables for m in tables[k]] + [Customer, ExternalRef]
    if not _parallel_ok(workers):
        _db.statistics_refresh(todo)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_analyze_alone, todo))


def _analyze_alone(model) -> None:
    """ANALYZE one table on this thread's own connection (closed after)."""
    from django.db import connections

    from ingestion.services import _db

    try:
        _db.statistics_refresh([model])
    finally:
        connections.close_all()


def writer(kind: str):
    """The batch writer of a record kind ("orders", "interactions", "events"); KeyError otherwise."""
    from ingestion.services import events, interactions, orders

    return {
        "orders": orders.orders_ingest,
        "interactions": interactions.interactions_ingest,
        "events": events.events_ingest,
    }[kind]


def _chunk_ingest(kind: str, source: str, raw: bool, max_errors: int, chunk: list | bytes) -> _ChunkResult:
    from ingestion.services.common import collector_paused

    if raw:
        chunk = _block_lines(chunk)
    with collector_paused():
        if raw and kind == "orders":
            from ingestion.services.order_columns import orders_chunk_ingest

            result = orders_chunk_ingest(source=source, lines=chunk)
            n = sum(1 for line in chunk if line.strip())
        else:
            records = list(read_jsonl(chunk)) if raw else chunk
            result = writer(kind)(source=source, records=records, via="file", audit=False)
            n = len(records)
    return _ChunkResult(
        records=n,
        accepted=result.accepted,
        duplicates=result.duplicates,
        updated=result.updated,
        rejected=len(result.rejected),
        errors=[(e.index, e.external_id, e.errors) for e in result.rejected[:max_errors]],
    )


def _parallel_ok(workers: int) -> bool:
    from django.db import connection

    from ingestion.services import _db

    # SQLite runs one writer at a time; inside a transaction the caller expects the whole
    # import to be part of it, which other processes' connections cannot be.
    return workers > 1 and _db.on_postgres() and not connection.in_atomic_block


def _parallel(job: Callable[[list], _ChunkResult], chunks: Iterable[list], workers: int):
    """`map(job, chunks)` in `workers` forked processes, in order, with a bounded number of chunks
    in flight (the file is never read far ahead of the writers)."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # a forked worker must not share this process's connection
    with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) as pool:
        pending: deque = deque()
        try:
            for chunk in chunks:
                pending.append(pool.apply_async(job, (chunk,)))
                if len(pending) > 2 * workers:
                    yield pending.popleft().get()
        except FileFormatError:
            # The file is malformed further on: the chunks before that spot still finish and are
            # counted, so the summary says exactly what was stored.
            while pending:
                yield pending.popleft().get()
            raise
        while pending:
            yield pending.popleft().get()
        pool.close()  # let the workers finish (and close their connections) rather than kill them
        pool.join()


def _worker_init() -> None:
    from multiprocessing.util import Finalize

    from django.db import connections

    Finalize(None, connections.close_all, exitpriority=10)  # a clean goodbye to PostgreSQL


def _lines(fh: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
    first = True
    for raw in fh:
        if progress is not None:
            progress(len(raw))
        if first:
            # Spreadsheet and Windows exports often start with a UTF-8 byte-order mark: it is
            # not part of the first header name, id or JSON value.
            raw = raw.removeprefix(codecs.BOM_UTF8)
            first = False
        yield raw


def _line_blocks(fh: IO[bytes], size: int, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    """The file's lines, `size` at a time, each batch as one bytes object (`_block_lines` splits
    it again). A worker process gets one string to copy rather than `size` objects to pickle,
    which cost this process more CPU than reading the lines."""
    first = True
    while lines := list(itertools.islice(fh, size)):
        block = b"".join(lines)
        if progress is not None:
            progress(len(block))
        if first:
            block = block.removeprefix(codecs.BOM_UTF8)  # see _lines
            first = False
        yield block


def _block_lines(block: bytes) -> list[bytes]:
    """The lines of a `_line_blocks` block, without their line ends."""
    lines = block.split(b"\n")
    if lines[-1] == b"":  # the block ended with a line end
        lines.pop()
    return lines


def _text(lines: Iterable[bytes]) -> Iterator[str]:
    for number, raw in enumerate(lines, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            # Replacing the bytes would store "Jos\ufffd" for José, and merge people whose names
            # differ only there: refuse the file instead.
            raise FileFormatError(
                f"Line {number} is not UTF-8 text (the file seems to use another encoding);"
                " save it as UTF-8 and import it again."
            ) from None


def _json_loads():
    try:
        import orjson  # about 4x faster than json on order records

        return orjson.loads, orjson.JSONDecodeError
    except ImportError:  # pragma: no cover - orjson is in requirements.txt
        return json.loads, ValueError


def _chunks(records: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_jsonl(lines: Iterable[bytes]) -> Iterator[Any]:
    loads, error = _json_loads()
    for line in lines:
        if line.strip():
            try:
                yield loads(line)
            except (error, ValueError):
                yield Unreadable("Not valid JSON (one record per line).")  # rejected, counted


def _csv_date(value: str) -> str:
    value = value.strip()
    if len(value) == 8 and value.isdigit():  # YYYYMMDD
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


_CSV_DELIMITERS = (",", ";", "\t", "|")  # "," first: it wins a tie


def read_csv(lines: Iterable[bytes]) -> Iterator[dict]:
    """Comma-separated, or whichever of `;`, tab and `|` the header line uses most (spreadsheets
    in many locales export with semicolons)."""
    text = _text(lines)
    first = next(text, "")
    delimiter = max(_CSV_DELIMITERS, key=first.count)
    # Strict: a quote left open would otherwise swallow every row after it into one field.
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=True)
    header = [h.strip().lower() for h in next(reader, [])]
    if not (
        {"customer_id", "email"} & set(header) and "amount" in header and {"date", "ordered_at"} & set(header)
    ):
        raise FileFormatError(
            "The CSV header needs customer_id (or email), amount and date (or ordered_at);"
            f" found: {', '.join(header)[:200] or 'nothing'}."
        )
    seen: Counter[str] = Counter()
    for row in _csv_rows(reader):
        if not any(v.strip() for v in row):  # blank, or only separators (spreadsheets add them)
            continue
        values = dict(zip(header, (v.strip() for v in row), strict=False))
        record = {
            "customer_id": values.get("customer_id") or None,
            "email": values.get("email") or None,
            "placed_at": _csv_date(values.get("date") or values.get("ordered_at") or ""),
            "total": values.get("amount", ""),
            "currency": values.get("currency") or None,
        }
        quantity = values.get("quantity")
        if quantity:
            record["item_count"] = quantity
        for column in ("status", "updated_at"):  # a corrected export carries a later updated_at
            if values.get(column):
                record[column] = values[column]
        order_id = values.get("order_id")
        if not order_id:
            key = "\x1f".join(
                str(record.get(k) or "")
                for k in ("customer_id", "email", "placed_at", "total", "currency", "item_count")
            )
            digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:20]
            seen[digest] += 1
            order_id = f"csv-{digest}-{seen[digest]}"
        record["external_id"] = order_id
        yield record


def _csv_rows(reader) -> Iterator[list[str]]:
    """The reader's rows; a malformed one stops the file with the line it starts on."""
    rows = iter(reader)
    while True:
        start = reader.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(
                f"The CSV row starting on line {start} is malformed ({exc}; a quote left open?)."
            ) from None
        yield row


def read_cdnow(lines: Iterable[bytes]) -> Iterator[dict]:
    """CDNOW master (id date qty dollars) or sample (original_id sample_id date qty dollars) lines.

    One order per line; its id is customer + date + the line's position within that customer-day.
    """
    per_day: Counter[tuple[str, str]] = Counter()
    for number, line in enumerate(_text(lines), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 5:
            customer, _, date, qty, dollars = parts
        elif len(parts) == 4:
            customer, date, qty, dollars = parts
        else:
            yield Unreadable(
                f"Line {number}: expected 4 columns (id date quantity dollars) or 5 (id sample_id date"
                " quantity dollars)."
            )
            continue
        per_day[customer, date] += 1
        yield {
            "external_id": f"{customer}-{date}-{per_day[customer, date]}",
            "customer_id": customer,
            "placed_at": _csv_date(date),
            "total": dollars,
            "item_count": qty,
        }


def read_shopify(lines: Iterable[bytes]) -> Iterator[dict]:
    """Shopify's order JSON, one record per order; test orders are skipped (`is_test_order`)."""
    from ingestion.shopify import is_test_order, order_record_from_payload

    try:
        doc = json.loads(b"".join(lines))
    except ValueError as exc:
        raise FileFormatError(f"Not a JSON document: {exc}") from None
    if isinstance(doc, dict):
        payloads = doc.get("orders") if "orders" in doc else [doc.get("order", doc)]
    else:
        payloads = doc
    if not isinstance(payloads, list):
        raise FileFormatError('Expected {"orders": [...]}, {"order": {...}} or a list of orders.')
    for payload in payloads:
        if not isinstance(payload, dict):
            yield payload  # rejected by validation, counted
        elif not is_test_order(payload):
            yield order_record_from_payload(payload)


READERS: dict[str, Callable[[Iterable[bytes]], Iterator[Any]]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "shopify": read_shopify,
    "cdnow": read_cdnow,
}
