"""Bulk database helpers: key look-ups and inserts that stay fast at 1M rows.

On PostgreSQL new rows go in with psycopg 3 `COPY` after their ids are taken
from the table's sequence in one query; elsewhere `bulk_create` is used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, models

T = TypeVar("T")
_SQLITE_PARAMS = 30_000  # below SQLite's 32,766 host-parameter limit


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


# pg_advisory_xact_lock key of the ingestion writers ("QUIMBI" in ASCII, then 1).
_WRITERS_LOCK = 0x5155494D4249_0001
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def writers_lock(*, exclusive: bool) -> None:
    """Take the ingestion writers' lock for the current transaction (PostgreSQL; SQLite already
    runs one writer at a time).

    Every batch holds it shared, so writers do not wait for each other. A batch that lost a race
    with another writer (a unique conflict or a deadlock) holds it exclusively when it runs again:
    it then waits for the batches in flight to commit and sees all they wrote, so its second
    attempt cannot lose again, however many writers there are.
    """
    if not on_postgres():
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fn}(%s)", [_WRITERS_LOCK])


def statistics_refresh(models_: Sequence[type[models.Model]]) -> None:
    """ANALYZE these tables after a bulk load (PostgreSQL): until autovacuum gets to them the
    planner knows nothing of the new rows, and a per-customer read can then pick a full scan of
    millions of rows over its index. Sampled, so about a second even at millions of rows."""
    if not on_postgres():
        return
    tables = ", ".join(f'"{m._meta.db_table}"' for m in models_)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def is_conflict(exc: Exception) -> bool:
    """True for errors a concurrent writer causes: a unique (or other integrity) conflict, or a
    deadlock / serialization failure, after which the transaction can simply run again."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.__cause__, "sqlstate", None) in _RETRYABLE_SQLSTATES


def conflict_retried(attempt: Callable[[int], T], *, attempts: int) -> T:
    """`attempt(n)` for n = 0, 1, ... until it returns. A conflict with a concurrent writer
    (`is_conflict`) runs it again, up to `attempts` runs in all; any other error propagates."""
    for n in range(attempts):
        try:
            return attempt(n)
        except (IntegrityError, OperationalError) as exc:
            if n == attempts - 1 or not is_conflict(exc):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def rows_by_key(
    model: type[models.Model], *, source: str, key: str, keys: Sequence[str], columns: Sequence[str]
) -> dict[str, tuple]:
    """`{key: (columns...)}` for the rows of `source` whose `key` is in `keys`: one query per chunk."""
    if not keys:
        return {}
    table = model._meta.db_table
    out: dict[str, tuple] = {}
    if on_postgres():
        # A LATERAL probe per key uses the (source, key) unique index whatever the table
        # statistics say (right after a bulk load they are stale, and `key = ANY(...)` or a
        # plain join then read every row of the source, once per chunk).
        cols = ", ".join(f'"{c}"' for c in (key, *columns))
        array, param = text_array(keys)
        sql = (
            f"SELECT t.* FROM unnest({array}) AS k(v) CROSS JOIN LATERAL"  # noqa: S608
            f' (SELECT {cols} FROM "{table}" WHERE "source" = %s AND "{key}" = k.v LIMIT 1) t'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [param, source])
            for row in cursor.fetchall():
                out[row[0]] = row[1:]
        return out
    keys = list(keys)
    for start in range(0, len(keys), _SQLITE_PARAMS):
        chunk = keys[start : start + _SQLITE_PARAMS]
        qs = model.objects.filter(source=source, **{f"{key}__in": chunk}).values_list(key, *columns)
        for row in qs:
            out[row[0]] = row[1:]
    return out


_SEPARATOR = "\x1f"  # ASCII unit separator


def text_array(values: Sequence[str]) -> tuple[str, Any]:
    """`(SQL, parameter)` for a text[] of `values` (PostgreSQL): one string split by the server
    when no value holds the separator (nor is the only one, and empty: the server splits "" into
    no element at all). psycopg quotes a list parameter element by element, about 0.7 us each:
    as much as the server's whole look-up of a key."""
    values = list(values)
    joined = _SEPARATOR.join(values)
    if joined and joined.count(_SEPARATOR) == len(values) - 1:
        return "string_to_array(%s, E'\\x1f')", joined
    return "%s::text[]", values


