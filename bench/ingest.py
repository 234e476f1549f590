"""Ingestion benchmark (issue 2), on PostgreSQL, one run:

  (a) raw psycopg COPY of the orders into a scratch table with the columns of
      ingestion_order (the limit), and, for information, orders + lines;
  (b) `manage.py ingest_file` on a JSONL file of the same orders;
  (c) the HTTP batch path: POST /api/data/orders, 1,000 records per request,
      to gunicorn (2 x CPUs + 1 sync workers, DEBUG off: the production server)
      from as many concurrent client connections, through the whole stack
      (HTTP, middleware, API-key auth, throttling, parsing, view);
  (d) a full re-ingest of the file (all duplicates);
  (e) for information, `ingest_file` on the same orders in time order, as a
      shop exports them, for other people (new customers again): each chunk
      then names thousands of people, most of whom other chunks name too.

Each is printed as rows/s and as a ratio to COPY, next to the targets
(ingest_file and re-ingest >= 0.5x COPY, HTTP >= 0.2x COPY), with the CPU time
spent per row by this process and the ingest_file workers (for HTTP: by the
server), by the database server (when it runs on this machine), and the
machine's load average: on a shared machine the wall times, and so the ratios,
move with what else runs. From the two CPU figures it also prints the most each
path could do if every CPU of the machine worked on it: what a path's own work
allows here, whatever the noise. Prints only.

Environment: BENCH_ORDERS (default 1,000,000), BENCH_HTTP_ORDERS (default:
all of them), BENCH_HTTP_CLIENTS (default: 2 x CPUs + 1), DATABASE_URL when it
is PostgreSQL (migrated, bench sources cleared first), else
postgres://postgres@127.0.0.1:5432/quimbi_bench (dropped and created fresh).
Run: `.venv/bin/python -m bench.ingest`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

FILE_SOURCE = "bench-file"
SORTED_SOURCE = "bench-file-time-ordered"
HTTP_SOURCE = "bench-http"
HTTP_BATCH = 1000
COPY_CHUNK = 50_000


def write_orders_file(path: Path, n_orders: int) -> tuple[int, int]:
    """Generate `n_orders` synthetic orders into a JSONL file; returns (orders, lines)."""
    from ingestion.synthetic import iter_orders

    customers = n_orders // 9 + 1000  # ~9.6 orders per customer; stop at n_orders
    written = lines = 0
    with path.open("w", encoding="utf-8") as fh:
        for rec in iter_orders(customers=customers, seed=2026):
            fh.write(json.dumps(rec, separators=(",", ":")))
            fh.write("\n")
            written += 1
            lines += len(rec["lines"])
            if written == n_orders:
                break
    return written, lines


def _read_chunks(path: Path, size: int):
    with path.open("rb") as fh:
        chunk = []
        for raw in fh:
            chunk.append(raw)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _copy_columns() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(order columns, line columns, columns set to the load time): the columns ingestion writes,
    from the ingestion service itself, so the COPY does the same work."""
    from ingestion.services.orders import LINE_FIELDS, ORDER_FIELDS, ORDER_STAMP_FIELDS

    order_columns = ("id", "source", "external_id", "customer_id", *ORDER_FIELDS, *ORDER_STAMP_FIELDS)
    return order_columns, LINE_FIELDS, ORDER_STAMP_FIELDS


