"""Bulk readers for the intelligence app: whole tables into pandas in one query.

On PostgreSQL the rows stream out with `COPY (query) TO STDOUT` as CSV and are
parsed by pandas' C reader, times as integer microseconds since the epoch and
unsorted: the server's text form of a timestamp and its sort (on disk, past
work_mem) cost more than the whole transfer, and numpy sorts the parsed keys in a
fraction of that. Elsewhere a raw cursor's rows go into the frame.
Merged customers' rows were repointed at merge time, so `customer_id` is
always the live customer. Every frame is ordered by customer and time.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    import pandas as pd

_SQLITE_IN_LIMIT = 30_000

# Each frame: {column: (SQL expression, kind)}, the FROM clause, the time column that as_of
# cuts at, and the sort keys (expressions; those not among the columns are read and dropped).
_ORDERS = (
    {
        "order_id": ("o.id", "int"),
        "customer_id": ("o.customer_id", "str"),
        "source": ("o.source", "str"),
        "placed_at": ("o.placed_at", "time"),
        "total": ("o.total", "float"),
        "subtotal": ("o.subtotal", "float"),
        "discount_total": ("o.discount_total", "float"),
        "refunded_total": ("o.refunded_total", "float"),
        "item_count": ("o.item_count", "int"),
        "status": ("o.status", "str"),
        "channel": ("o.channel", "str"),
        "currency": ("o.currency", "str"),
    },
    "ingestion_order o",
    "o.placed_at",
    ("o.customer_id", "o.placed_at", "o.id"),
)
_LINES = (
    {
        "order_id": ("l.order_id", "int"),
        "customer_id": ("o.customer_id", "str"),
        "placed_at": ("o.placed_at", "time"),
        "sku": ("l.sku", "str"),
        "title": ("l.title", "str"),
        "category": ("l.category", "str"),
        "quantity": ("l.quantity", "int"),
        "unit_price": ("l.unit_price", "float"),
        "discount": ("l.discount", "float"),
    },
    "ingestion_orderline l JOIN ingestion_order o ON o.id = l.order_id",
    "o.placed_at",
    ("o.customer_id", "o.placed_at", "l.order_id", "l.id"),
)
_INTERACTIONS = (
    {
        "customer_id": ("o.customer_id", "str"),
        "source": ("o.source", "str"),
        "external_id": ("o.external_id", "str"),
        "channel": ("o.channel", "str"),
        "kind": ("o.kind", "str"),
        "status": ("o.status", "str"),
        "priority": ("o.priority", "str"),
        "occurred_at": ("o.occurred_at", "time"),
    },
    "ingestion_interaction o",
    "o.occurred_at",
    ("o.customer_id", "o.occurred_at", "o.id"),
)
_EVENTS = (
    {
        "customer_id": ("o.customer_id", "str"),
        "source": ("o.source", "str"),
        "name": ("o.name", "str"),
        "occurred_at": ("o.occurred_at", "time"),
    },
    "ingestion_event o",
    "o.occurred_at",
    ("o.customer_id", "o.occurred_at", "o.id"),
)


def orders_frame(*, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None) -> pd.DataFrame:
    return _frame(_ORDERS, as_of, customer_ids)


def order_lines_frame(
    *, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    return _frame(_LINES, as_of, customer_ids)


def interactions_frame(
    *, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    return _frame(_INTERACTIONS, as_of, customer_ids)


def events_frame(*, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None) -> pd.DataFrame:
    return _frame(_EVENTS, as_of, customer_ids)


def _frame(spec: tuple, as_of: datetime | None, customer_ids: Iterable[str] | None) -> pd.DataFrame:
    columns, source, time_col, sort = spec
    ids = None if customer_ids is None else sorted({int(c) for c in customer_ids})
    where, params = [], []
    if as_of is not None:
        where.append(f"{time_col} < %s")
        params.append(connection.ops.adapt_datetimefield_value(as_of))
    postgres = connection.vendor == "postgresql"
    filter_after = False
    if ids is not None:
        if postgres:
            where.append("o.customer_id = ANY(%s)")
            params.append(ids)
        elif len(ids) <= _SQLITE_IN_LIMIT:
            where.append(f"o.customer_id IN ({', '.join(['%s'] * len(ids))})" if ids else "1 = 0")
            params.extend(ids)
        else:
            filter_after = True
    condition = (" WHERE " + " AND ".join(where)) if where else ""
    kinds = {name: kind for name, (_, kind) in columns.items()}
    if postgres:
        df = _read_postgres(columns, source, condition, params, sort)
    else:
        select = ", ".join(expr for expr, _ in columns.values())
        sql = f"SELECT {select} FROM {source}{condition} ORDER BY {', '.join(sort)}"  # noqa: S608
        df = _read_cursor(sql, params, kinds)
    df = _typed(df, kinds)
    if filter_after:
        df = df[df["customer_id"].isin({str(i) for i in ids})].reset_index(drop=True)
    return df


def _read_postgres(columns: dict, source: str, condition: str, params: list, sort: tuple) -> pd.DataFrame:
    """The rows via COPY ... CSV, sorted here by `sort`; times come back as datetime64[us, UTC]."""
    import numpy as np
    import pandas as pd

    by_expr = {expr: name for name, (expr, _) in columns.items()}
    extra = [expr for expr in sort if expr not in by_expr]  # sort keys read only to sort by
    names = [*columns, *(f"_sort{i}" for i in range(len(extra)))]
    kinds = [kind for _, kind in columns.values()] + ["int"] * len(extra)
    exprs = [expr for expr, _ in columns.values()] + extra
    # Microseconds since the epoch: exact in a double at today's dates (below 2**53).
    select = ", ".join(
        f"(date_part('epoch', {expr}) * 1000000)::bigint" if kind == "time" else expr
        for expr, kind in zip(exprs, kinds, strict=True)
    )
    buf = io.BytesIO()
    connection.ensure_connection()
    query = f"SELECT {select} FROM {source}{condition}"  # noqa: S608 (names from the specs above)
    statement = connection.ops.compose_sql(f"COPY ({query}) TO STDOUT WITH CSV", params)
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            buf.write(block)
    buf.seek(0)
    # Sort keys are read as numbers (a customer id too, made text after the sort): sorting on
    # a million parsed strings would cost more than reading them.
    numeric = {by_expr.get(expr) for expr in sort}
    dtype = {
        name: ("string" if kind == "str" and name not in numeric else "float64")
        for name, kind in zip(names, kinds, strict=True)
    }
    if buf.getbuffer().nbytes == 0:
        df = pd.DataFrame({name: pd.Series(dtype=dt) for name, dt in dtype.items()})
    else:
        # Empty strings must stay "" (not NaN): CSV writes NULL unquoted and "" quoted.
        df = pd.read_csv(buf, header=None, names=names, dtype=dtype, keep_default_na=False, na_values=[""])
    keys = [df[by_expr[expr]] if expr in by_expr else df[f"_sort{extra.index(expr)}"] for expr in sort]
    order = np.lexsort([k.to_numpy(dtype="float64") for k in reversed(keys)])
    df = df.take(order).reset_index(drop=True).drop(columns=[f"_sort{i}" for i in range(len(extra))])
    for name, (_, kind) in columns.items():
        if kind == "time":
            df[name] = pd.to_datetime(df[name], unit="us", utc=True).astype("datetime64[us, UTC]")
        elif kind == "str" and name in numeric:
            codes, ids = pd.factorize(df[name].astype("int64"))  # each distinct id made text once
            df[name] = pd.Series(pd.Index(ids).astype(str).to_numpy()[codes], dtype="string")
    return df


def _read_cursor(sql: str, params: list, columns: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame.from_records(rows, columns=list(columns), coerce_float=True)


def _typed(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    for name, kind in columns.items():
        col = df[name]
        if kind == "int":
            df[name] = pd.to_numeric(col).fillna(0).astype("int64")
        elif kind == "float":
            df[name] = pd.to_numeric(col).astype("float64")
        elif kind == "time":
            if not isinstance(col.dtype, pd.DatetimeTZDtype):
                df[name] = pd.to_datetime(col, utc=True, format="ISO8601")
        else:
            df[name] = col.fillna("").astype(str)
    return df
