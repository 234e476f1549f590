"""The Idempotency-Key middleware's own rules (the data API tests cover replay end to end)."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from quimbi_site import idempotency
from quimbi_site.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

URL = "/api/data/events"
BODY = {"source": "idem-test", "records": []}


def _owner(api_key: str) -> str:
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:40]


def _post(client, key):
    return client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_key_length_is_checked(api_client):
    # A NUL cannot be stored as text on PostgreSQL (it was a 500 there).
    for bad in ("", "x" * 256, "retry\x00-1"):
        response = _post(api_client, bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "idempotency_error"
    assert _post(api_client, "x" * 255).status_code == 200


def test_in_flight_key_is_a_retryable_409(api_client, api_key):
    first = _post(api_client, "busy")
    record = IdempotencyRecord.objects.get(owner=_owner(api_key), key="busy")
    # Make it look like the first request is still running.
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=None, response_body=None)
    response = _post(api_client, "busy")

    assert first.status_code == 200
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert response["Retry-After"] == "1"


def test_stale_in_flight_record_is_taken_over(api_client, api_key):
    _post(api_client, "orphan")
    # Left behind by a worker that died ten minutes ago, without a response.
    IdempotencyRecord.objects.update(status_code=None, created_at=timezone.now() - timedelta(minutes=10))
    response = _post(api_client, "orphan")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert IdempotencyRecord.objects.get().status_code == 200


def test_keys_belong_to_the_caller(api_client, api_key, staff_client, staff_user):
    _post(api_client, "mine")
    staff_response = staff_client.post(
        URL, BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY="mine"
    )

    assert staff_response.status_code == 200
    assert "Idempotent-Replayed" not in staff_response
    owners = set(IdempotencyRecord.objects.values_list("owner", flat=True))
    assert owners == {_owner(api_key), f"user:{staff_user.pk}"}


def test_anonymous_requests_are_not_recorded(anon_client):
    response = anon_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="anon")
    assert response.status_code == 401
    assert IdempotencyRecord.objects.count() == 0


def test_get_requests_ignore_the_header(api_client):
    api_client.get("/api/data/events", HTTP_IDEMPOTENCY_KEY="get")
    assert IdempotencyRecord.objects.count() == 0


def test_record_begin_complete_abandon():
    record, created = idempotency.record_begin(owner="key:x", key="k", fingerprint="f", path=URL)
    assert created and record.in_flight
    again, created_again = idempotency.record_begin(owner="key:x", key="k", fingerprint="f", path=URL)
    assert (again.pk, created_again) == (record.pk, False)
    idempotency.record_abandon(record=record)
    assert IdempotencyRecord.objects.count() == 0


def test_purge_keeps_records_inside_the_retention():
    idempotency.record_begin(owner="key:x", key="fresh", fingerprint="f", path=URL)
    old, _ = idempotency.record_begin(owner="key:x", key="old", fingerprint="f", path=URL)
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    assert idempotency.records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
