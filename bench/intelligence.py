"""Intelligence speed: training, full scoring vs the COPY floor, analyze_customer latency,
and GET /api/intelligence/customers/<id> throughput vs a trivial DRF endpoint.

    BENCH_CUSTOMERS=100000 python -m bench.intelligence      (default 100,000; ~10 orders each)

Runs on PostgreSQL (DATABASE_URL when it is PostgreSQL, else the bench's own database).
Data is generated once under the source "bench-intel" (generate_shop) and reused.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import io
import random
import statistics
import time

from bench import common

SOURCE = "bench-intel"


def _ensure_data(customers: int) -> int:
    from django.core.management import call_command

    from ingestion import interface as ingestion

    have = len(ingestion.customer_ids())
    if have < customers:
        print(f"generating a shop of {customers - have:,} customers ...", flush=True)
        with common.timed() as t:
            call_command(
                "generate_shop", "--customers", str(customers - have), "--seed", "7", "--source", SOURCE
            )
        print(f"  generated in {t.seconds:.0f} s", flush=True)
    return len(ingestion.customer_ids())


def _copy_floor() -> tuple[float, float, int]:
    """Seconds to read every order into pandas via COPY, and to COPY one result row per customer back."""
    import numpy as np
    from django.db import connection

    from ingestion import interface as ingestion
    from intelligence.models import CustomerIntelligence

    with common.timed() as read:
        orders = ingestion.orders_frame()
    ids = orders["customer_id"].unique()
    table = CustomerIntelligence._meta.db_table
    sample = CustomerIntelligence.objects.first()
    features = sample.features if sample else {}
    axes = sample.axes if sample else {}
    import json

    features_text, axes_text = json.dumps(features), json.dumps(axes)
    factors_text = json.dumps(sample.top_factors if sample else [])
    rng = np.random.default_rng(0)
    values = rng.random(len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_floor (LIKE {table} INCLUDING DEFAULTS)")
        raw = cursor.connection  # psycopg 3
        with common.timed() as write:
            with raw.cursor() as cur:
                cols = "id, customer_id, as_of, horizon_days, computed_at, churn_probability, predicted_ltv, "
                cols += "features, axes, top_factors, recommendations, risk_band, order_count, total_spent, "
                cols += "has_open_support_interaction, stale, churn_model, ltv_model, churn_confidence, "
                cols += "ltv_confidence, archetype, archetype_key"
                with cur.copy(f"COPY bench_floor ({cols}) FROM STDIN") as copy:
                    for i, (cid, v) in enumerate(zip(ids, values.tolist(), strict=True)):
                        copy.write_row(
                            (
                                i + 1,
                                cid,
                                "2026-01-01",
                                365,
                                "2026-01-01T00:00:00Z",
                                v,
                                v * 100,
                                features_text,
                                axes_text,
                                factors_text,
                                "[]",
                                "low",
                                3,
                                100.0,
                                False,
                                False,
                                "lightgbm",
                                "lightgbm",
                                "high",
                                "high",
                                "Archetype",
                                "arch",
                            )
                        )
        cursor.execute("DROP TABLE bench_floor")
    return read.seconds, write.seconds, len(ids)


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
    url, owned = common.bench_database_url()
    if owned:
        common.database_recreate(url)
    common.django_setup(url)
    from django.conf import settings
    from django.core.management import call_command

    from intelligence.models import CustomerIntelligence
    from intelligence.services import scoring, training

    customers = common.env_int("BENCH_CUSTOMERS", 100_000)
    total = _ensure_data(customers)
    threads = getattr(settings, "QUIMBI_ML_THREADS", "default")
    print(f"customers in the database: {total:,}; ml threads {threads}")

    with common.timed() as t_train:
        version = training.models_train()
    print(f"training: {t_train.seconds:.1f} s ({version.label}, as of {version.as_of}, ", end="")
    print(f"horizon {version.horizon_days} days)")
    with common.timed() as t_score:
        scored = scoring.customers_score_all()
    read_s, write_s, floor_rows = _copy_floor()
    floor = read_s + write_s
    ratio = t_score.seconds / floor if floor else float("inf")
    print(
        f"full scoring: {scored:,} customers in {t_score.seconds:.1f} s; floor {floor:.1f} s "
        f"(COPY read {read_s:.1f} s + COPY write {write_s:.1f} s of {floor_rows:,} rows) "
        f"-> {ratio:.2f}x floor "
        f"(target <= 3x: {'met' if ratio <= 3 else 'NOT met'})"
    )
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
