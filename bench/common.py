"""Shared helpers for the benchmarks: database choice, Django set-up, timing, printing.

Benchmarks print figures; they never assert timings (tests do not either).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_URL = "postgres://postgres@127.0.0.1:5432/quimbi_bench"


def bench_database_url() -> tuple[str, bool]:
    """(url, owned): DATABASE_URL when it is PostgreSQL, else our own `quimbi_bench`.

    `owned` is True for the bench's own database, which is dropped and re-created
    fresh; a database named by DATABASE_URL is only migrated, never dropped.
    """
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return url, False
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_BENCH_URL), True


def libpq_url(url: str) -> str:
    """django-environ accepts postgres:// and pgsql://; libpq wants postgresql://."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def database_recreate(url: str) -> None:
    """Drop and create the database named in `url` (connecting to the `postgres` maintenance db)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(libpq_url(url))
    name = parts.path.lstrip("/")
    if name in ("", "postgres", "template0", "template1", "test", "test_test"):
        raise SystemExit(f"Refusing to recreate database {name!r}.")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_setup(database_url: str) -> None:
    """Point Django at `database_url` (before the first set-up) and migrate it."""
    import django

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_site.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise SystemExit(f"The benchmarks need PostgreSQL, got {engine}.")
    call_command("migrate", verbosity=0, interactive=False)


class Timing:
    """What `timed()` measured: wall seconds, CPU seconds (this process and the child processes it
    waited for: on a shared machine, wall time also depends on the others), and the CPU seconds
    of the database server when it runs on this machine (else None)."""

    seconds = 0.0
    cpu = 0.0
    db_cpu: float | None = None


@contextmanager
def timed():
    """`with timed() as t: ...` then `t.seconds`, `t.cpu` and `t.db_cpu` (a `Timing`)."""
    t = Timing()
    start, cpu_start, db_start = time.perf_counter(), _cpu(), database_cpu()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start
        t.cpu = _cpu() - cpu_start
        db_end = database_cpu()
        t.db_cpu = None if db_start is None or db_end is None else db_end - db_start


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def database_cpu() -> float | None:
    """CPU seconds spent so far by the PostgreSQL server processes of this machine (Linux /proc;
    the postmaster's count of its children holds the backends that have ended), or None when
    none is seen here (a database on another machine)."""
    stats = [_proc_stat(int(p)) for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []
    ticks = [t for name, t in filter(None, stats) if name.startswith("postgres")]
    return sum(ticks) / os.sysconf("SC_CLK_TCK") if ticks else None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(command name, CPU ticks of the process and of its reaped children) from /proc, or None
    when it ended meanwhile or is not ours to read."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            head, _, rest = fh.read().rpartition(")")
    except OSError:
        return None
    return head.partition("(")[2], sum(int(f) for f in rest.split()[11:15])  # utime, stime, cutime, cstime


def load_text() -> str:
    """The machine's load average (1, 5, 15 min) and CPU count, to read timings against."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "")
    return int(raw) if raw else default


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def print_table(
    title: str, rows: list[tuple[str, int, float, float | None, str, float | None, float | None]]
) -> None:
    """rows: (name, n, seconds, ratio to the limit or None, target text, CPU seconds or None,
    database CPU seconds or None)."""
    print(f"\n{title}")
    head = f"{'rows':>10} {'seconds':>9} {'rows/s':>10} {'x COPY':>7} {'CPU us/row':>10} {'DB us/row':>9}"
    print(f"{'path':<34} {head}  target")
    for name, n, seconds, ratio, target, cpu, db_cpu in rows:
        ratio_s = f"{ratio:.2f}" if ratio is not None else "-"
        cpu_s = f"{cpu / n * 1e6:.1f}" if cpu is not None and n else "-"
        db_s = f"{db_cpu / n * 1e6:.1f}" if db_cpu is not None and n else "-"
        figures = f"{n:>10,} {seconds:>9.1f} {rate(n, seconds):>10,.0f} {ratio_s:>7} {cpu_s:>10} {db_s:>9}"
        print(f"{name:<34} {figures}  {target}")


# --- gunicorn --------------------------------------------------------------------------------


def server_env(database_url: str) -> dict[str, str]:
    """This environment, set for a production-like server on `database_url`: DEBUG off, a fresh
    secret key, warnings only in the log, and no broker (tasks run eagerly in the request)."""
    import secrets

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_start(*, env: dict[str, str], workers: int, port: int, out_dir: Path) -> subprocess.Popen:
    """gunicorn (quimbi_site.wsgi, the project's gunicorn.conf.py) on 127.0.0.1:`port` with `env`,
    once /healthz answers "ok". Logs in `out_dir`: gunicorn.log, and access.log with the
    server-side duration of every request (to tell server time from client-side queueing)."""
    log = (out_dir / "gunicorn.log").open("w")
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "quimbi_site.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--graceful-timeout",
        "20",
        "--error-logfile",
        "-",
        "--access-logfile",
        str(out_dir / "access.log"),
        "--access-logformat",
        '%(t)s %(p)s "%(r)s" %(s)s %(M)sms',
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()  # the child has its own descriptor
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {out_dir / 'gunicorn.log'}")
        try:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                health = json.loads(resp.read())
            if health.get("status") != "ok":
                gunicorn_stop(proc)
                raise SystemExit(f"/healthz is {health}; the benchmark needs the database and the cache.")
            return proc
        except OSError:
            time.sleep(0.5)
    gunicorn_stop(proc)
    raise SystemExit("gunicorn did not answer /healthz within 90 s")


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of process `pid` and its children (Linux /proc): what a server spent, when it is
    not a child this process waits for."""
    stats = filter(None, (_proc_stat(p) for p in [pid, *_children(pid)]))
    return sum(ticks for _, ticks in stats) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


def gunicorn_stop(proc: subprocess.Popen) -> None:
    """Graceful stop (SIGTERM lets workers finish their requests), then a kill if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
