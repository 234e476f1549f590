"""Scoped throttling per API key, counted in the database cache."""

import pytest
from rest_framework.test import APIClient

from quimbi_site.api.throttling import ScopedDatabaseThrottle
from quimbi_site.models import ClientApiKey

pytestmark = pytest.mark.django_db

URL = "/api/data/orders"
BATCH = {"source": "throttle-test", "records": []}


@pytest.fixture
def low_rate(monkeypatch):
    # DRF binds the rates to the class when it is imported; patch them there.
    monkeypatch.setattr(ScopedDatabaseThrottle, "THROTTLE_RATES", {"ingestion": "3/min"})


def test_burst_over_the_rate_is_429_with_retry_after(api_client, low_rate):
    statuses = [api_client.post(URL, BATCH, format="json").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = api_client.post(URL, BATCH, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 61


def test_each_key_has_its_own_budget(api_client, low_rate):
    for _ in range(3):
        api_client.post(URL, BATCH, format="json")
    assert api_client.post(URL, BATCH, format="json").status_code == 429

    _, other_key = ClientApiKey.objects.create_key(name="other-tenant")
    other = APIClient()
    other.credentials(HTTP_X_API_KEY=other_key)
    assert other.post(URL, BATCH, format="json").status_code == 200


def test_counters_live_in_the_database_cache(api_client, low_rate):
    from django.core.cache import caches

    api_client.post(URL, BATCH, format="json")
    assert ScopedDatabaseThrottle.cache is caches["throttle"]
    assert caches["throttle"].__class__.__name__ == "DatabaseCache"


def test_shopify_webhooks_are_not_throttled(anon_client, low_rate):
    statuses = {
        anon_client.post("/api/data/webhooks/shopify/orders/create", {}, format="json").status_code
        for _ in range(5)
    }
    assert statuses == {401}  # unsigned: rejected by the HMAC check, never by the throttle


def _api_views():
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns)
            elif isinstance(p, URLPattern) and hasattr(p.callback, "cls"):
                yield str(p.pattern), p.callback.cls

    return list(walk(get_resolver().url_patterns))


def test_every_authenticated_api_view_has_a_configured_throttle_scope(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    unthrottled = [
        (route, cls.__name__)
        for route, cls in _api_views()
        if getattr(cls, "api_scope", None) and getattr(cls, "throttle_scope", None) not in rates
    ]
    assert _api_views() and unthrottled == []


def test_migrate_alone_creates_the_counters_table(api_client, low_rate):
    """`migrate` is all a deployment needs: the cache table is not left to `createcachetable`."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    table = ScopedDatabaseThrottle.cache._table
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{table}"')
    assert table not in connection.introspection.table_names()

    migration = import_module("quimbi_site.migrations.0003_cache_tables")
    # The operation reads only the connection from its schema editor (SQLite opens no schema
    # editor inside the test's transaction).
    migration.cache_tables_create(apps, SimpleNamespace(connection=connection))

    assert table in connection.introspection.table_names()
    statuses = [api_client.post(URL, BATCH, format="json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
