"""Fault: the database connection dies in the middle of an ingestion batch.

On PostgreSQL the request's own backend is really terminated (`pg_terminate_backend`
from a second connection) at a point inside the request; on SQLite, whose in-memory
test database cannot lose its connection, the same point raises the OperationalError
a lost connection would. Each time the client must get a 503 JSON envelope, no record
may stay half-written, the Idempotency-Key must not be left "in flight", and the
client's retry with the same key must store every record exactly once. (A batch commits
its customers before its records, see `pipeline._write`: they may stay, and the retry
finds them.)

Transactional tests: a killed connection takes any surrounding test transaction with
it, and the retry must see only what the first attempt really committed.
"""

import dataclasses
from importlib import import_module

import psycopg
import pytest
import time_machine
from django.apps import apps
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone
from rest_framework.test import APIClient

from ingestion.models import Customer, ExternalRef, IngestionBatch, Order, OrderLine
from ingestion.services import orders, pipeline
from ingestion.tests.api_data import cdnow_orders

pytestmark = pytest.mark.django_db(transaction=True)
# The site layer's model and module, looked up by name: this app must not import quimbi_site.
IdempotencyRecord = apps.get_model("quimbi_site", "IdempotencyRecord")
idempotency = import_module("quimbi_site.idempotency")

ORDERS = "/api/data/orders"
BATCH = 25  # the first CDNOW purchases (6 customers), one line each


def _kill_connection() -> None:
    """Terminate the request's database connection, as a failover or an admin would."""
    if connection.vendor != "postgresql":
        raise OperationalError("server closed the connection unexpectedly (simulated)")
    pid = connection.connection.info.backend_pid
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    ) as killer:
        # The timeout makes the call wait until the backend is gone, so no race.
        (killed,) = killer.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()
    assert killed


def _killing(step):
    """`step`, but the connection is killed (once) right before it runs."""
    calls = []

    def wrapper(*args, **kwargs):
        if not calls:
            calls.append(1)
            _kill_connection()
        return step(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


@pytest.fixture
def client(api_key):
    # As a real server: an exception escaping the middleware becomes the 500 handler's answer.
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


@pytest.fixture
def batch():
    return {"source": "cdnow", "records": cdnow_orders(BATCH)}


def _post(client, batch):
    response = client.post(ORDERS, batch, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    # The test client keeps the connection between requests; a server drops a broken one
    # when the request ends (request_finished -> close_old_connections).
    close_old_connections()
    return response


def _assert_503_envelope(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "dependency_unavailable"
    assert response["Retry-After"]


def _stored() -> dict:
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "refs": ExternalRef.objects.count(),
        "customers": Customer.objects.count(),
    }


def _expected(batch) -> dict:
    customers = len({r["customer_id"] for r in batch["records"]})
    return {"orders": BATCH, "lines": BATCH, "refs": customers, "customers": customers}


def _assert_retry_stores_once(client, batch, *, accepted: int):
    retry = _post(client, batch)
    assert retry.status_code == 200, retry.content
    assert retry.json()["accepted"] == accepted
    assert retry.json()["accepted"] + retry.json()["duplicates"] == BATCH
    assert _stored() == _expected(batch)
    (record,) = IdempotencyRecord.objects.all()
    assert record.status_code == 200 and not record.in_flight
    replay = _post(client, batch)
    assert replay["Idempotent-Replayed"] == "true" and replay.content == retry.content
    assert _stored() == _expected(batch)


def test_killed_inside_the_write_transaction(client, batch, monkeypatch):
    """Killed after the orders went in and before their lines: every record rolls back. The
    customers, committed first, stay; the retry finds them and creates none again."""
    kill = _killing(orders.ORDERS.after_insert)
    monkeypatch.setattr(orders, "ORDERS", dataclasses.replace(orders.ORDERS, after_insert=kill))

    failed = _post(client, batch)

    assert kill.calls == [1]
    _assert_503_envelope(failed)
    assert _stored() == {**_expected(batch), "orders": 0, "lines": 0}
    assert IngestionBatch.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0  # not "in flight": the retry may run now
    _assert_retry_stores_once(client, batch, accepted=BATCH)
    assert IngestionBatch.objects.count() == 1


def test_killed_after_the_commit_before_the_batch_audit_row(client, batch, monkeypatch):
    """The records are committed, then the connection dies: the 503 is honest (the client
    cannot know), and the retry finds every record already stored and adds none."""
    kill = _killing(pipeline.batch_record)
    monkeypatch.setattr(pipeline, "batch_record", kill)

    failed = _post(client, batch)

    assert kill.calls == [1]
    _assert_503_envelope(failed)
    assert _stored() == _expected(batch)
    assert IdempotencyRecord.objects.count() == 0
    _assert_retry_stores_once(client, batch, accepted=0)


def test_killed_before_the_response_is_stored_for_replay(client, batch, monkeypatch):
    """The batch succeeded and the connection dies as the middleware stores the response:
    it stores it over a fresh connection, so the client gets its 200 and retries replay it."""
    kill = _killing(idempotency.record_complete)
    monkeypatch.setattr(idempotency, "record_complete", kill)

    first = _post(client, batch)

    assert kill.calls == [1]
    assert first.status_code == 200 and first.json()["accepted"] == BATCH
    assert _stored() == _expected(batch)
    (record,) = IdempotencyRecord.objects.all()
    assert record.status_code == 200
    replay = _post(client, batch)
    assert replay["Idempotent-Replayed"] == "true" and replay.content == first.content
    assert _stored() == _expected(batch)
    assert IngestionBatch.objects.count() == 1


def test_database_down_for_longer_the_key_waits_then_is_taken_over(client, batch, monkeypatch):
    """The connection is killed and the database stays away while the middleware cleans up:
    still a 503 envelope (not a 500), retries are told to wait (409) while the key looks in
    flight, and once it is stale a retry runs and stores every record once."""
    kill = _killing(orders.ORDERS.after_insert)
    monkeypatch.setattr(orders, "ORDERS", dataclasses.replace(orders.ORDERS, after_insert=kill))

    def database_down(**kwargs):
        raise OperationalError("could not connect to server (simulated)")

    real_abandon = idempotency.record_abandon
    monkeypatch.setattr(idempotency, "record_abandon", database_down)
    failed = _post(client, batch)
    monkeypatch.setattr(idempotency, "record_abandon", real_abandon)

    _assert_503_envelope(failed)
    assert _stored()["orders"] == 0
    assert IdempotencyRecord.objects.get().in_flight
    busy = _post(client, batch)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_conflict"

    with time_machine.travel(timezone.now() + idempotency.STALE_IN_FLIGHT * 2):
        _assert_retry_stores_once(client, batch, accepted=BATCH)