def typed_array(values: Sequence[Any], db_type: str) -> tuple[str, Any]:
    """`(SQL, parameter)` for an array of `values` of the column type `db_type` (PostgreSQL):
    text and integers travel as one string, anything else as a list. A column holding one value
    in every row (a source, a batch time) travels as that value, repeated by the server."""
    values = list(values)
    if values and all(v is values[0] for v in values):
        return f"array_fill(%s::{db_type}, ARRAY[{len(values)}])", values[0]
    if db_type.startswith(("varchar", "text")) and all(type(v) is str for v in values):
        sql, param = text_array(values)
        return f"{sql}::{db_type}[]", param
    if db_type in ("bigint", "integer") and all(type(v) is int for v in values):
        return f"string_to_array(%s, ',')::{db_type}[]", ",".join(map(str, values))
    return f"%s::{db_type}[]", values


def allocate_ids(table: str, n: int) -> list[int]:
    """`n` new ids from the id sequence of `table` (PostgreSQL), for rows written with COPY."""
    # The sequence is looked up once (MATERIALIZED): as a plain expression the catalog look-up
    # would run for every row, ten times the cost of nextval itself.
    # One string back rather than a row per id: fetching the rows cost more than nextval.
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq)"
            " SELECT string_agg(nextval(s.seq)::text, ',') FROM s, generate_series(1, %s)",
            [table, n],
        )
        joined = cursor.fetchone()[0]
    return list(map(int, joined.split(","))) if joined else []


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    return_ids: bool = True,
    constants: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert `rows` (values in `fields` order, column names) and return their new ids in order.

    `constants` are columns with the same value in every row (the source, the batch time):
    formatted once, not once per row.
    With `return_ids=False` (PostgreSQL) the ids come from the column's identity default
    inside the COPY itself (no round trip to reserve them) and `[]` is returned.
    A unique-constraint conflict raises IntegrityError: callers retry the batch.
    """
    if not rows:
        return []
    constants = constants or {}
    table = model._meta.db_table
    if not on_postgres():
        const = tuple(constants.values())
        return _insert_executemany(model, (*fields, *constants), [(*row, *const) for row in rows])
    ids = allocate_ids(table, len(rows)) if return_ids else []
    json_cols = {i for i, f in enumerate(fields) if isinstance(_field(model, f), models.JSONField)}
    names = ("id", *fields, *constants) if return_ids else (*fields, *constants)
    cols = ", ".join(f'"{c}"' for c in names)
    data = _copy_text(rows, ids, json_cols, "".join("\t" + _copy_value(v) for v in constants.values()))
    # wrap_database_errors: a unique violation inside COPY surfaces as Django's IntegrityError.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy,
    ):
        copy.write(data)
    return ids


def copy_payload(model: type[models.Model], columns: Sequence[str], payload: bytes, *, fmt: str) -> None:
    """COPY `payload` into the table of `model` (PostgreSQL), in `fmt`: "csv" (no header; an
    unquoted empty field is NULL, a quoted one an empty string) or "text" (PostgreSQL's own:
    tab-separated, NULL as \\N, backslash escapes). A unique-constraint conflict raises
    IntegrityError: callers retry the batch."""
    if fmt not in ("csv", "text"):
        raise ValueError(f"Unknown COPY format {fmt!r}.")
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f'COPY "{model._meta.db_table}" ({cols}) FROM STDIN WITH (FORMAT {fmt})'
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(payload)


def insert_absent(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert the `rows` (values in `fields` order, column names) whose unique key is not taken;
    returns how many were inserted.

    On PostgreSQL a row whose key another writer is inserting waits for that writer to finish,
    then is skipped if it committed: so one call waits for every writer in its way, and the
    caller can tell from the count that it lost a race (COPY would stop at the first one).
    """
    if not rows:
        return 0
    if not on_postgres():  # one writer at a time: no race to lose
        _insert_executemany(model, fields, rows)
        return len(rows)
    table = model._meta.db_table
    cols = ", ".join(f'"{c}"' for c in fields)
    arrays, params = [], []
    for f, values in zip(fields, zip(*rows, strict=True), strict=True):
        sql, param = typed_array(values, _field(model, f).db_type(connection))
        arrays.append(sql)
        params.append(param)
    unnest = ", ".join(arrays)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({cols}) SELECT * FROM unnest({unnest}) ON CONFLICT DO NOTHING',  # noqa: S608
            params,
        )
        return cursor.rowcount


