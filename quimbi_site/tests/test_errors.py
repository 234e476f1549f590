"""One JSON error envelope for every /api/ error, with the statuses of DESIGN.md."""

import pytest
from django.db import OperationalError
from django.test import Client

from ingestion import interface
from ingestion.errors import CustomerNotFound

pytestmark = pytest.mark.django_db

URL = "/api/data/orders"
BATCH = {"source": "errors-test", "records": []}


def _envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_validation_error_details_name_the_fields(api_client):
    error = _envelope(api_client.post(URL, {"records": "x"}, format="json"), 400, "validation_error")
    assert set(error["details"]) == {"source", "records"}
    assert all(isinstance(m, str) for msgs in error["details"].values() for m in msgs)


def test_parse_error(api_client):
    response = api_client.generic("POST", URL, b"{", content_type="application/json")
    _envelope(response, 400, "parse_error")


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_path_is_a_json_404(api_client, settings, debug):
    settings.DEBUG = debug  # the default of `make run`: Django would answer its HTML debug page
    _envelope(api_client.get("/api/data/nothing-here"), 404, "not_found")
    _envelope(api_client.get("/api/nothing/at/all"), 404, "not_found")
    _envelope(api_client.post("/api/data/orders/", BATCH, format="json"), 404, "not_found")
    assert api_client.get("/api/schema").status_code == 301  # a missing slash is still redirected
    assert api_client.get("/nothing-here").status_code == 404  # pages keep their HTML 404


def test_method_not_allowed(api_client):
    _envelope(api_client.delete(URL), 405, "method_not_allowed")


def test_unsupported_media_type(api_client):
    _envelope(
        api_client.generic("POST", URL, b"source=x", content_type="text/csv"), 415, "unsupported_media_type"
    )


def test_body_too_large_is_413_before_the_view(api_client, settings):
    settings.QUIMBI_MAX_REQUEST_BYTES = 1000
    response = api_client.generic("POST", URL, b"{" + b" " * 2000 + b"}", content_type="application/json")
    _envelope(response, 413, "payload_too_large")


def test_app_errors_keep_their_code_and_status(api_client, monkeypatch):
    def missing(**kwargs):
        raise CustomerNotFound("No customer 42.", details={"customer_id": "42"})

    monkeypatch.setattr(interface, "ingest_orders", missing)
    error = _envelope(api_client.post(URL, BATCH, format="json"), 404, "not_found")
    assert error["details"] == {"customer_id": "42"}


def test_database_outage_is_a_retryable_503(api_client, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(interface, "ingest_orders", down)
    response = api_client.post(URL, BATCH, format="json")
    _envelope(response, 503, "dependency_unavailable")
    assert response["Retry-After"] == "5"


def test_database_outage_in_the_idempotency_middleware_is_a_503(api_client, monkeypatch):
    from quimbi_site import idempotency

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(idempotency, "record_begin", down)
    response = api_client.post(URL, BATCH, format="json", HTTP_IDEMPOTENCY_KEY="k")
    _envelope(response, 503, "dependency_unavailable")


def test_unexpected_error_is_a_json_500_without_internals(api_client, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(interface, "ingest_orders", boom)
    error = _envelope(api_client.post(URL, BATCH, format="json"), 500, "internal_error")
    assert "secret" not in error["message"]


def test_error_outside_drf_is_still_json_under_api(api_key, monkeypatch):
    """A crash in middleware never yields Django's HTML 500 page for /api/."""
    from quimbi_site import idempotency

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(idempotency, "record_begin", boom)
    client = Client(raise_request_exception=False)
    response = client.post(
        URL, BATCH, content_type="application/json", HTTP_X_API_KEY=api_key, HTTP_IDEMPOTENCY_KEY="k"
    )
    error = _envelope(response, 500, "internal_error")
    assert "secret" not in error["message"]
