"""Intelligence speed: training, full scoring vs the COPY floor, analyze_customer latency,
and GET /api/intelligence/customers/<id> throughput vs a trivial DRF endpoint.

    BENCH_CUSTOMERS=100000 python -m bench.intelligence      (default 100,000; ~10 orders each)
    BENCH_TRAIN=0 BENCH_SCORING_ONLY=1 python -m bench.intelligence
        (BENCH_TRAIN=0 reuses the active model instead of training one, when there is one;
        BENCH_SCORING_ONLY=1 stops after full scoring and its floor)

Runs on PostgreSQL: DATABASE_URL when it is PostgreSQL, else a database of its own
(`<bench database>_intelligence`, created when missing and never dropped). The shop is
generated once under the source "bench-intel" (generate_shop, seed 7) and reused by
later runs; a larger BENCH_CUSTOMERS only adds the missing customers.
Prints figures (and the machine's load average, since other work skews them); asserts nothing.
"""

from __future__ import annotations

import io
import random
import statistics
import time

from bench import common

SOURCE = "bench-intel"
SEED = "7"


def _database_url() -> str:
    """DATABASE_URL when it is PostgreSQL; else the bench database's `_intelligence` sibling,
    created when missing and kept, so the generated shop is reused across runs."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    url, owned = common.bench_database_url()
    if not owned:
        return url
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_intelligence"
    url = urlunsplit((*parts[:2], "/" + name, *parts[3:]))
    admin = urlunsplit((*urlsplit(common.libpq_url(url))[:2], "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def _ensure_data(customers: int) -> int:
    from django.core.management import call_command

    from ingestion import interface as ingestion

    have = len(ingestion.customer_ids())
    if have < customers:
        # Same seed, same customers: the ones already stored come back as duplicates.
        print(f"generating a shop of {customers:,} customers ({have:,} already stored) ...", flush=True)
        with common.timed() as t:
            call_command("generate_shop", "--customers", str(customers), "--seed", SEED, "--source", SOURCE)
        print(f"  generated in {t.seconds:.0f} s", flush=True)
    else:
        print(f"reusing the stored shop ({have:,} customers)", flush=True)
    return len(ingestion.customer_ids())


def _copy_floor() -> tuple[float, float, int]:
    """Seconds to read every order into pandas via COPY, and to COPY the scored rows back.

    The write is of the real results (each stored row's own values, taken as COPY text
    beforehand, untimed) into a temporary table shaped like the real one but without its
    indexes or WAL: the least any scoring could spend writing the same rows.
    """
    from django.db import connection

    from ingestion import interface as ingestion
    from intelligence.models import CustomerIntelligence

    with common.timed() as read:
        ingestion.orders_frame()
    table = CustomerIntelligence._meta.db_table
    columns = ", ".join(f.column for f in CustomerIntelligence._meta.concrete_fields)
    out = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) TO STDOUT") as copy:
            for block in copy:
                out.write(block)
        # COPY text escapes newlines inside values, so one line is one row.
        rows = out.getvalue().split(b"\n")[:-1]
        cursor.execute(f"CREATE TEMP TABLE bench_floor (LIKE {table} INCLUDING DEFAULTS)")
        with (
            common.timed() as write,
            raw.cursor() as cur,
            cur.copy(f"COPY bench_floor ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write(row + b"\n")
        cursor.execute("DROP TABLE bench_floor")
    return read.seconds, write.seconds, len(rows)


def _vacuum() -> None:
    """Clear the dead rows that earlier runs' full re-scoring left (untimed). Production runs
    autovacuum; a development server may not (`SHOW autovacuum`), and then every run would
    upsert into a table bloated by all the runs before it."""
    from django.db import connection

    from intelligence.models import CustomerIntelligence

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        setting = cursor.fetchone()[0]
        cursor.execute(f"VACUUM ANALYZE {CustomerIntelligence._meta.db_table}")
    print(f"vacuumed the intelligence table before scoring (autovacuum is {setting} here)")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _analyze_latency(ids: list[str]) -> dict[str, tuple[float, float]]:
    from django.core.cache import cache

    from intelligence import interface
    from intelligence.services import analysis, registry

    version = registry.active_version_require()
    out = {}
    stored, recompute, cached = [], [], []
    interface.analyze_customer(customer_id=ids[0])  # warm the process (imports, artefact)
    for cid in ids:
        cache.delete(f"intel:analysis:{version.pk}:{cid}")
        start = time.perf_counter()
        interface.analyze_customer(customer_id=cid)
        stored.append(time.perf_counter() - start)
        start = time.perf_counter()
        interface.analyze_customer(customer_id=cid)
        cached.append(time.perf_counter() - start)
    failures = 0
    for cid in ids[: max(10, len(ids) // 5)]:
        start = time.perf_counter()
        try:
            analysis.customer_compute(customer_id=cid, version=version)
        except Exception as exc:  # report, keep measuring
            failures += 1
            print(f"  recompute failed for {cid}: {type(exc).__name__}: {exc}")
            continue
        recompute.append(time.perf_counter() - start)
    print(f"  recompute failures: {failures}")
    out["uncached (stored row current)"] = _percentiles(stored)
    out["uncached (recomputed from frames)"] = _percentiles(recompute)
    out["cached"] = _percentiles(cached)
    return out


def _throughput(ids: list[str], requests: int) -> tuple[float, float]:
    """Requests/s through the full Django stack (test client, X-API-Key): detail (cached) vs ping."""
    from django.test import Client, override_settings

    from quimbi_site.models import ClientApiKey

    _, key = ClientApiKey.objects.create_key(name="bench-intelligence")
    client = Client(HTTP_X_API_KEY=key)
    with override_settings(ROOT_URLCONF="bench._intelligence_urls"):
        for cid in ids:  # fill the cache
            assert client.get(f"/api/intelligence/customers/{cid}").status_code == 200
        assert client.get("/bench/ping").status_code == 200
        rates = {}
        for name, make in (
            ("detail", lambda i: f"/api/intelligence/customers/{ids[i % len(ids)]}"),
            ("ping", lambda i: "/bench/ping"),
        ):
            start = time.perf_counter()
            for i in range(requests):
                client.get(make(i))
            rates[name] = requests / (time.perf_counter() - start)
    return rates["detail"], rates["ping"]


def main() -> int:
    print(f"machine: {common.load_text()}", flush=True)
    common.django_setup(_database_url())
    from django.conf import settings
    from django.core.management import call_command

    from intelligence.models import CustomerIntelligence
    from intelligence.services import registry, scoring, training

    customers = common.env_int("BENCH_CUSTOMERS", 100_000)
    total = _ensure_data(customers)
    threads = getattr(settings, "QUIMBI_ML_THREADS", "default")
    print(f"customers in the database: {total:,}; ml threads {threads}")

    version = None if common.env_int("BENCH_TRAIN", 1) else registry.active_version_get()
    if version is None:
        with common.timed() as t_train:
            version = training.models_train()
        print(f"training: {t_train.seconds:.1f} s, CPU {t_train.cpu:.1f} s ", end="")
    else:
        print("training: skipped, reusing the active model ", end="")
    print(f"({version.label}, as of {version.as_of}, ", end="")
    print(f"horizon {version.horizon_days} days)")
    _vacuum()
    marks = {}
    with common.timed() as t_score:
        scored = scoring.customers_score_all(
            progress=lambda step, *_: marks.setdefault(step, time.perf_counter())
        )
    read_s, write_s, floor_rows = _copy_floor()
    floor = read_s + write_s
    ratio = t_score.seconds / floor if floor else float("inf")
    print(
        f"full scoring: {scored:,} customers in {t_score.seconds:.1f} s; floor {floor:.1f} s "
        f"(COPY read {read_s:.1f} s + COPY write {write_s:.1f} s of {floor_rows:,} rows) "
        f"-> {ratio:.2f}x floor "
        f"(target <= 3x: {'met' if ratio <= 3 else 'NOT met'})"
    )
    steps = [(a, marks[b] - marks[a]) for a, b in (("load", "score"), ("score", "write"), ("write", "done"))]
    print(
        f"  scoring CPU {t_score.cpu:.1f} s (this process; the database's share is not in it); steps: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps)
    )
    if common.env_int("BENCH_SCORING_ONLY", 0):
        return 0
    ids = list(CustomerIntelligence.objects.order_by("?").values_list("customer_id", flat=True)[:200])
    random.shuffle(ids)
    for name, (p50, p99) in _analyze_latency(ids).items():
        print(f"analyze_customer {name:<36} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms")
    detail, ping = _throughput(ids[:100], common.env_int("BENCH_REQUESTS", 1000))
    print(
        f"GET /api/intelligence/customers/<id> (cached): {detail:,.0f} req/s; "
        f"trivial DRF endpoint {ping:,.0f} req/s -> {detail / ping:.2f}x "
        f"(target >= 0.5x: {'met' if detail / ping >= 0.5 else 'NOT met'})"
    )
    call_command("evaluate_models", stdout=io.StringIO())
    print(f"machine at the end: {common.load_text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
