import dataclasses
import json

import pytest
from django.urls import reverse

from generation.models import GenerationLog

pytestmark = pytest.mark.django_db


def _profile(profiles):
    return json.loads(json.dumps(dataclasses.asdict(profiles[0]), default=str))


def test_message_endpoint(api_client, profiles):
    body = {
        "customer_profile": _profile(profiles),
        "context": {
            "conversation": [{"role": "customer", "text": "Where is order #1001? email me at a@b.example"}],
            "goal": "resolve_support_issue",
            "channel": "chat",
            "constraints": {"tone": "friendly", "length": "short"},
        },
    }
    response = api_client.post("/api/generation/message", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["backend"] == "offline" and data["channel"] == "chat" and "1001" in data["body"]
    log = GenerationLog.objects.get()
    assert log.requester.startswith("key:") and "a@b.example" not in json.dumps(
        {f.name: str(getattr(log, f.name)) for f in log._meta.fields}
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "non_field_errors"),
        ({"customer_profile": {"churn": {}}, "context": {"goal": "spam"}}, "context"),
        ({"customer_profile": {}, "context": {"channel": "fax"}}, "context"),
        ({"customer_profile": [1, 2]}, "customer_profile"),
    ],
)
def test_message_validation(api_client, body, field):
    response = api_client.post("/api/generation/message", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["details"]


def test_actions_content_timing_offer(api_client, profiles):
    profile = _profile(profiles)
    r = api_client.post(
        "/api/generation/actions",
        {"customer_profile": profile, "scenario": "support_ticket", "context": {"subject": "Late delivery"}},
        format="json",
    )
    assert r.status_code == 200 and r.json()["actions"][0]["priority"] == 1
    r = api_client.post("/api/generation/content", {"customer_profile": profile}, format="json")
    assert r.status_code == 200 and r.json()["recommendations"][0]["kind"] == "none"  # empty shop
    r = api_client.post(
        "/api/generation/timing", {"customer_profile": profile, "message_type": "sms"}, format="json"
    )
    assert r.status_code == 200 and 0 <= r.json()["hour"] <= 23
    r = api_client.post(
        "/api/generation/offer",
        {"customer_profile": profile, "products": [{"sku": "A", "price": "19.99"}]},
        format="json",
    )
    assert r.status_code == 200 and r.json()["max_discount_value"] <= 19.99
    r = api_client.post(
        "/api/generation/offer",
        {"customer_profile": profile, "products": [{"sku": "A", "price": -1}]},
        format="json",
    )
    assert r.status_code == 400


def test_auth_and_scope(anon_client, api_key, profiles):
    from django.apps import apps
    from rest_framework.test import APIClient

    ClientApiKey = apps.get_model("quimbi_site", "ClientApiKey")  # no import across the layers

    assert anon_client.post("/api/generation/message", {}, format="json").status_code in (401, 403)
    _, raw = ClientApiKey.objects.create_key(name="data-only", scopes=["data"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.post("/api/generation/message", {"customer_profile": {}}, format="json").status_code == 403


@pytest.mark.urls("generation.tests.urls")
def test_aliases(api_client, profiles):
    assert reverse("intelligence-generate-message") == "/api/intelligence/generate/message"
    r = api_client.post(
        "/api/intelligence/generate/message", {"customer_profile": _profile(profiles)}, format="json"
    )
    assert r.status_code == 200 and r.json()["goal"] == "resolve_support_issue"
    r = api_client.post(
        "/api/intelligence/recommend/actions",
        {"customer_profile": _profile(profiles), "scenario": "marketing_campaign"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["scenario"] == "marketing_campaign"


def test_schema_documents_generation(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    for op in ("message", "actions", "content", "timing", "offer"):
        assert f"/api/generation/{op}" in schema["paths"]


def test_admin_screens(admin_client, profiles):
    from generation import interface

    interface.generate_message(
        customer_profile=profiles[0],
        context={"conversation": [{"role": "customer", "text": "<script>alert(1)</script>"}]},
    )
    page = admin_client.get("/admin/generation/generationlog/")
    assert page.status_code == 200 and b"<script>alert(1)" not in page.content
    log = GenerationLog.objects.get()
    assert admin_client.get(f"/admin/generation/generationlog/{log.pk}/change/").status_code == 200
    assert admin_client.get("/admin/generation/tokenusage/?q=key").status_code == 200


@pytest.mark.parametrize(
    "context",
    [
        [1, 2],
        "text",
        {"issue": ["x"], "conversation": "not a list"},
        {"conversation": [1, None, {"text": 5}]},
        {"subject": "x" * 100_000},
    ],
)
def test_actions_with_odd_context_never_500(api_client, profiles, context):
    r = api_client.post(
        "/api/generation/actions", {"customer_profile": _profile(profiles), "context": context}, format="json"
    )
    assert r.status_code in (200, 400)


@pytest.mark.parametrize(
    "profile",
    [
        {"churn": {"probability": "high"}},
        {"historic": {"order_count": "many"}},
        {"dna": {"axes": "nope"}},
        {"ltv": {"predicted_spend": None}},
        {"churn": "x", "historic": [1]},
        {"dna": {"axes": [{"strength": "x"}]}},
        {"historic": {"last_order_at": "not a date", "top_categories": "Jazz"}},
    ],
)
def test_odd_profiles_are_400_or_handled(api_client, profile):
    r = api_client.post("/api/generation/message", {"customer_profile": profile}, format="json")
    assert r.status_code in (200, 400)
    if r.status_code == 400:
        assert r.json()["error"]["code"] == "validation_error"
