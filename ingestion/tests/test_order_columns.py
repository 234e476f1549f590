"""The columnar lane of JSON-lines imports stores exactly what the record path stores: the same
counts, errors, orders, lines and customers, on the hostile inputs the fast-path tests use."""

import json
from unittest import mock

import pytest

from ingestion.models import Customer, ExternalRef, Order, OrderLine
from ingestion.services import order_columns
from ingestion.services.files import read_jsonl
from ingestion.services.orders import LINE_FIELDS, ORDER_FIELDS, orders_ingest
from ingestion.synthetic import iter_orders
from ingestion.tests.test_fast_paths import VALID, _variants

pytestmark = pytest.mark.django_db

SOURCE = "shop"


def _line(record) -> bytes:
    return json.dumps(record).encode() + b"\n"


# VALID with numbers where it has money as text (valid, but another JSON type for pyarrow).
PLAIN = {
    **VALID,
    "email": "Ann.Lee@Example.com",  # no space around it: the lane's form (it lower-cases)
    "subtotal": 31.0,
    "lines": [VALID["lines"][0], {**VALID["lines"][1], "unit_price": 10.0}],
}


def _corpus() -> tuple[list[bytes], list[bytes]]:
    """(lines pyarrow reads, lines it cannot: another JSON type in a field, NaN, ...), each
    variant with an id of its own unless the id itself is what varies."""
    readable, unreadable = [], []
    for i, variant in enumerate([*_variants(PLAIN), *_variants(VALID)]):
        record = dict(variant)
        if record.get("external_id") == VALID["external_id"]:
            record["external_id"] = f"v-{i}"
        platform_id = record.get("platform_customer_id")
        if (type(platform_id) is int and platform_id > 0) or (
            type(platform_id) is str and platform_id.isdigit()
        ):
            # Whether customer 7 exists depends on the tests before (sequences are not rolled
            # back): an id no customer has keeps the two runs alike.
            record["platform_customer_id"] = 10**15
        line = _line(record)
        (readable if order_columns._read([line]) is not None else unreadable).append(line)
    return readable, unreadable


def _stored() -> dict:
    """Every order with its lines and its customer (e-mail, first/last seen, refs)."""
    refs: dict[int, set] = {}
    for source, external_id, pk in ExternalRef.objects.values_list("source", "external_id", "customer_id"):
        refs.setdefault(pk, set()).add((source, external_id))
    customers = {
        pk: (email, first, last, frozenset(refs.get(pk, ())))
        for pk, email, first, last in Customer.objects.values_list(
            "pk", "email", "first_seen_at", "last_seen_at"
        )
    }
    lines: dict[int, list] = {}
    for order_id, *values in OrderLine.objects.order_by("id").values_list("order_id", *LINE_FIELDS[1:]):
        lines.setdefault(order_id, []).append(tuple(values))
    return {
        external_id: (customers[pk], tuple(values), lines.get(order_pk, []))
        for order_pk, external_id, pk, *values in Order.objects.values_list(
            "pk", "external_id", "customer_id", *ORDER_FIELDS
        )
    }


def _wipe() -> None:
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    ExternalRef.objects.all().delete()
    Customer.objects.all().delete()


def _outcome(result) -> tuple:
    errors = [(e.index, e.external_id, e.errors) for e in result.rejected]
    return result.accepted, result.duplicates, result.updated, errors


def _both(lines: list[bytes], before: list[dict] = ()) -> tuple:
    """(lane, record path): the outcome and what is stored, each from the same starting point."""
    runs = []
    for lane in (True, False):
        _wipe()
        if before:
            orders_ingest(source=SOURCE, records=list(before))
        if lane:
            result = order_columns.orders_chunk_ingest(source=SOURCE, lines=lines)
        else:
            result = orders_ingest(source=SOURCE, records=list(read_jsonl(lines)), via="file", audit=False)
        runs.append((_outcome(result), _stored()))
    return runs[0], runs[1]


def test_the_lane_stores_what_the_record_path_stores_on_hostile_orders():
    readable, _ = _corpus()
    assert len(readable) > 300
    assert len(order_columns._lane(order_columns._read(readable)).index) > 150  # the lane's own checks decide
    lane, records = _both(readable)
    assert lane == records
    assert lane[0][0] > 150  # both accepted many, so the comparison covers stored rows too


def test_orders_already_stored_and_ids_repeated_in_the_chunk_are_settled_like_the_record_path():
    readable, _ = _corpus()
    chunk = readable[:400]
    records = [json.loads(line) for line in chunk]
    before = [dict(r, updated_at="2024-01-01T00:00:00Z") for r in records[::7]]  # older: updated
    before += records[3::7]  # the same: duplicates
    again = [_line(dict(r, updated_at="2026-01-01T00:00:00Z")) for r in records[5::9]]  # newer, in the chunk
    lane, record_path = _both(chunk + again, before)
    assert lane == record_path
    accepted, duplicates, updated, _ = lane[0]
    assert duplicates and updated and accepted


