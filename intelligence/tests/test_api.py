"""The intelligence HTTP API with a trained model, and its error envelopes."""

import pytest

from intelligence.models import ModelVersion

pytestmark = pytest.mark.django_db
BASE = "/api/intelligence/"


def test_analyze_by_id_and_by_context(trained, customer_id, api_client):
    response = api_client.post(f"{BASE}analyze", {"customer_id": customer_id}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == customer_id and body["churn"]["horizon_days"] == 273
    context = {
        "orders": [
            {"placed_at": "1997-03-01T00:00:00Z", "total": 20},
            {"placed_at": "1997-05-01", "total": 30},
        ]
    }
    response = api_client.post(f"{BASE}analyze", {"context": context}, format="json")
    assert response.status_code == 200 and response.json()["historic"]["order_count"] == 2


@pytest.mark.parametrize(
    ("path", "extra", "key"),
    [
        ("predict/churn", {}, "probability"),
        ("predict/ltv", {"horizon_months": 6}, "predicted_spend"),
        ("score", {"scoring_context": "support_priority"}, "components"),
        ("explain", {"question": "how often do they buy?"}, "answer"),
    ],
)
def test_customer_operations(trained, customer_id, api_client, path, extra, key):
    response = api_client.post(f"{BASE}{path}", {"customer_id": customer_id, **extra}, format="json")
    assert response.status_code == 200, response.content
    assert key in response.json()


def test_segment_customer_detail_models_and_features(trained, customer_id, api_client):
    response = api_client.post(f"{BASE}segment", {"behavior": {"customer_id": customer_id}}, format="json")
    assert response.status_code == 200 and response.json()["archetype"]
    detail = api_client.get(f"{BASE}customers/{customer_id}")
    assert detail.status_code == 200 and detail.json()["dna"]["model_version"] == trained.label
    recent = detail.json()["recent_orders"]
    assert 0 < len(recent) <= 5 and set(recent[0]) == {"order_id", "placed_at", "total", "status"}
    assert [o["placed_at"] for o in recent] == sorted((o["placed_at"] for o in recent), reverse=True)
    models = api_client.get(f"{BASE}models").json()
    assert models[0]["version"] == trained.label and models[0]["active"]
    assert "roc_auc" in models[0]["metrics"]["churn"]
    features = api_client.get(f"{BASE}features").json()
    assert len(features["axes"]) == 14 and len(features["features"]) >= 60


def test_unknown_customer_is_a_404_envelope(trained, api_client):
    response = api_client.get(f"{BASE}customers/nobody")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_customer_id_with_a_nul_is_a_404_envelope(trained, api_client):
    # A URL's %00: PostgreSQL cannot compare text with a NUL, which was a 500 there.
    response = api_client.get(f"{BASE}customers/1%00")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# Raw JSON, so that 1e400 reaches the service (as an infinite float) as a client can send it.
# ORDER stands for one readable order.
ORDER = '{"placed_at": "1997-03-01T00:00:00Z", "total": 20}'


def _post_raw(api_client, path: str, json_text: str):
    return api_client.generic("POST", f"{BASE}{path}", json_text, content_type="application/json")


@pytest.mark.parametrize(
    "context",
    [
        '{"orders": [ORDER], "as_of": "not a date"}',
        '{"orders": [ORDER], "as_of": 5}',
        '{"orders": [ORDER], "as_of": "9999-12-31"}',
        '{"orders": [ORDER], "as_of": "0001-01-01"}',
        '{"orders": [ORDER], "as_of": "1990-01-01"}',  # before every order
        '{"orders": [{"placed_at": "0001-01-01T00:00:00+14:00", "total": 20}]}',
        '{"orders": [{"placed_at": "9999-12-31T23:00:00-12:00", "total": 20}]}',
        '{"orders": [{"placed_at": 1700000000, "total": 20}]}',
        '{"orders": [{"placed_at": "1997-03-01", "total": 1e400}]}',
        '{"orders": [{"placed_at": "1997-03-01", "total": 1e308}]}',
    ],
)
def test_inline_context_without_readable_behaviour_is_a_400(trained, api_client, context):
    """Each was a 500 (date arithmetic overflowing, empty frames, infinite totals in the answer)."""
    context = context.replace("ORDER", ORDER)
    for path, field in (("analyze", "context"), ("segment", "behavior")):
        response = _post_raw(api_client, path, f'{{"{field}": {context}}}')
        assert response.status_code == 400, (path, response.content[:300])
        assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "context",
    [
        '{"orders": [ORDER, {"placed_at": "1997-04-01", "total": "10", "item_count": 1e400, '
        '"lines": [{"sku": "A", "quantity": 1e400, "unit_price": "x", "discount": 1e400}]}]}',
        '{"orders": [ORDER, {"placed_at": "1997-04-01", "total": "10", "status": {"a": 1}, '
        '"channel": [1], "currency": 5, "lines": {"sku": "A"}}]}',
        '{"orders": [ORDER], "events": [{"occurred_at": "0001-01-01T00:00:00+01:00", "name": {}}], '
        '"interactions": [{"occurred_at": "1997-04-01", "kind": [1], "channel": {}}]}',
    ],
)
def test_unreadable_values_in_inline_context_count_as_missing(trained, api_client, context):
    """Values of another type or out of range, next to readable ones, were a 500 in the models."""
    context = context.replace("ORDER", ORDER)
    response = _post_raw(api_client, "analyze", f'{{"context": {context}}}')
    assert response.status_code == 200, response.content[:300]
    assert response.json()["historic"]["order_count"] == context.count('"placed_at"')


def test_no_model_is_a_503_envelope(trained, customer_id, api_client):
    ModelVersion.objects.update(active=False)
    response = api_client.post(f"{BASE}predict/churn", {"customer_id": customer_id}, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_not_ready"


def test_validation_and_auth_envelopes(trained, api_client, anon_client):
    response = api_client.post(f"{BASE}analyze", {}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    response = api_client.post(f"{BASE}score", {"customer_id": "x", "scoring_context": "nope"}, format="json")
    assert response.status_code in (400, 404)
    assert anon_client.get(f"{BASE}models").status_code in (401, 403)


def test_schema_documents_the_endpoints(api_client, staff_client):
    response = staff_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "analyze",
        "predict/churn",
        "predict/ltv",
        "segment",
        "score",
        "explain",
        "models",
        "features",
    ):
        assert f"/{BASE.strip('/')}/{path}" in paths
    assert "/api/intelligence/customers/{customer_id}" in paths
