"""Load test (`make loadtest`): locust, headless, against gunicorn on PostgreSQL + Redis.

    .venv/bin/python bench/loadtest.py [--users 20] [--run-time 60] [--fresh] ...

1. Checks that PostgreSQL and Redis answer (stops with a message if not).
2. Prepares its own database (default `quimbi_load`; created when missing, dropped and
   re-created with --fresh): migrations, a generated shop (source "shop", seed 42,
   --customers of them), models trained and scored, the support demo (teams, agents
   agent1..agent6, SLA policies, tickets). An existing base is reused as it is.
3. Creates two API keys for this run (ingestion: scope `data`; reads: `intelligence`) and a
   source name of its own (`load-<time>`), so each run's records are counted apart.
4. Starts gunicorn (quimbi_site.wsgi, DEBUG off, Redis cache, eager Celery) on a free port,
   waits for /healthz, runs bench/_locustfile.py headless for --run-time seconds (mix by task
   weights: 70% ingestion, 20% intelligence reads, 10% agent pages), stops gunicorn.
5. Prints requests/s, p50/p95/p99 and errors per request name, per group and overall, then
   the exactly-once check (bench/_loadcheck.py).

Exit status: 0 when the check passes and the error ratio is at most --max-error-ratio,
1 otherwise. Every option also reads an environment variable (LOADTEST_USERS, ...), so
`LOADTEST_RUN_TIME=20 make loadtest` works. Logs stay in --out (default /tmp/quimbi-loadtest-*):
gunicorn.log, access.log (server-side time of each request, to tell it from queueing),
locust.log, and the raw samples and batch log the figures and the check are made from.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _loadcheck, common  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/quimbi_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
BASE_SOURCE = "shop"
BASE_SEED = 42
READ_SAMPLE = 1_000  # known customers the intelligence reads pick from
GROUPS = ("ingest", "intel", "agent")
# SLA breach notices (support seed, agent pages) are kept in memory, not printed.
LOCMEM_EMAIL = "django.core.mail.backends.locmem.EmailBackend"
AGENTS = ("agent1", "agent2", "agent3", "agent4")  # the demo's online agents


def _parser() -> argparse.ArgumentParser:
    def env(name: str, default):
        return type(default)(os.environ.get(f"LOADTEST_{name}", default))

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=env("DATABASE_URL", DEFAULT_DATABASE_URL))
    p.add_argument("--redis-url", default=env("REDIS_URL", DEFAULT_REDIS_URL), help="cache (and broker)")
    p.add_argument("--fresh", action="store_true", default=bool(os.environ.get("LOADTEST_FRESH")))
    p.add_argument("--customers", type=int, default=env("CUSTOMERS", 3000), help="base shop size")
    p.add_argument("--users", type=int, default=env("USERS", 20), help="concurrent locust users")
    p.add_argument("--spawn-rate", type=float, default=env("SPAWN_RATE", 10.0), help="users started per s")
    p.add_argument("--run-time", type=int, default=env("RUN_TIME", 60), help="seconds of load")
    p.add_argument("--wait-min", type=float, default=env("WAIT_MIN", 0.5), help="think time, s")
    p.add_argument("--wait-max", type=float, default=env("WAIT_MAX", 1.5))
    p.add_argument("--batch", type=int, default=env("BATCH", 100), help="records per ingestion request")
    p.add_argument("--workers", type=int, default=env("WORKERS", 2 * (os.cpu_count() or 1) + 1))
    p.add_argument("--max-error-ratio", type=float, default=env("MAX_ERROR_RATIO", 0.01))
    p.add_argument("--celery-broker", default=env("CELERY_BROKER", ""), help="default: eager tasks")
    p.add_argument("--out", default=env("OUT", ""), help="directory for logs and samples")
    return p


# --- preflight and base data ------------------------------------------------------------------


def preflight(database_url: str, redis_url: str) -> None:
    """Refuse to run unless PostgreSQL and Redis both answer."""
    import psycopg
    import redis

    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise SystemExit(f"The load test needs PostgreSQL; --database-url is {database_url!r}.")
    try:
        with psycopg.connect(_maintenance_url(database_url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise SystemExit(f"PostgreSQL does not answer at {_where(database_url)}: {exc}") from exc
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis does not answer at {redis_url}: {exc}") from exc


def _maintenance_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(common.libpq_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def _where(url: str) -> str:
    return url.rsplit("@", 1)[-1]


def database_prepare(database_url: str, *, fresh: bool) -> None:
    import psycopg
    from psycopg import sql

    name = common.libpq_url(database_url).rsplit("/", 1)[-1].split("?")[0]
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if fresh and exists:
        common.database_recreate(database_url)  # refuses the maintenance and CI databases
    state = "re-created" if fresh and exists else "kept" if exists else "created"
    print(f"database {_where(database_url)}: {state}")


def base_load(*, customers: int) -> None:
    """The base a running shop has: customers with history, trained models, a support desk."""
    from django.core.management import call_command
    from django.core.management.base import OutputWrapper

    from ingestion.models import ExternalRef, Order

    out = OutputWrapper(sys.stdout)
    have = ExternalRef.objects.filter(source=BASE_SOURCE).count()
    if have < customers:
        with common.timed() as t:
            call_command(
                "generate_shop",
                "--customers",
                str(customers),
                "--seed",
                str(BASE_SEED),
                "--source",
                BASE_SOURCE,
            )
        print(f"base shop: {customers:,} customers in {t.seconds:.0f} s")
    else:
        print(f"base shop: {have:,} customers already there")
    earlier = Order.objects.filter(source__startswith="load-").count()
    if earlier:
        print(f"({earlier:,} orders of earlier load runs are in the database; --fresh starts over)")
    from intelligence import demo as intelligence_demo  # train_models + score_customers, once
    from support import demo as support_demo

    with common.timed() as t:
        intelligence_demo.seed(stdout=out)
        support_demo.seed(stdout=out)
    print(f"models and support desk ready in {t.seconds:.0f} s")


def run_config(*, source: str, batch: int, wait: tuple[float, float], out_dir: Path) -> dict:
    """Everything the locust users need: keys, known customers, agents and their tickets."""
    from django.contrib.auth import get_user_model

    from ingestion.models import ExternalRef
    from intelligence.models import CustomerIntelligence
    from quimbi_site.models import ClientApiKey
    from support import demo as support_demo
    from support import selectors as support_selectors

    _, ingest_key = ClientApiKey.objects.create_key(name=f"{source}-ingest", scopes=["data"])
    _, read_key = ClientApiKey.objects.create_key(name=f"{source}-reads", scopes=["intelligence"])
    # Customers of the base shop (not of earlier load runs) that the scoring run knows.
    base = ExternalRef.objects.filter(source=BASE_SOURCE).values_list("customer_id", flat=True)
    scored = CustomerIntelligence.objects.filter(customer_id__in=[str(pk) for pk in base])
    customer_ids = list(scored.order_by("?").values_list("customer_id", flat=True)[:READ_SAMPLE])
    agents = []
    for user in get_user_model().objects.filter(username__in=AGENTS):
        tickets = list(support_selectors.tickets_visible(user=user).values_list("pk", flat=True)[:200])
        if tickets:
            agents.append(
                {"username": user.username, "password": support_demo.PASSWORD, "ticket_ids": tickets}
            )
    if not customer_ids or not agents:
        raise SystemExit("The base has no scored customers or no agent with tickets; try --fresh.")
    return {
        "source": source,
        "ingest_key": ingest_key,
        "read_key": read_key,
        "customer_ids": customer_ids,
        "agents": agents,
        "batch": batch,
        "wait_min": wait[0],
        "wait_max": wait[1],
        "out_dir": str(out_dir),
    }


# --- gunicorn and locust ----------------------------------------------------------------------


def server_env(args) -> dict[str, str]:
    env = common.server_env(args.database_url)
    env.update(
        CACHE_URL=args.redis_url,
        REDIS_URL=args.redis_url,
        EMAIL_BACKEND=LOCMEM_EMAIL,
        # Several workers share the cores: one LightGBM thread each instead of one per core.
        QUIMBI_ML_THREADS=env.get("QUIMBI_ML_THREADS", "1"),
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
    )
    if args.celery_broker:
        env["CELERY_BROKER_URL"] = args.celery_broker
    return env


def warm_up(*, host: str, config: dict, workers: int) -> float:
    """Seconds spent warming every worker: its first requests import pandas, scikit-learn and
    LightGBM and load the models (seconds each on a busy machine), which the figures leave out."""
    from concurrent.futures import ThreadPoolExecutor

    from ingestion.synthetic import shop_blocks

    rounds = 3  # sync workers take connections as they come: a few rounds reach each of them
    # New orders for every call, so that each one goes through the re-scoring of its customers.
    orders = [
        o
        for block in shop_blocks(customers=2 * rounds * workers, seed=int(time.time()))
        for o in block.orders
    ]
    bodies = [
        json.dumps({"source": f"warmup-{config['source']}", "records": orders[i : i + 5]}).encode()
        for i in range(0, 5 * rounds * workers, 5)
    ]
    customer = config["customer_ids"][0]
    reads = [
        ("GET", f"/api/intelligence/customers/{customer}", None, config["read_key"]),
        (
            "POST",
            "/api/intelligence/predict/churn",
            json.dumps({"customer_id": customer}).encode(),
            config["read_key"],
        ),
        ("GET", "/accounts/login/", None, None),
    ]

    def one(call: int) -> None:
        for method, path, data, key in [
            ("POST", "/api/data/orders", bodies[call], config["ingest_key"]),
            *reads,
        ]:
            headers = {"X-Forwarded-Proto": "https", "Content-Type": "application/json"}
            if key:
                headers["X-API-Key"] = key
            req = urllib.request.Request(host + path, data=data, method=method, headers=headers)
            with urllib.request.urlopen(req, timeout=120) as resp:
                resp.read()

    with common.timed() as t, ThreadPoolExecutor(max_workers=workers) as pool:
        for r in range(rounds):
            list(pool.map(one, range(r * workers, (r + 1) * workers)))
    return t.seconds


def locust_run(args, host: str, config_path: Path, out_dir: Path) -> int:
    cmd = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "_locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.run_time}s",
        "--stop-timeout",
        "60",  # let each user finish its request, so every answer is logged
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = dict(os.environ, LOADTEST_CONFIG=str(config_path))
    with (out_dir / "locust.log").open("w") as log:
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=args.run_time + 300,
            check=False,
        )
    return proc.returncode


# --- figures ----------------------------------------------------------------------------------


def samples_read(out_dir: Path) -> tuple[list[tuple[str, str, float, float, int, bool]], float, float]:
    """(samples, start, stop): every request, and the load window (test start to stop signal)."""
    samples = []
    for path in sorted(out_dir.glob("samples-*.csv")):
        with path.open(newline="") as fh:
            for group, name, end, ms, status, ok in csv.reader(fh):
                samples.append((group, name, float(end), float(ms), int(status), ok == "1"))
    runs = [json.loads(p.read_text()) for p in out_dir.glob("run-*.json")]
    if not runs or not samples:
        raise SystemExit(f"locust wrote no samples; see {out_dir / 'locust.log'}")
    return samples, min(r["started"] for r in runs), max(r["stopping"] for r in runs)


def _pct(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def figures_print(samples, start: float, stop: float) -> float:
    """Prints the table; returns the overall error ratio."""
    window = stop - start
    rows: dict[str, list] = defaultdict(list)
    for s in samples:
        rows[s[1]].append(s)
        rows[f"[{s[0]}]"].append(s)
        rows["[all]"].append(s)
    names = sorted(k for k in rows if not k.startswith("["))
    order = names + [f"[{g}]" for g in GROUPS if f"[{g}]" in rows] + ["[all]"]
    total = len(samples)
    print(f"\nLoad: {total:,} requests, {window:.0f} s window; latency in ms")
    head = (
        f"{'request':<52} {'count':>7} {'share':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    )
    print(head + f" {'errors':>7} {'5xx':>5}")
    for key in order:
        group = rows[key]
        ms = sorted(s[3] for s in group)
        in_window = sum(1 for s in group if s[2] <= stop)
        errors = sum(1 for s in group if not s[5])
        fivexx = sum(1 for s in group if s[4] >= 500)
        if key == "[all]" or key == f"[{GROUPS[0]}]":
            print("-" * (len(head) + 14))
        print(
            f"{key:<52} {len(group):>7,} {len(group) / total:>6.1%} {in_window / window:>7.1f}"
            f" {_pct(ms, 50):>7.0f} {_pct(ms, 95):>7.0f} {_pct(ms, 99):>7.0f} {ms[-1]:>7.0f}"
            f" {errors:>7} {fivexx:>5}"
        )
    errors = sum(1 for s in samples if not s[5])
    return errors / total


def server_errors_print(out_dir: Path) -> None:
    """Tracebacks in gunicorn's log (5xx answers, killed workers), with the last one's cause."""
    lines = (out_dir / "gunicorn.log").read_text(errors="replace").splitlines()
    tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    timeouts = sum("WORKER TIMEOUT" in line for line in lines)
    if tracebacks or timeouts:
        after = lines[tracebacks[-1] + 1 :] if tracebacks else []
        cause = next((line for line in after if line and not line.startswith(" ")), "")
        print(
            f"\ngunicorn.log: {len(tracebacks)} tracebacks, {timeouts} worker timeouts; last: {cause[:300]}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv if argv is not None else [])
    if not 1 <= args.batch <= 5_000:
        parser.error("--batch must be between 1 and 5,000 (the API's batch limit)")
    preflight(args.database_url, args.redis_url)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    out_dir = Path(args.out) if args.out else Path("/tmp") / f"quimbi-loadtest-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.glob("batches-*.jsonl")):
        raise SystemExit(f"{out_dir} holds an earlier run's logs; give an empty --out.")

    database_prepare(args.database_url, fresh=args.fresh)
    os.environ.update(CACHE_URL=args.redis_url, REDIS_URL=args.redis_url, EMAIL_BACKEND=LOCMEM_EMAIL)
    os.environ.pop("CELERY_BROKER_URL", None)
    common.django_setup(args.database_url)  # also migrates
    from django.core.cache import cache
    from django.db import connections

    # This Redis db's Quimbi keys: nothing cached from an earlier run (or an earlier database:
    # a cached active model version outlives a re-created database).
    cache.delete_pattern("*")
    base_load(customers=args.customers)
    source = f"load-{stamp}"
    config = run_config(source=source, batch=args.batch, wait=(args.wait_min, args.wait_max), out_dir=out_dir)
    config_path = out_dir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    connections.close_all()

    port = common.free_port()
    print(
        f"\ngunicorn: {args.workers} workers on 127.0.0.1:{port}; locust: {args.users} users, "
        f"{args.run_time} s, think time {args.wait_min}-{args.wait_max} s, {args.batch} records per batch; "
        f"source {source}; logs in {out_dir}",
        flush=True,
    )
    server = common.gunicorn_start(env=server_env(args), workers=args.workers, port=port, out_dir=out_dir)
    try:
        seconds = warm_up(host=f"http://127.0.0.1:{port}", config=config, workers=args.workers)
        print(
            f"warm-up: {seconds:.1f} s (each worker's first requests load the ML stack and models)",
            flush=True,
        )
        locust_rc = locust_run(args, f"http://127.0.0.1:{port}", config_path, out_dir)
    finally:
        common.gunicorn_stop(server)
    if locust_rc not in (0, 1):  # 1 only says some request failed; the table tells which
        print(f"locust exited with {locust_rc}; see {out_dir / 'locust.log'}")

    samples, start, stop = samples_read(out_dir)
    error_ratio = figures_print(samples, start, stop)
    server_errors_print(out_dir)
    print(f"\nerror ratio {error_ratio:.2%} (threshold {args.max_error_ratio:.2%})")
    report = _loadcheck.exactly_once_check(source=source, batches=_loadcheck.batches_read(out_dir))
    _loadcheck.report_print(report)
    failed = not report.ok or error_ratio > args.max_error_ratio or locust_rc not in (0, 1)
    if failed:
        print(f"\nLOAD TEST FAILED (logs in {out_dir})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