def copy_limit(url: str, path: Path, *, with_lines: bool) -> float:
    """Seconds spent in COPY (rows prepared outside the timed part) into scratch tables."""
    import time
    from datetime import UTC, datetime

    import psycopg

    now = datetime.now(UTC)
    order_columns, line_columns, stamp_columns = _copy_columns()
    stamps = dict.fromkeys(stamp_columns, now)  # after the record's keys: its updated_at is the version
    seconds = 0.0
    next_order_id = 1
    with psycopg.connect(common.libpq_url(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_orderline, bench_copy_order")
        conn.execute("CREATE TABLE bench_copy_order (LIKE ingestion_order INCLUDING ALL)")
        conn.execute("CREATE TABLE bench_copy_orderline (LIKE ingestion_orderline INCLUDING ALL)")
        conn.commit()
        customer_ids: dict[str, int] = {}
        for chunk in _read_chunks(path, COPY_CHUNK):
            orders, lines = [], []
            for raw in chunk:
                r = json.loads(raw)
                values = {
                    **r,
                    "id": next_order_id,
                    "source": FILE_SOURCE,
                    "customer_id": customer_ids.setdefault(r["customer_id"], len(customer_ids) + 1),
                    "source_updated_at": r.get("updated_at"),
                    **stamps,
                }
                orders.append(tuple(values.get(c) for c in order_columns))
                if with_lines:
                    for li in r["lines"]:
                        line = {"sku": "", "product_id": "", "title": "", "category": "", **li}
                        line["order_id"] = next_order_id
                        lines.append(tuple(line[c] for c in line_columns))
                next_order_id += 1
            start = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(f"COPY bench_copy_order ({', '.join(order_columns)}) FROM STDIN") as copy:
                    for row in orders:
                        copy.write_row(row)
                if with_lines:
                    line_copy = f"COPY bench_copy_orderline ({', '.join(line_columns)}) FROM STDIN"
                    with cur.copy(line_copy) as copy:
                        for row in lines:
                            copy.write_row(row)
            conn.commit()
            seconds += time.perf_counter() - start
        conn.execute("DROP TABLE bench_copy_orderline, bench_copy_order")
        conn.commit()
    return seconds


def write_time_ordered(path: Path, out: Path) -> None:
    """The orders of `path` sorted by `placed_at`, for other people: customer ids and e-mails
    get a prefix, so that importing them creates every customer again."""
    rows = []
    with path.open("rb") as fh:
        for raw in fh:
            rec = json.loads(raw)
            rec["customer_id"] = f"t-{rec['customer_id']}"
            rec["email"] = f"t.{rec['email']}"
            rows.append((rec["placed_at"], json.dumps(rec, separators=(",", ":"))))
    rows.sort()
    with out.open("w", encoding="utf-8") as fh:
        fh.writelines(f"{line}\n" for _, line in rows)


def ingest_file(path: Path, source: str = FILE_SOURCE):
    """`manage.py ingest_file` with its defaults (workers: the CPU count); returns (timing, summary)."""
    from django.core.management import call_command

    out = StringIO()
    with common.timed() as t:
        call_command(
            "ingest_file",
            str(path),
            "--source",
            source,
            "--format",
            "jsonl",
            "--no-progress",
            stdout=out,
        )
    return t, out.getvalue().strip()


def http_batches(url: str, path: Path, n_orders: int, *, clients: int, out_dir: Path):
    """POST the first `n_orders` orders, 1,000 per request, from `clients` concurrent connections
    to gunicorn (a sync worker per client, DEBUG off) on the bench database.

    Returns (sent, timing, totals); the timing's CPU is the server's (gunicorn and its workers),
    taken from /proc, since the server is not a child this process waits for.
    """
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from quimbi_site.models import ClientApiKey

    _, key = ClientApiKey.objects.create_key(name="bench-ingest")
    port = common.free_port()
    server = common.gunicorn_start(env=common.server_env(url), workers=clients, port=port, out_dir=out_dir)
    head = b'{"source":"' + HTTP_SOURCE.encode() + b'","records":['
    headers = {"X-API-Key": key, "Content-Type": "application/json", "X-Forwarded-Proto": "https"}
    totals = {"accepted": 0, "duplicates": 0, "updated": 0, "rejected": 0}
    lock = threading.Lock()
    bodies = _bodies(path, n_orders, head)

    def client() -> int:
        sent = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                item = next(bodies, None)
            if item is None:
                conn.close()
                return sent
            count, body = item
            conn.request("POST", "/api/data/orders", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise SystemExit(f"HTTP batch failed: {response.status} {data[:500]!r}")
            result = json.loads(data)
            with lock:
                for k in totals:
                    v = result.get(k, 0)
                    totals[k] += len(v) if isinstance(v, list) else int(v)
            sent += count

    try:
        _warm(port, clients)
        cpu_start = common.process_tree_cpu(server.pid)
        with common.timed() as t, ThreadPoolExecutor(max_workers=clients) as pool:
            sent = sum(pool.map(lambda _: client(), range(clients)))
        t.cpu = common.process_tree_cpu(server.pid) - cpu_start
    finally:
        common.gunicorn_stop(server)
    return sent, t, totals


def _bodies(path: Path, n_orders: int, head: bytes):
    """(records, request body) per batch of the first `n_orders` lines of the file."""
    left = n_orders
    for chunk in _read_chunks(path, HTTP_BATCH):
        chunk = chunk[:left]
        yield len(chunk), head + b",".join(line.rstrip(b"\n") for line in chunk) + b"]}"
        left -= len(chunk)
        if left <= 0:
            return


def _warm(port: int, clients: int) -> None:
    """A few concurrent requests, so that every worker has loaded the URL conf and its views."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def get(_: int) -> None:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"}
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()

    with ThreadPoolExecutor(max_workers=2 * clients) as pool:
        list(pool.map(get, range(4 * clients)))


def _clear_bench_sources() -> None:
    """On a database we do not own: remove earlier bench rows so the first ingest is all new."""
    from django.db import connection

    sources = [FILE_SOURCE, HTTP_SOURCE, SORTED_SOURCE]
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM ingestion_orderline WHERE order_id IN "
            "(SELECT id FROM ingestion_order WHERE source = ANY(%s))",
            [sources],
        )
        cur.execute("DELETE FROM ingestion_order WHERE source = ANY(%s)", [sources])
        cur.execute("DELETE FROM ingestion_externalref WHERE source = ANY(%s)", [sources])


def main() -> int:
    n_orders = common.env_int("BENCH_ORDERS", 1_000_000)
    n_http = min(common.env_int("BENCH_HTTP_ORDERS", n_orders), n_orders)
    url, owned = common.bench_database_url()
    print(
        f"Ingestion benchmark: {n_orders:,} orders on {url.split('@')[-1]} ({'fresh' if owned else 'shared'})"
    )
    if owned:
        common.database_recreate(url)
    common.django_setup(url)
    if not owned:
        _clear_bench_sources()

    from ingestion.models import Order, OrderLine

    with tempfile.TemporaryDirectory(prefix="quimbi-bench-") as tmp:
        path = Path(tmp) / "orders.jsonl"
        with common.timed() as gen:
            n_orders, n_lines = write_orders_file(path, n_orders)
        size_mb = os.path.getsize(path) / 1e6
        print(
            f"generated {n_orders:,} orders / {n_lines:,} lines ({size_mb:,.0f} MB JSONL)"
            f" in {gen.seconds:.1f} s"
        )

        print(common.load_text(), flush=True)
        with common.timed() as copy_t:
            copy_s = copy_limit(url, path, with_lines=False)
        print(f"(a) COPY orders: {_line(n_orders, copy_s, copy_s, n_orders)}", flush=True)
        with common.timed() as copy_lines_t:
            copy_lines_s = copy_limit(url, path, with_lines=True)
        print(f"    COPY orders + lines: {common.rate(n_orders, copy_lines_s):,.0f} orders/s", flush=True)

        file_t, file_summary = ingest_file(path)
        print(f"(b) {file_summary}: {_line(n_orders, file_t.seconds, copy_s, n_orders)}", flush=True)
        stored = Order.objects.filter(source=FILE_SOURCE).count()
        stored_lines = OrderLine.objects.filter(order__source=FILE_SOURCE).count()
        print(f"    stored {stored:,} orders, {stored_lines:,} lines; {common.load_text()}", flush=True)

        # gunicorn's recommended worker count (as in bench/loadtest.py), one client per worker.
        clients = common.env_int("BENCH_HTTP_CLIENTS", 2 * (os.cpu_count() or 1) + 1)
        try:
            http_n, http_t, http_totals = http_batches(url, path, n_http, clients=clients, out_dir=Path(tmp))
        except (Exception, SystemExit) as exc:  # report and go on to the re-ingest
            print(f"(c) HTTP path failed: {exc!r}", flush=True)
            http_n, http_t = 0, common.Timing()
        else:
            figures = _line(http_n, http_t.seconds, copy_s, n_orders)
            print(f"(c) HTTP, 1,000 per request, {clients} clients: {http_totals}; {figures}", flush=True)

        again_t, again_summary = ingest_file(path)
        print(f"(d) {again_summary}: {_line(n_orders, again_t.seconds, copy_s, n_orders)}", flush=True)

        sorted_path = Path(tmp) / "orders-time-ordered.jsonl"
        write_time_ordered(path, sorted_path)
        path.unlink()
        sorted_t, sorted_summary = ingest_file(sorted_path, SORTED_SOURCE)
        print(f"(e) {sorted_summary}: {_line(n_orders, sorted_t.seconds, copy_s, n_orders)}", flush=True)
        print(common.load_text(), flush=True)

    copy_rate = common.rate(n_orders, copy_s)

    def ratio(n: int, s: float) -> float:
        return common.rate(n, s) / copy_rate

    def row(name: str, n: int, t, target: float | None) -> tuple:
        r = ratio(n, t.seconds)
        return (name, n, t.seconds, r, _verdict(r, target), t.cpu, t.db_cpu)

    paths = [  # (name, rows, timing, target ratio or None for information)
        ("(b) ingest_file jsonl", n_orders, file_t, 0.5),
        ("(c) HTTP 1,000/request", http_n, http_t, 0.2),
        ("(d) re-ingest (all duplicates)", n_orders, again_t, 0.5),
        ("(e) ingest_file, time order", n_orders, sorted_t, None),
    ]
    lines_x = ratio(n_orders, copy_lines_s)
    common.print_table(
        "Ingestion throughput (orders; ratio to the raw COPY of orders)",
        [
            ("(a) COPY orders (the limit)", n_orders, copy_s, 1.0, "", None, copy_t.db_cpu),
            ("    COPY orders + lines", n_orders, copy_lines_s, lines_x, "info", None, copy_lines_t.db_cpu),
            *(row(*path) for path in paths),
        ],
    )
    _print_ceilings(paths, copy_rate)
    return 0


def _print_ceilings(paths: list[tuple], copy_rate: float) -> None:
    """The most each path could do if every CPU here worked on it: CPUs / CPU seconds per row
    (ours and the database's). A path whose ceiling is below its target cannot meet it on this
    machine, however the work is spread; one far above it waits on something else."""
    cpus = os.cpu_count() or 1
    print(f"\nCPU-bound ceiling on {cpus} CPUs (ours + the database's CPU per row)")
    for name, n, t, target in paths:
        if not n or t.db_cpu is None:
            print(f"{name:<34} -  (the database's CPU is not visible here)")
            continue
        per_row = (t.cpu + t.db_cpu) / n
        ceiling = cpus / per_row
        print(
            f"{name:<34} {per_row * 1e6:6.1f} us/row: at most {ceiling:>10,.0f} rows/s"
            f" = {ceiling / copy_rate:.2f}x COPY  ({'info' if target is None else f'target >= {target}x'})"
        )


def _line(n: int, seconds: float, copy_seconds: float, copy_n: int) -> str:
    """One step's figures, printed as soon as the step ends."""
    ratio = common.rate(n, seconds) / common.rate(copy_n, copy_seconds)
    return f"{n:,} rows in {seconds:.1f} s = {common.rate(n, seconds):,.0f} rows/s, {ratio:.2f}x COPY"


def _verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return "info"
    return f">= {target}x: {'met' if ratio >= target else 'MISSED'}"


if __name__ == "__main__":
    sys.exit(main())