# COPY text format: backslash, tab, newline and carriage return escaped; NULL is \N.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NULL = "\\N"


def _copy_value(v: Any) -> str:
    if v is None:
        return _NULL
    t = type(v)
    if t is str:
        return v.translate(_ESCAPES) if ("\\" in v or "\t" in v or "\n" in v or "\r" in v) else v
    if t is bool:
        return "t" if v else "f"
    if t is datetime or t is date:
        return v.isoformat()
    if t is int or t is Decimal or t is float:
        return str(v)
    if t is dict or t is list:
        return json.dumps(v).translate(_ESCAPES)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v).translate(_ESCAPES)


def _copy_text(rows: Sequence[Sequence[Any]], ids: list[int], json_cols: set[int], suffix: str = "") -> bytes:
    """The whole batch as one COPY text payload (one `copy.write` instead of a call per row);
    `suffix` (already in COPY text) ends every row."""
    if json_cols:
        rows = [[json.dumps(v) if i in json_cols else v for i, v in enumerate(r)] for r in rows]
    fast = _copy_text_plain(rows, ids, suffix)
    if fast is not None:
        return fast
    fmt = _copy_value
    if ids:
        lines = [f"{pk}\t" + "\t".join(map(fmt, row)) + suffix for pk, row in zip(ids, rows, strict=True)]
    else:
        lines = ["\t".join(map(fmt, row)) + suffix for row in rows]
    lines.append("")
    return "\n".join(lines).encode()


def _copy_text_plain(rows: Sequence[Sequence[Any]], ids: list[int], suffix: str = "") -> bytes | None:
    """The payload built with one `%` format per row, when no value needs escaping; else None.

    `str()` of every value the write path stores (str, int, float, Decimal, datetime, date, bool)
    is valid COPY input as long as it holds no backslash, tab, newline or carriage return. That is
    checked on the whole payload at once: a tab or newline more than the row layout explains, or a
    backslash other than those of the NULL markers written, means some value needs escaping.
    """
    width = len(rows[0]) + (1 if ids else 0)
    template = "\t".join(["%s"] * width) + suffix.replace("%", "%%")
    out = []
    nulls = 0
    for i, row in enumerate(rows):
        if None in row:
            nulls += row.count(None)
            row = [_NULL if v is None else v for v in row]
        out.append(template % ((ids[i], *row) if ids else tuple(row)))
    out.append("")
    text = "\n".join(out)
    n = len(rows)
    if (
        text.count("\n") != n
        or text.count("\t") != n * (width - 1 + suffix.count("\t"))
        or text.count("\\") != nulls + n * suffix.count("\\")
        or "\r" in text
    ):
        return None
    return text.encode()


def _insert_executemany(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """SQLite and others: ids after the current maximum, values adapted per column, one executemany.

    The batch's transaction holds SQLite's write lock; a concurrent writer that took
    the same ids fails on the primary key and its batch is retried by the caller.
    """
    table = model._meta.db_table
    adapters = [_adapter(_field(model, f)) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')  # noqa: S608
        start = cursor.fetchone()[0] + 1
        ids = list(range(start, start + len(rows)))
        params = [
            (pk, *[v if a is None or v is None else a(v) for a, v in zip(adapters, row, strict=True)])
            for pk, row in zip(ids, rows, strict=True)
        ]
        cols = ", ".join(f'"{c}"' for c in ("id", *fields))
        marks = ", ".join(["%s"] * (len(fields) + 1))
        cursor.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', params)  # noqa: S608
    return ids


def _adapter(field: models.Field):
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DecimalField):
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    if isinstance(field, models.JSONField):
        return json.dumps
    return None


def _field(model: type[models.Model], column: str) -> models.Field:
    for f in model._meta.concrete_fields:
        if f.column == column:
            return f
    raise ValueError(column)
