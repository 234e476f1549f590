"""Fault: a Celery worker is SIGKILLed in the middle of a task, on a real Redis broker.

Real `celery -A quimbi_site worker` processes consume from Redis and write to the test
database. A hook module (fault_worker_hooks.py) stops the task at a chosen point inside
its work; the test then kills the worker there and checks that the work is redone and
that nothing happened twice:

- batch scoring, killed (the whole worker: main process and pool) after its rows were
  committed: a new worker gets the unacknowledged message back once the broker's
  visibility timeout has passed (acks_late) and scores again: one row per customer;
- the SLA check, its pool process killed between claiming a breached timer and writing
  the breach: the worker requeues the message (task_reject_on_worker_lost) and a new
  pool process redoes it: one breach and one escalation per breached timer.

Needs PostgreSQL (the workers share the test database) and Redis (REDIS_URL).
"""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from ingestion.models import Customer
from intelligence.models import CustomerIntelligence, ModelVersion
from support.models import SLAEvent, SLATimer, Ticket
from support.services import tickets
from support.tests.factories import PolicyFactory, TeamFactory

REDIS_URL = os.environ.get("REDIS_URL", "")
WAIT_SECONDS = 60  # upper bound for each phase; a normal run needs a few seconds
VISIBILITY_TIMEOUT = 3  # seconds before a killed worker's message is handed out again


def _redis_ok() -> bool:
    if not REDIS_URL.startswith("redis://"):
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: the workers are separate processes sharing the test database, "
        "which SQLite's in-memory test database cannot be",
    ),
    pytest.mark.skipif(not _redis_ok(), reason="needs a reachable Redis broker: set REDIS_URL=redis://..."),
    pytest.mark.django_db(transaction=True),
]


class Workers:
    """Real worker processes on a queue of their own, each in its own process group."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.queue = f"fault-{uuid.uuid4().hex[:12]}"
        self.procs: list[subprocess.Popen] = []
        self.held = tmp_path / "held"
        self.done = tmp_path / "done"
        from celery import Celery

        self.producer = Celery("fault-producer", broker=REDIS_URL)

    def env(self, *, hold: str, visibility_timeout: int) -> dict:
        db = connection.settings_dict
        password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "quimbi_site.settings",
            # pytest-django's test database (test_<name>), where this test's data is committed.
            "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": REDIS_URL,  # with a broker, settings turn eager execution off
            "CELERY_BROKER_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "QUIMBI_FAULT_DONE": str(self.done),
            "QUIMBI_FAULT_HELD": str(self.held),
            "QUIMBI_FAULT_HOLD": hold,
        }

    def start(self, *, hold: str = "", visibility_timeout: int = 3600) -> subprocess.Popen:
        n = len(self.procs) + 1
        command = [
            sys.executable, "-m", "celery", "-A", "quimbi_site", "worker",
            "-I", "quimbi_site.tests.fault_worker_hooks",
            "-Q", self.queue, "-n", f"{self.queue}-{n}@%h",
            "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with (self.tmp / f"worker{n}.log").open("w") as log:
            proc = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=self.env(hold=hold, visibility_timeout=visibility_timeout),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg takes the pool with it
            )
        self.procs.append(proc)
        return proc

    def send(self, task_name: str) -> str:
        return self.producer.send_task(task_name, queue=self.queue).id

    def wait_for(self, path: Path, what: str) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().strip():
                return path.read_text().strip()
            if all(p.poll() is not None for p in self.procs):
                pytest.fail(f"every worker exited while waiting for {what}\n{self.logs()}")
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.tmp.glob("*.log")))

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)

    def cleanup(self) -> None:
        self.kill_all()
        self.producer.close()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        # Only this test's queue and its unacknowledged messages: the database may hold others'.
        for key in client.scan_iter(match=f"*{self.queue}*"):
            client.delete(key)
        for tag, payload in (client.hgetall("unacked") or {}).items():
            if self.queue.encode() in payload:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


@pytest.fixture
def workers(tmp_path):
    w = Workers(tmp_path)
    yield w
    w.cleanup()


@pytest.fixture
def shop():
    """300 synthetic customers and a trained model, not yet scored (a few seconds)."""
    quiet = {"verbosity": 0, "stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("generate_shop", "--customers", "300", "--seed", "11", **quiet)
    call_command("train_models", **quiet)
    version = ModelVersion.objects.get(active=True)
    assert version.scored_as_of is None and not CustomerIntelligence.objects.exists()
    return version


def test_scoring_is_redone_by_a_new_worker_after_the_worker_is_killed(workers, shop):
    first = workers.start(hold="scoring.after_rows_write", visibility_timeout=VISIBILITY_TIMEOUT)
    task_id = workers.send("intelligence.customers_score_all")
    workers.wait_for(workers.held, "the scoring task to reach its hold point")

    # Held after its rows were committed, before the model version is marked scored.
    customers = Customer.objects.count()
    assert CustomerIntelligence.objects.count() == customers
    first_computed_at = CustomerIntelligence.objects.values_list("computed_at", flat=True).first()
    os.killpg(first.pid, signal.SIGKILL)  # the whole worker: main process and pool
    first.wait(timeout=30)
    assert not workers.done.exists()

    workers.start(visibility_timeout=VISIBILITY_TIMEOUT)
    done = workers.wait_for(workers.done, "a new worker to redo the scoring")

    assert done == f"{task_id} SUCCESS"
    rows = CustomerIntelligence.objects.all()
    assert rows.count() == customers
    assert rows.values("customer_id").distinct().count() == customers
    # Every row is the redo's (one write replaced the killed run's), and the run completed.
    assert set(rows.values_list("computed_at", flat=True).distinct()) != {first_computed_at}
    assert rows.values("computed_at").distinct().count() == 1
    shop.refresh_from_db()
    assert shop.scored_as_of is not None


def test_sla_check_is_redone_after_its_worker_process_is_killed(workers):
    PolicyFactory()  # first response within 60 minutes
    team = TeamFactory(slug="care")
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        late = [
            tickets.ticket_create(subject=f"Late {i}", body="Still waiting.", team=team, auto_assign=False)
            for i in range(3)
        ]
    breached = SLATimer.objects.filter(ticket__in=late, metric=SLATimer.Metric.FIRST_RESPONSE)
    assert breached.count() == 3

    # The default (long) visibility timeout: only the requeue on the lost pool process brings it back.
    worker = workers.start(hold="sla.second_breach")
    task_id = workers.send("support.tasks.sla_check")
    pool_pid = int(workers.wait_for(workers.held, "the SLA check to claim its second breach"))
    assert pool_pid != worker.pid
    assert SLAEvent.objects.filter(kind=SLAEvent.Kind.BREACH).count() == 1  # the first is done

    os.kill(pool_pid, signal.SIGKILL)  # the process running the task; the worker requeues it
    done = workers.wait_for(workers.done, "the SLA check to be redone")

    assert done == f"{task_id} SUCCESS"
    for timer in breached:
        assert timer.breached_at is not None and timer.escalated_at is not None
        events = list(SLAEvent.objects.filter(timer=timer).values_list("kind", flat=True))
        assert events.count(SLAEvent.Kind.BREACH) == 1
        assert events.count(SLAEvent.Kind.ESCALATE) == 1
    # Escalation bumped each ticket's priority exactly one step (normal -> high).
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in late]).values_list("priority", flat=True)) == {
        "high"
    }