def test_a_chunk_pyarrow_cannot_read_goes_through_the_record_path_whole():
    readable, unreadable = _corpus()
    assert unreadable  # other JSON types, NaN, bare strings...
    chunk = readable[:50] + unreadable
    assert order_columns._read(chunk) is None
    lane, record_path = _both(chunk)
    assert lane == record_path


def test_plain_orders_never_reach_the_record_path_and_odd_ones_do():
    plain = [_line(r) for _, r in zip(range(300), iter_orders(customers=40, seed=7), strict=False)]
    odd = _line({**PLAIN, "external_id": "odd-1", "currency": "usd"})  # the checker upper-cases it
    calls = []
    real = order_columns._record_path

    def spy(source, lines, indexes):
        calls.append(list(indexes))
        return real(source, lines, indexes)

    with mock.patch.object(order_columns, "_record_path", spy):
        result = order_columns.orders_chunk_ingest(source=SOURCE, lines=[*plain, odd])
    assert calls == [[len(plain)]]
    assert result.accepted == len(plain) + 1
    assert Order.objects.get(external_id="odd-1").currency == "USD"


def test_an_order_another_writer_stored_meanwhile_is_a_duplicate():
    plain = [_line(r) for _, r in zip(range(20), iter_orders(customers=5, seed=3), strict=False)]
    orders_ingest(source=SOURCE, records=[json.loads(plain[4])])
    # The look-up ran before the other writer committed: the unique key catches the race.
    real = order_columns._db.rows_by_key
    missed = []

    def stale(model, **kwargs):
        if model is Order and not missed:
            missed.append(kwargs["keys"])
            return {}
        return real(model, **kwargs)

    with mock.patch.object(order_columns._db, "rows_by_key", stale):
        result = order_columns.orders_chunk_ingest(source=SOURCE, lines=plain)
    assert missed and (result.accepted, result.duplicates) == (19, 1)
    assert Order.objects.count() == 20
    assert OrderLine.objects.count() == sum(len(json.loads(line)["lines"]) for line in plain)


def test_blank_lines_are_no_records():
    plain = [_line(r) for _, r in zip(range(5), iter_orders(customers=2, seed=5), strict=False)]
    result = order_columns.orders_chunk_ingest(source=SOURCE, lines=[plain[0], b"\n", b"  \n", *plain[1:]])
    assert (result.accepted, result.rejected) == (5, ())


def test_an_import_again_goes_the_record_path_without_reading_columns():
    plain = [_line(r) for _, r in zip(range(40), iter_orders(customers=8, seed=9), strict=False)]
    assert order_columns.orders_chunk_ingest(source=SOURCE, lines=plain).accepted == 40
    with mock.patch.object(order_columns, "_read", side_effect=AssertionError("read as columns")):
        again = order_columns.orders_chunk_ingest(source=SOURCE, lines=plain)
    assert (again.accepted, again.duplicates) == (0, 40)


def test_days_the_calendar_lacks_are_the_record_paths_and_leap_days_the_lanes():
    days = ["2023-02-29", "2024-02-29", "1900-02-29", "2000-02-29", "2100-02-29", "2023-04-31", "2023-02-30"]
    lines = [
        _line({**PLAIN, "external_id": f"day-{i}", "placed_at": f"{day}T10:00:00Z"})
        for i, day in enumerate(days)
    ]
    assert order_columns._lane(order_columns._read(lines)).index.to_pylist() == [1, 3]
    lane, record_path = _both(lines)
    assert lane == record_path
    assert lane[0][0] == 2


def test_rows_go_in_postgresqls_text_format_unless_a_value_needs_its_escapes(monkeypatch):
    """Text format on PostgreSQL (nulls as \\N, empty text as empty), CSV for a table with a tab,
    line end, backslash or quote in a value: both store what the record path stores."""
    from django.db import connection

    formats, real = [], order_columns._copy_payload

    def spy(table):
        payload, fmt = real(table)
        formats.append(fmt)
        return payload, fmt

    monkeypatch.setattr(order_columns, "_copy_payload", spy)
    sparse = {
        k: v for k, v in PLAIN.items() if k not in ("subtotal", "updated_at", "cancelled_at", "channel")
    }
    wordy = {
        **PLAIN,
        "lines": [{"title": "Café «naïve» ☕", "category": "", "quantity": 2, "unit_price": 1.5}],
    }
    plain = [_line({**sparse, "external_id": "sparse"}), _line({**wordy, "external_id": "wordy"})]
    odd_title = {"title": 'say "hi" \\ there\tnow', "quantity": 1, "unit_price": 2.0}
    odd = [*plain, _line({**PLAIN, "external_id": "odd", "lines": [odd_title]})]
    # (orders, lines): each table takes its own format.
    for chunk, expected in ((plain, ["text", "text"]), (odd, ["text", "csv"])):
        formats.clear()
        lane, record_path = _both(chunk)
        assert lane == record_path and lane[0][0] == len(chunk)
        if connection.vendor == "postgresql":
            assert formats == expected
