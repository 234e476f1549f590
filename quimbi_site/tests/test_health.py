import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


def test_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/data/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
