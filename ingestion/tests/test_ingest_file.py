"""manage.py ingest_file: formats, counts, re-import."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import Customer, IngestionBatch, Order, OrderLine

pytestmark = pytest.mark.django_db

DATA = Path("/work/shared/data")
CDNOW = DATA / "cdnow" / "CDNOW_sample.txt"


def run(*args) -> str:
    out = io.StringIO()
    call_command("ingest_file", *map(str, args), "--no-progress", stdout=out)
    return out.getvalue()


def test_cdnow_sample_import_and_reimport():
    out = run(CDNOW, "--source", "cdnow", "--format", "cdnow", "--chunk-size", "2000")
    assert "accepted 6919" in out
    assert Customer.objects.count() == 2357 and Order.objects.count() == 6919
    assert Order.objects.filter(customer__external_refs__external_id="00004").count() == 4
    out = run(CDNOW, "--source", "cdnow", "--format", "cdnow")
    assert "accepted 0, duplicates 6919, updated 0, rejected 0" in out
    assert Customer.objects.count() == 2357 and Order.objects.count() == 6919
    batch = IngestionBatch.objects.order_by("pk").last()
    assert (batch.via, batch.duplicates, batch.accepted) == ("file", 6919, 0)


def test_cdnow_master_layout(tmp_path):
    lines = CDNOW.read_text().splitlines()[:50]
    master = tmp_path / "master.txt"
    master.write_text("\n".join(" ".join(line.split()[i] for i in (0, 2, 3, 4)) for line in lines) + "\n")
    assert "accepted 50" in run(master, "--source", "cdnow", "--format", "cdnow")
    sample = tmp_path / "sample.txt"
    sample.write_text("\n".join(lines) + "\n")
    assert "duplicates 50" in run(sample, "--source", "cdnow", "--format", "cdnow")


def write_csv(path, rows, header):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_csv_without_order_id_is_deterministic(tmp_path):
    rows = [line.split() for line in CDNOW.read_text().splitlines()[:300]]
    data = [(r[0], r[4], r[2], r[3]) for r in rows]
    data.append(data[0])  # an identical row is a second order, found again on re-import
    path = tmp_path / "orders.csv"
    write_csv(path, data, ["customer_id", "amount", "date", "quantity"])
    assert "accepted 301" in run(path, "--source", "csv", "--format", "csv")
    assert "accepted 0, duplicates 301" in run(path, "--source", "csv", "--format", "csv")
    assert Order.objects.count() == 301


def test_csv_with_order_id_email_and_bad_rows(tmp_path):
    path = tmp_path / "orders.csv"
    write_csv(
        path,
        [
            ("A-1", "c1", "c1@x.io", "12.50", "2024-03-01T10:00:00Z", "EUR"),
            ("A-2", "c2", "", "NaN", "2024-03-01", "USD"),
            ("A-3", "c2", "", "3.00", "not a date", "USD"),
        ],
        ["order_id", "customer_id", "email", "amount", "ordered_at", "currency"],
    )
    out = run(path, "--source", "csv", "--format", "csv")
    assert "accepted 1" in out and "rejected 2" in out and "record 2 (A-2)" in out and "record 3 (A-3)" in out
    order = Order.objects.get()
    assert (order.external_id, order.currency, str(order.total)) == ("A-1", "EUR", "12.50")


def test_spreadsheet_csv_exports_with_a_byte_order_mark_or_semicolons(tmp_path):
    rows = [line.split() for line in CDNOW.read_text().splitlines()[:40]]
    data = [(r[0], r[4], r[2], r[3]) for r in rows]
    header = ["customer_id", "amount", "date", "quantity"]
    excel = tmp_path / "excel.csv"  # Excel's "CSV UTF-8": a byte-order mark and CRLF line ends
    with open(excel, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([header, *data])
    assert excel.read_bytes().startswith(b"\xef\xbb\xbfcustomer_id,") and b"\r\n" in excel.read_bytes()
    assert "accepted 40, duplicates 0, updated 0, rejected 0" in run(
        excel, "--source", "csv", "--format", "csv"
    )

    for delimiter in (";", "\t"):  # the same orders, as other locales and tools export them
        other = tmp_path / "other.csv"
        with open(other, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, delimiter=delimiter).writerows([header, *data])
        assert "accepted 0, duplicates 40" in run(other, "--source", "csv", "--format", "csv")
    assert Order.objects.count() == 40
    assert Order.objects.filter(customer__external_refs__external_id=data[0][0]).exists()


def test_a_csv_without_identity_columns_names_what_it_found(tmp_path):
    path = tmp_path / "orders.csv"
    write_csv(path, [("c1", "12.50", "2024-03-01")], ["client", "amount", "date"])
    with pytest.raises(CommandError, match="found: client, amount, date"):
        run(path, "--source", "csv", "--format", "csv")
    assert not Order.objects.exists()


def test_jsonl_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "orders.jsonl"
    recs = [
        {"external_id": f"o{i}", "customer_id": "c1", "placed_at": "2024-01-01T00:00:00Z", "total": 5}
        for i in range(3)
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(r) for r in recs).encode() + b"\n")
    assert "accepted 3, duplicates 0, updated 0, rejected 0" in run(
        path, "--source", "web", "--format", "jsonl"
    )


def test_jsonl_line_numbers_hold_across_chunks_with_windows_line_ends_and_blank_lines(tmp_path):
    """Chunks travel to the workers as blocks of lines: errors still number the records of the file."""
    from ingestion.services.files import file_ingest

    good = {"customer_id": "c1", "placed_at": "2024-01-01T00:00:00Z", "total": 5}
    lines = [json.dumps({**good, "external_id": f"o{i}"}) for i in range(7)]
    lines[4] = json.dumps({**good, "external_id": "bad", "total": "lots"})
    lines.insert(2, "")  # a blank line is no record
    path = tmp_path / "orders.jsonl"
    path.write_bytes("\r\n".join(lines).encode())  # and no line end after the last
    summary = file_ingest(path=str(path), source="web", fmt="jsonl", chunk_size=3)
    assert (summary.accepted, summary.rejected) == (6, 1)
    assert [(n, ext) for n, ext, _ in summary.errors] == [(5, "bad")]  # record 5, on line 6
    assert sorted(Order.objects.values_list("external_id", flat=True)) == sorted(
        f"o{i}" for i in range(7) if i != 4
    )


def test_jsonl_orders_and_events(tmp_path):
    path = tmp_path / "events.jsonl"
    recs = [
        {"message_id": f"m{i}", "customer_id": "c1", "name": "Viewed", "occurred_at": "2024-01-01T00:00:00Z"}
        for i in range(5)
    ]
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\nnot json\n")
    out = run(path, "--source", "web", "--format", "jsonl", "--kind", "events")
    assert "accepted 5" in out and "rejected 1" in out


def test_shopify_file(tmp_path):
    out = run(DATA / "shopify" / "order.json", "--source", "shopify", "--format", "shopify")
    assert "accepted 1" in out
    order = Order.objects.get(external_id="450789469")
    assert OrderLine.objects.filter(order=order).count() == len(
        json.loads((DATA / "shopify" / "order.json").read_text())["order"]["line_items"]
    )
    assert "duplicates 1" in run(
        DATA / "shopify" / "orders.json", "--source", "shopify", "--format", "shopify"
    )


def test_shopify_file_skips_test_orders(tmp_path):
    orders = json.loads((DATA / "shopify" / "orders.json").read_text())["orders"]
    test_order = {**orders[0], "id": 123123, "test": True}
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"orders": [*orders, test_order]}))

    out = run(path, "--source", "shopify", "--format", "shopify")
    assert f"accepted {len(orders)}, duplicates 0, updated 0, rejected 0" in out
    assert not Order.objects.filter(external_id="123123").exists()


def test_a_quote_left_open_stops_the_import_at_its_line(tmp_path):
    path = tmp_path / "orders.csv"
    rows = [f"u{i},{i}.00,2024-03-0{1 + i % 9}" for i in range(1, 21)]
    rows[4] = 'u5,5.00,"2024-03-06'  # the quote is never closed: it would swallow rows 6 to 20
    path.write_text("customer_id,amount,date\n" + "\n".join(rows) + "\n")

    with pytest.raises(CommandError) as raised:
        run(path, "--source", "csv", "--format", "csv", "--chunk-size", "2")
    message = str(raised.value)
    assert "starting on line 6 is malformed" in message and "the 4 records before it" in message
    assert Order.objects.count() == 4  # rows 1-4: stored once, found again after the fix
    batch = IngestionBatch.objects.get()
    assert batch.accepted == 4 and "line 6" in batch.error and batch.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_parallel_import_stopped_by_a_bad_row_counts_every_chunk_it_stored(tmp_path):
    from django.db import connection

    from ingestion.services.files import FileFormatError, file_ingest

    if connection.vendor != "postgresql":
        pytest.skip("parallel workers run on PostgreSQL")
    rows = [f"u{i},{i}.00,2024-03-0{1 + i % 9}" for i in range(1, 41)]
    rows[30] = 'u31,31.00,"2024-03-05'
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,amount,date\n" + "\n".join(rows) + "\n")

    with pytest.raises(FileFormatError, match="the 30 records before it were processed"):
        file_ingest(path=str(path), source="csv", fmt="csv", chunk_size=2, workers=2)
    assert Order.objects.count() == 30  # every chunk handed out before the bad row finished
    assert IngestionBatch.objects.get().accepted == 30


def test_a_file_that_is_not_utf8_is_refused_not_garbled(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        "customer_id,amount,date\nMüller,10.00,2024-03-01\nJosé,5.00,2024-03-02\n".encode("latin-1")
    )
    with pytest.raises(CommandError, match="Line 2 is not UTF-8"):
        run(path, "--source", "csv", "--format", "csv")
    assert not Order.objects.exists() and not Customer.objects.exists()
    assert "not UTF-8" in IngestionBatch.objects.get().error


def test_csv_header_must_name_the_amount_and_date_columns(tmp_path):
    path = tmp_path / "orders.csv"
    write_csv(path, [("c1", "12.50", "2024-03-01")], ["customer_id", "total", "date"])
    with pytest.raises(CommandError, match=r"needs customer_id .*, amount and date"):
        run(path, "--source", "csv", "--format", "csv")


def test_csv_separator_only_rows_are_skipped_and_corrections_apply(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,amount,date\nA-1,c1,10.50,2024-03-01\n,,,\n , , ,\n\n")
    assert "received 1, accepted 1, duplicates 0, updated 0, rejected 0" in run(
        path, "--source", "csv", "--format", "csv"
    )
    fixed = tmp_path / "fixed.csv"  # a corrected re-export: a later updated_at wins
    fixed.write_text(
        "order_id,customer_id,amount,date,status,updated_at\n"
        "A-1,c1,15.00,2024-03-01,refunded,2024-03-05T10:00:00Z\n"
    )
    assert "updated 1" in run(fixed, "--source", "csv", "--format", "csv")
    order = Order.objects.get()
    assert (str(order.total), order.status) == ("15.00", "refunded")


def test_unreadable_records_say_why_and_an_all_rejected_file_fails(tmp_path):
    path = tmp_path / "orders.jsonl"
    good = {"external_id": "o1", "customer_id": "c1", "placed_at": "2024-01-01T00:00:00Z", "total": 5}
    path.write_text(json.dumps(good) + '\n{"external_id": "o2", "customer_id"\n')  # a truncated last line
    out = run(path, "--source", "web", "--format", "jsonl")
    assert "accepted 1" in out and "rejected 1" in out and "Not valid JSON" in out

    cdnow = tmp_path / "cdnow.txt"
    cdnow.write_text("00001 19970101 1 11.77\n00002 19970102\n")
    out = run(cdnow, "--source", "cdnow", "--format", "cdnow")
    assert "rejected 1" in out and "Line 2: expected 4 columns" in out

    pretty = tmp_path / "pretty.jsonl"  # a JSON document given as JSON lines
    pretty.write_text(json.dumps([good], indent=2))
    with pytest.raises(CommandError, match="Every record was rejected"):
        run(pretty, "--source", "other", "--format", "jsonl")


def test_verbosity_zero_hides_the_progress_bar(tmp_path):
    err = io.StringIO()
    call_command("ingest_file", str(CDNOW), "--source", "cdnow", "--format", "cdnow", verbosity=0, stderr=err)
    assert err.getvalue() == ""
    call_command("ingest_file", str(CDNOW), "--source", "cdnow", "--format", "cdnow", stderr=err)
    assert "CDNOW_sample.txt" in err.getvalue()  # the bar, by default


def test_bad_arguments():
    with pytest.raises(CommandError):
        run("/nonexistent", "--source", "x", "--format", "csv")
    with pytest.raises(CommandError):
        run(CDNOW, "--source", "x", "--format", "cdnow", "--kind", "events")


def test_a_bulk_import_leaves_fresh_planner_statistics():
    """PostgreSQL: the import ends with ANALYZE, so the planner knows the new rows before
    autovacuum comes by (without, a per-customer read of order lines scanned every line)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    run(CDNOW, "--source", "cdnow", "--format", "cdnow")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('ingestion_order', 'ingestion_customer')"
        )
        estimates = dict(cursor.fetchall())
    assert estimates == {"ingestion_order": 6919, "ingestion_customer": 2357}


@pytest.mark.django_db(transaction=True)
def test_a_parallel_import_refreshes_the_statistics_of_its_tables_side_by_side(monkeypatch):
    """PostgreSQL, outside a transaction: each table is analysed on a connection of its own."""
    from django.db import connection

    from ingestion.services import files

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    analysed, real = [], files._analyze_alone
    monkeypatch.setattr(
        files, "_analyze_alone", lambda model: (analysed.append(model._meta.db_table), real(model))
    )
    run(CDNOW, "--source", "cdnow", "--format", "cdnow", "--workers", "2")
    assert sorted(analysed) == [
        "ingestion_customer",
        "ingestion_externalref",
        "ingestion_order",
        "ingestion_orderline",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('ingestion_order', 'ingestion_customer')"
        )
        estimates = dict(cursor.fetchall())
    assert estimates == {"ingestion_order": 6919, "ingestion_customer": 2357}
