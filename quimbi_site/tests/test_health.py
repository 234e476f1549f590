from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_healthz_needs_no_credentials(anon_client):
    assert anon_client.get("/healthz").status_code == 200


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    from quimbi_site import views

    monkeypatch.setattr(views, "_database_ok", lambda: False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["database"] == "unavailable"


def test_healthz_is_degraded_but_200_when_the_cache_is_down(client, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "set", broken)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "unavailable"}}


def test_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/data/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_idempotency_records_are_purged_after_their_retention():
    from quimbi_site.models import IdempotencyRecord
    from quimbi_site.tasks import idempotency_records_purge

    old = IdempotencyRecord.objects.create(owner="key:a", key="old", request_fingerprint="f", path="/api/x")
    IdempotencyRecord.objects.create(owner="key:a", key="new", request_fingerprint="f", path="/api/x")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_records_purge.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
