"""Writers side by side stay exactly-once: parallel file imports on PostgreSQL, and the retry
protocol of a batch that lost a race (both backends)."""

import json
import multiprocessing
import random
import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from ingestion.models import Customer, ExternalRef, Order, OrderLine
from ingestion.services import _db, orders, pipeline
from ingestion.services.files import file_ingest
from ingestion.synthetic import iter_orders

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite runs one writer at a time and its in-memory test database "
    "is private to one connection",
)


def _base_orders() -> list[dict]:
    records = [dict(r) for _, r in zip(range(1200), iter_orders(customers=200, seed=7), strict=False)]
    random.Random(7).shuffle(records)  # every chunk names many customers, as exports sorted by time do
    return records


def _write(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _import(path, start, results) -> None:
    start.wait(timeout=30)
    summary = file_ingest(path=str(path), source="race", fmt="jsonl", chunk_size=100, workers=2)
    results.put((path.name, summary.accepted, summary.duplicates, summary.updated, summary.rejected))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_imports_of_overlapping_files_store_every_order_once(tmp_path):
    base = _base_orders()
    shared, only_a, only_b = base[:400], base[400:800], base[800:]
    newer = [{**r, "total": 1.0, "updated_at": "2030-01-01T00:00:00Z"} for r in shared[:200]]
    older = [{**r, "total": 2.0, "updated_at": "2000-01-01T00:00:00Z"} for r in shared[200:]]
    _write(tmp_path / "a.jsonl", shared + only_a)  # both files start with the shared orders
    _write(tmp_path / "b.jsonl", newer + older + only_b)

    connections.close_all()  # the forked importers open their own connections
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_import, args=(tmp_path / n, start, results)) for n in ("a.jsonl", "b.jsonl")]
    for p in procs:
        p.start()
    start.set()
    summaries = {}
    for _ in procs:
        name, *counts = results.get(timeout=120)
        summaries[name] = counts
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    accepted = sum(s[0] for s in summaries.values())
    assert accepted == len(base) == Order.objects.count()
    assert all(sum(s) == 800 for s in summaries.values())
    assert sum(s[1] + s[2] for s in summaries.values()) == len(shared)  # duplicates + updates
    assert not any(s[3] for s in summaries.values())
    totals = dict(Order.objects.values_list("external_id", "total"))
    assert {float(totals[r["external_id"]]) for r in newer} == {1.0}  # the newer version won
    assert all(float(totals[r["external_id"]]) == float(r["total"]) for r in shared[200:])  # older lost
    assert OrderLine.objects.count() == sum(len(r["lines"]) for r in base)
    people = {r["customer_id"] for r in base}
    assert Customer.objects.count() == len(people)  # no customer created twice (none merged)
    assert ExternalRef.objects.filter(source="race").count() == len(people)
    assert ExternalRef.objects.filter(source="email").count() == len({r["email"] for r in base})


