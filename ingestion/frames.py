"""Bulk readers for the intelligence app: whole tables into pandas in one query.

On PostgreSQL the rows stream out with `COPY (query) TO STDOUT` as CSV and are
parsed by pandas' C reader; elsewhere a raw cursor's rows go into the frame.
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

_ORDER_COLUMNS = {
    "order_id": "int",
    "customer_id": "str",
    "source": "str",
    "placed_at": "time",
    "total": "float",
    "subtotal": "float",
    "discount_total": "float",
    "refunded_total": "float",
    "item_count": "int",
    "status": "str",
    "channel": "str",
    "currency": "str",
}
_LINE_COLUMNS = {
    "order_id": "int",
    "customer_id": "str",
    "placed_at": "time",
    "sku": "str",
    "title": "str",
    "category": "str",
    "quantity": "int",
    "unit_price": "float",
    "discount": "float",
}
_INTERACTION_COLUMNS = {
    "customer_id": "str",
    "source": "str",
    "external_id": "str",
    "channel": "str",
    "kind": "str",
    "status": "str",
    "priority": "str",
    "occurred_at": "time",
}
_EVENT_COLUMNS = {"customer_id": "str", "source": "str", "name": "str", "occurred_at": "time"}


def orders_frame(*, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None) -> pd.DataFrame:
    sql = (
        "SELECT o.id, o.customer_id, o.source, o.placed_at, o.total, o.subtotal, o.discount_total,"
        " o.refunded_total, o.item_count, o.status, o.channel, o.currency FROM ingestion_order o"
    )
    return _frame(sql, "o.placed_at", "o.customer_id, o.placed_at, o.id", as_of, customer_ids, _ORDER_COLUMNS)


def order_lines_frame(
    *, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    sql = (
        "SELECT l.order_id, o.customer_id, o.placed_at, l.sku, l.title, l.category, l.quantity,"
        " l.unit_price, l.discount FROM ingestion_orderline l JOIN ingestion_order o ON o.id = l.order_id"
    )
    return _frame(
        sql, "o.placed_at", "o.customer_id, o.placed_at, l.order_id, l.id", as_of, customer_ids, _LINE_COLUMNS
    )


def interactions_frame(
    *, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    sql = (
        "SELECT o.customer_id, o.source, o.external_id, o.channel, o.kind, o.status, o.priority,"
        " o.occurred_at FROM ingestion_interaction o"
    )
    return _frame(
        sql, "o.occurred_at", "o.customer_id, o.occurred_at, o.id", as_of, customer_ids, _INTERACTION_COLUMNS
    )


def events_frame(*, as_of: datetime | None = None, customer_ids: Iterable[str] | None = None) -> pd.DataFrame:
    sql = "SELECT o.customer_id, o.source, o.name, o.occurred_at FROM ingestion_event o"
    return _frame(
        sql, "o.occurred_at", "o.customer_id, o.occurred_at, o.id", as_of, customer_ids, _EVENT_COLUMNS
    )


def _frame(
    sql: str,
    time_col: str,
    order_by: str,
    as_of: datetime | None,
    customer_ids: Iterable[str] | None,
    columns: dict[str, str],
) -> pd.DataFrame:
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
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order_by}"
    df = _read_postgres(sql, params, columns) if postgres else _read_cursor(sql, params, columns)
    df = _typed(df, columns)
    if filter_after:
        df = df[df["customer_id"].isin({str(i) for i in ids})].reset_index(drop=True)
    return df


def _read_postgres(sql: str, params: list, columns: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    buf = io.BytesIO()
    connection.ensure_connection()
    statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH CSV", params)
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            buf.write(block)
    buf.seek(0)
    dtype = {name: ("string" if kind in ("str", "time") else "float64") for name, kind in columns.items()}
    if buf.getbuffer().nbytes == 0:
        return pd.DataFrame({name: pd.Series(dtype=dt) for name, dt in dtype.items()})
    # Empty strings must stay "" (not NaN): CSV writes NULL unquoted and "" quoted.
    return pd.read_csv(
        buf, header=None, names=list(columns), dtype=dtype, keep_default_na=False, na_values=[""]
    )


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
            df[name] = pd.to_datetime(col, utc=True, format="ISO8601")
        else:
            df[name] = col.fillna("").astype(str)
    return df
