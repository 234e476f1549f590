"""Idempotency-Key on the data API: replay, conflicts, failures, owners, concurrency."""

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from ingestion import interface
from ingestion.models import Customer, IngestionBatch, Order, OrderLine
from ingestion.tests.api_data import cdnow_orders

pytestmark = pytest.mark.django_db
# The site layer's model, looked up by name: this app must not import quimbi_site.
IdempotencyRecord = apps.get_model("quimbi_site", "IdempotencyRecord")

ORDERS = "/api/data/orders"


def _post(client, body, key, path=ORDERS):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_replay_returns_the_first_response_and_writes_nothing(api_client):
    body = {"source": "cdnow", "records": cdnow_orders(10)}
    first = _post(api_client, body, "order-batch-1")
    replay = _post(api_client, body, "order-batch-1")

    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert first.json()["accepted"] == 10  # the replay says "accepted", not "duplicates"
    assert replay["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 10
    assert OrderLine.objects.count() == 10
    assert IngestionBatch.objects.count() == 1  # the service ran once
    record = IdempotencyRecord.objects.get()
    assert (record.status_code, record.path) == (200, ORDERS)


def test_replay_after_a_lost_response(api_client, monkeypatch):
    """The client never saw the answer (timeout) and retries: same result, one write."""
    body = {"source": "cdnow", "records": cdnow_orders(3)}
    _post(api_client, body, "lost-response")  # response "lost"
    calls = []
    monkeypatch.setattr(interface, "ingest_orders", lambda **kw: calls.append(kw))
    retry = _post(api_client, body, "lost-response")

    assert retry.status_code == 200
    assert retry.json()["accepted"] == 3
    assert calls == []


def test_the_same_data_serialised_again_is_a_replay(api_client):
    """A client that retries builds its body again: key order and spacing may change, the data not."""
    records = cdnow_orders(2)
    first = api_client.post(
        ORDERS,
        json.dumps({"source": "cdnow", "records": records}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="reserialised",
    )
    shuffled = [dict(reversed(list(r.items()))) for r in records]
    again = api_client.post(
        ORDERS,
        json.dumps({"records": shuffled, "source": "cdnow"}, indent=2, ensure_ascii=True),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="reserialised",
    )
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def test_bodies_differing_only_in_a_long_integer_are_different_requests(api_client):
    record = json.dumps(cdnow_orders(1)[0])[:-1]

    def post(n: int):
        body = f'{{"source": "cdnow", "records": [{record}, "note": {n}}}]}}'
        return api_client.post(ORDERS, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big")

    assert post(2**70).status_code == 200
    other = post(2**70 + 1)
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "idempotency_error"


def test_same_key_with_a_different_body_is_an_idempotency_error(api_client):
    records = cdnow_orders(4)
    first = _post(api_client, {"source": "cdnow", "records": records[:2]}, "k-1")
    conflict = _post(api_client, {"source": "cdnow", "records": records[2:]}, "k-1")

    assert conflict.status_code == 400
    assert conflict.json()["error"]["code"] == "idempotency_error"
    assert Order.objects.count() == 2
    # The original result is unchanged and still replayed.
    assert _post(api_client, {"source": "cdnow", "records": records[:2]}, "k-1").content == first.content


def test_same_key_on_another_endpoint_is_an_idempotency_error(api_client):
    body = {"source": "cdnow", "records": cdnow_orders(1)}
    _post(api_client, body, "k-2")
    response = _post(api_client, body, "k-2", path="/api/data/events")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_error"


def test_failed_validation_is_not_stored_and_the_fixed_retry_runs(api_client):
    bad = {"source": "cdnow", "records": [{**cdnow_orders(1)[0], "total": "abc"}]}
    assert _post(api_client, bad, "k-3").status_code == 400
    assert IdempotencyRecord.objects.count() == 0

    fixed = {"source": "cdnow", "records": cdnow_orders(1)}
    response = _post(api_client, fixed, "k-3")
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_keys_are_scoped_per_api_key(api_client):
    out = StringIO()
    call_command("create_api_key", "tenant-b", stdout=out)
    other = APIClient()
    other.credentials(HTTP_X_API_KEY=out.getvalue().strip())
    records = cdnow_orders(4)

    a = _post(api_client, {"source": "tenant-a", "records": records[:2]}, "shared-key")
    b = _post(other, {"source": "tenant-b", "records": records[2:]}, "shared-key")

    assert a.status_code == b.status_code == 200
    assert "Idempotent-Replayed" not in b
    assert b.json()["source"] == "tenant-b"
    assert Order.objects.filter(source="tenant-b").count() == 2
    assert IdempotencyRecord.objects.count() == 2


def test_expired_key_runs_as_a_new_request(api_client):
    body = {"source": "cdnow", "records": cdnow_orders(2)}
    _post(api_client, body, "old-key")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = _post(api_client, body, "old-key")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert response.json()["duplicates"] == 2  # ran again; the records themselves are deduplicated
    assert Order.objects.count() == 2


def test_webhooks_and_customers_honour_the_key_too(api_client):
    body = {"source": "shop", "customer": {"customer_id": "c-1", "email": "c1@example.com"}}
    first = _post(api_client, body, "cust-1", path="/api/data/customers")
    second = _post(api_client, body, "cust-1", path="/api/data/customers")
    assert first.json()["created"] is True
    assert second.json()["created"] is True  # replayed, not re-run
    assert Customer.objects.count() == 1


# --- Concurrency (PostgreSQL: real threads, real transactions) ------------------

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers and its in-memory test database "
    "is private to one connection, so concurrent requests cannot be reproduced",
)


def _threaded_posts(n, key, body, api_key, before=None):
    """n threads, each with its own client and database connection, released together."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key)
        try:
            barrier.wait(timeout=30)
            if before:
                before(i)
            results[i] = _post(client, body, key)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_execute_once(api_key, monkeypatch):
    body = {"source": "cdnow", "records": cdnow_orders(20)}
    executed = []
    real = interface.ingest_orders

    def counting(**kwargs):
        executed.append(threading.get_ident())
        return real(**kwargs)

    monkeypatch.setattr(interface, "ingest_orders", counting)
    threads, results = _threaded_posts(10, "concurrent-1", body, api_key)
    for t in threads:
        t.join(timeout=60)

    statuses = sorted(r.status_code for r in results)
    assert len(executed) == 1
    assert set(statuses) <= {200, 409}
    winners = [r for r in results if r.status_code == 200 and "Idempotent-Replayed" not in r]
    assert len(winners) == 1
    for r in results:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "idempotency_conflict"
        elif r is not winners[0]:
            assert r.content == winners[0].content  # finished first, then replayed
    assert Order.objects.count() == 20
    assert IdempotencyRecord.objects.count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_request_in_flight_answers_409_to_a_concurrent_retry(api_key, monkeypatch):
    """The first request is held inside the service (its transaction open) while
    retries arrive; they get 409 until it finishes, then the replay."""
    body = {"source": "cdnow", "records": cdnow_orders(5)}
    entered, release = threading.Event(), threading.Event()
    real = interface.ingest_orders

    def held(**kwargs):
        entered.set()
        assert release.wait(timeout=30)
        return real(**kwargs)

    monkeypatch.setattr(interface, "ingest_orders", held)
    first_threads, first = _threaded_posts(1, "held-key", body, api_key)
    assert entered.wait(timeout=30)
    retry_threads, retries = _threaded_posts(4, "held-key", body, api_key)
    for t in retry_threads:
        t.join(timeout=60)
    release.set()
    first_threads[0].join(timeout=60)

    assert [r.status_code for r in retries] == [409] * 4
    assert first[0].status_code == 200
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    replay = _post(client, body, "held-key")
    assert (replay.status_code, replay.content) == (200, first[0].content)
    assert Order.objects.count() == 5
    assert json.loads(replay.content)["accepted"] == 5