@pytest.mark.django_db
def test_a_batch_that_lost_a_race_runs_again_alone(monkeypatch):
    """A deadlock (or unique conflict) with another writer rolls the batch's records back; its next
    attempt takes the writers' lock exclusively, so it waits for the batches in flight and sees
    their rows, and runs as one transaction. The customers its first attempt committed are found
    again, not created twice."""
    locks, real_insert = [], pipeline._insert

    def deadlock_once(*args):
        if len(locks) == 2:  # the first attempt: its customers step, then its store step
            cause = type("DeadlockDetected", (Exception,), {"sqlstate": "40P01"})()
            raise OperationalError("deadlock detected") from cause
        return real_insert(*args)

    monkeypatch.setattr(_db, "writers_lock", lambda *, exclusive: locks.append(exclusive))
    monkeypatch.setattr(pipeline, "_insert", deadlock_once)
    records = [dict(r) for _, r in zip(range(5), iter_orders(customers=20, seed=1), strict=False)]
    result = orders.orders_ingest(source="race", records=records)
    assert result.accepted == len(records) == 5
    assert locks == [False, False, True]
    assert Order.objects.count() == 5
    assert Customer.objects.count() == len({r["customer_id"] for r in records})
    assert sorted(result.customer_ids) == sorted(
        str(pk) for pk in Customer.objects.values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_other_database_errors_are_not_retried(monkeypatch):
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(pipeline, "_write", broken)
    with pytest.raises(OperationalError):
        orders.orders_ingest(source="race", records=[{"external_id": "x"}])
    assert len(calls) == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_writers_meeting_the_same_new_customer_link_it_again_without_running_the_batch_again(monkeypatch):
    """The second writer's ref insert waits for the first writer's commit, then conflicts: only
    its identity step is rolled back and linked again, to the first writer's customer."""
    locks, real_lock = [], _db.writers_lock

    def lock(*, exclusive):
        locks.append(exclusive)
        real_lock(exclusive=exclusive)

    monkeypatch.setattr(_db, "writers_lock", lock)
    first, second = _two_orders_of_one_new_customer()
    first_written, release, results = threading.Event(), threading.Event(), {}

    def write(name, record, hold):
        try:
            with transaction.atomic():
                results[name] = orders.orders_ingest(source="race", records=[record])
                if hold:
                    first_written.set()
                    release.wait(timeout=30)
        finally:
            connections.close_all()

    a = threading.Thread(target=write, args=("a", first, True))
    b = threading.Thread(target=write, args=("b", second, False))
    a.start()
    try:
        assert first_written.wait(timeout=30)
        b.start()
        _wait_for_a_lock_wait()
    finally:
        release.set()
        a.join(timeout=30)
        b.join(timeout=30)

    assert results["a"].accepted == results["b"].accepted == 1
    assert locks and True not in locks  # neither batch ran again alone
    assert Customer.objects.count() == 1
    assert set(Order.objects.values_list("customer_id", flat=True)) == {Customer.objects.get().pk}
    assert ExternalRef.objects.filter(source="race").count() == 1
    assert ExternalRef.objects.filter(source="email").count() == 1


def _two_orders_of_one_new_customer() -> tuple[dict, dict]:
    first, second = (dict(r) for _, r in zip(range(2), iter_orders(customers=5, seed=3), strict=False))
    shared = {"customer_id": "c-shared", "email": "shared@example.com"}
    return {**first, **shared}, {**second, **shared}


def _wait_for_a_lock_wait() -> None:
    """Until some session of this database waits for a lock (the second writer, for the first)."""
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the second writer never waited for the first")


def _store_paused(monkeypatch, external_id: str) -> tuple[threading.Event, threading.Event]:
    """`(in_store, release)`: the batch about to store `external_id` sets `in_store`, then waits
    for `release` inside its records' transaction."""
    in_store, release = threading.Event(), threading.Event()
    real_insert = pipeline._insert

    def insert(kind, source, new, pks):
        if new and new[0]["external_id"] == external_id:
            in_store.set()
            release.wait(timeout=30)
        return real_insert(kind, source, new, pks)

    monkeypatch.setattr(pipeline, "_insert", insert)
    return in_store, release


def _thread(results: dict, name: str, fn) -> threading.Thread:
    """A thread that keeps `fn()` in `results[name]` and closes its own connections."""

    def run():
        try:
            results[name] = fn()
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_writers_sharing_a_new_customer_do_not_wait_for_each_others_records(monkeypatch):
    """A batch commits its customers before its records: a second writer that meets the same new
    person finds the first one's customer and finishes while the first still writes its records."""
    first, second = _two_orders_of_one_new_customer()
    in_store, release = _store_paused(monkeypatch, first["external_id"])
    results = {}
    a = _thread(results, "a", lambda: orders.orders_ingest(source="race", records=[first]))
    b = _thread(results, "b", lambda: orders.orders_ingest(source="race", records=[second]))
    a.start()
    try:
        assert in_store.wait(timeout=30)
        b.start()
        b.join(timeout=30)
        assert not b.is_alive()  # done while the first writer holds its records' transaction
        assert "a" not in results
    finally:
        release.set()
        a.join(timeout=30)
        b.join(timeout=30)
    assert results["a"].accepted == results["b"].accepted == 1
    customer = Customer.objects.get()
    assert list(Order.objects.values_list("customer_id", flat=True).distinct()) == [customer.pk]
    assert ExternalRef.objects.filter(source="race").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_deleting_a_customer_waits_for_the_writers_in_flight_and_leaves_no_order_behind(monkeypatch):
    """Orders carry no database foreign key (see Order.customer): a delete that did not wait
    could miss an order a batch was storing for the customer, and leave it pointing at nobody."""
    from ingestion.services import identity

    first, second = _two_orders_of_one_new_customer()
    orders.orders_ingest(source="race", records=[first])
    customer = Customer.objects.get()
    in_store, release = _store_paused(monkeypatch, second["external_id"])
    done = {}
    writer = _thread(done, "write", lambda: orders.orders_ingest(source="race", records=[second]))
    deleter = _thread(done, "delete", lambda: identity.customer_delete(customer))
    writer.start()
    try:
        assert in_store.wait(timeout=30)  # the writer holds the customer, mid-store
        deleter.start()
        _wait_for_a_lock_wait()
        assert "delete" not in done
    finally:
        release.set()
        writer.join(timeout=30)
        deleter.join(timeout=30)
    assert done["write"].accepted == 1 and "delete" in done
    assert not Customer.objects.exists()
    assert not Order.objects.exists() and not OrderLine.objects.exists()
