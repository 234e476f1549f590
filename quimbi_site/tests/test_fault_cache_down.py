"""Fault: the cache (Redis) is down.

The default cache is pointed at a Redis port where nothing listens, configured as in
production (django-redis, IGNORE_EXCEPTIONS). Pages and the API must still answer,
healthz must say the cache is down, and what has to stay correct while Redis is away
(throttle counters, Idempotency-Key replays) must, because it lives in the database.
"""

import hashlib
import io
import socket

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.management import call_command
from django.test import Client, override_settings

from ingestion.models import Order
from quimbi_site.api.throttling import ScopedDatabaseThrottle
from quimbi_site.models import IdempotencyRecord
from quimbi_site.settings import redis_cache
from support.services import tickets
from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory

pytestmark = pytest.mark.django_db

ORDERS = "/api/data/orders"


def _free_port() -> int:
    """A local port nobody listens on: bound once by us, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cache_down():
    dead_redis = redis_cache(f"redis://127.0.0.1:{_free_port()}/0")  # production's options, nobody listening
    with override_settings(CACHES={**settings.CACHES, "default": dead_redis}):
        # Really down: writes vanish, reads miss, and nothing raises.
        cache.set("probe", "1", 30)
        assert cache.get("probe") is None
        assert caches["default"].__class__.__name__ == "RedisCache"
        yield
    # Changing CACHES rebuilt every cache; the throttle class keeps the instance it was built with.
    caches["throttle"] = ScopedDatabaseThrottle.cache


@pytest.fixture
def small_shop():
    """A synthetic shop of 150 customers with a trained, scored model (a few seconds)."""
    quiet = {"verbosity": 0, "stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("generate_shop", "--customers", "150", "--seed", "7", **quiet)
    call_command("train_models", **quiet)
    call_command("score_customers", **quiet)
    from intelligence.models import CustomerIntelligence

    return CustomerIntelligence.objects.order_by("-order_count", "customer_id").first().customer_id


def _owner(api_key: str) -> str:
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:40]


def _orders(n: int, prefix: str) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{i}",
            "customer_id": f"{prefix}-c{i % 3}",
            "placed_at": f"2026-01-0{i % 9 + 1}T10:00:00Z",
            "total": "19.90",
            "lines": [{"sku": "SKU-1", "title": "Tea", "quantity": 1, "unit_price": "19.90"}],
        }
        for i in range(n)
    ]


def test_healthz_reports_the_cache_down_and_still_answers(cache_down, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "unavailable"}}


def test_agent_and_staff_pages_answer(cache_down, small_shop, staff_client):
    team = TeamFactory(slug="care", name="Care", auto_assign=False)
    agent = AgentFactory(teams=[team])
    PolicyFactory()
    ticket = tickets.ticket_create(subject="Where is my parcel?", body="It is late.", team=team)
    agent_client = Client()
    agent_client.force_login(agent.user)

    assert agent_client.get("/support/").status_code == 200
    page = agent_client.get(f"/support/tickets/{ticket.pk}/")
    assert page.status_code == 200 and b"Where is my parcel?" in page.content
    assert agent_client.get("/support/dashboard/").status_code == 200

    dashboard = staff_client.get("/intelligence/")
    assert dashboard.status_code == 200
    # Twice: the second visit cannot be served from the cache and is computed again.
    for _ in range(2):
        detail = staff_client.get(f"/intelligence/customers/{small_shop}/")
        assert detail.status_code == 200 and small_shop.encode() in detail.content


def test_api_answers(cache_down, small_shop, api_client):
    stored = api_client.post(ORDERS, {"source": "shop", "records": _orders(3, "api")}, format="json")
    assert stored.status_code == 200 and stored.json()["accepted"] == 3

    for _ in range(2):
        detail = api_client.get(f"/api/intelligence/customers/{small_shop}")
        assert detail.status_code == 200 and detail.json()["customer_id"] == small_shop
    score = api_client.post(
        "/api/intelligence/score",
        {"customer_id": small_shop, "scoring_context": "support_priority"},
        format="json",
    )
    assert score.status_code == 200 and 0 <= score.json()["score"] <= 100
    message = api_client.post(
        "/api/generation/message",
        {"customer_id": small_shop, "context": {"goal": "win_back", "channel": "email"}},
        format="json",
    )
    assert message.status_code == 200 and message.json()["body"]


def test_throttling_still_limits(cache_down, api_client, monkeypatch):
    # DRF binds the rates to the class when it is imported; patch them there.
    monkeypatch.setattr(ScopedDatabaseThrottle, "THROTTLE_RATES", {"ingestion": "3/min"})
    batch = {"source": "throttle", "records": []}
    statuses = [api_client.post(ORDERS, batch, format="json").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert ScopedDatabaseThrottle.cache.__class__.__name__ == "DatabaseCache"


def test_idempotency_replays_and_conflicts_stay_exact(cache_down, api_client, api_key):
    body = {"source": "shop", "records": _orders(4, "idem")}
    first = api_client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    replay = api_client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")

    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true" and replay.content == first.content
    assert first.json()["accepted"] == 4 and Order.objects.filter(source="shop").count() == 4

    other_body = {"source": "shop", "records": _orders(2, "other")}
    conflict = api_client.post(ORDERS, other_body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert conflict.status_code == 400 and conflict.json()["error"]["code"] == "idempotency_error"
    bad_key = api_client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert bad_key.status_code == 400 and bad_key.json()["error"]["code"] == "idempotency_error"

    # The first request under a key is still in flight: the retry is told to wait (409), not run twice.
    api_client.post(ORDERS, other_body, format="json", HTTP_IDEMPOTENCY_KEY="batch-2")
    IdempotencyRecord.objects.filter(owner=_owner(api_key), key="batch-2").update(
        status_code=None, response_body=None
    )
    busy = api_client.post(ORDERS, other_body, format="json", HTTP_IDEMPOTENCY_KEY="batch-2")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_conflict"
    assert Order.objects.filter(source="shop").count() == 6  # 4 + the 2 of batch-2, once
