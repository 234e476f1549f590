from datetime import UTC, datetime

import httpx
import pytest
import respx

from generation.interface import GeneratedMessage
from intelligence.interface import CustomerScore
from support import platform
from support.platform import HttpPlatformClient, InProcessPlatformClient, get_client

pytestmark = pytest.mark.django_db
BASE = "http://platform.test"

INTEL = {
    "customer_id": "c-1",
    "as_of": "2026-11-01",
    "computed_at": "2026-11-02T10:00:00Z",
    "dna": {
        "axes": [{"axis": "price_sensitivity", "label": "deal_hunter", "strength": 0.8}],
        "archetype": "Deal hunter",
        "archetype_id": "a1",
        "model_version": "v1",
    },
    "churn": {
        "customer_id": "c-1",
        "probability": 0.7,
        "horizon_days": 90,
        "risk_band": "high",
        "top_factors": [
            {"feature": "gap", "label": "long gap", "value": 2.0, "contribution": 0.3, "direction": "raises"}
        ],
        "recommendations": ["call"],
        "model": "lightgbm",
        "model_version": "v1",
        "confidence": "high",
        "as_of": "2026-11-01",
    },
    "ltv": {
        "customer_id": "c-1",
        "horizon_days": 365,
        "predicted_spend": 420,
        "p10": 100,
        "p90": 900,
        "expected_orders": 2.5,
        "probability_of_purchase": 0.6,
        "expected_next_order_date": None,
        "historic_value": 1200.5,
        "model": "hurdle",
        "model_version": "v1",
        "confidence": "medium",
    },
    "historic": {
        "order_count": 5,
        "total_spent": 1200.5,
        "average_order_value": 240.1,
        "average_days_between_orders": 30.0,
        "first_order_at": "2025-01-01T00:00:00Z",
        "last_order_at": "2026-10-01T00:00:00Z",
        "days_since_last_order": 31,
        "top_categories": ["shoes"],
    },
    "features": {"recency": 31.0},
    "cached": False,
}


def test_default_is_in_process_and_http_when_url_set(settings):
    settings.QUIMBI_PLATFORM_URL = ""
    assert isinstance(get_client(), InProcessPlatformClient)
    settings.QUIMBI_PLATFORM_URL = BASE
    assert isinstance(get_client(), HttpPlatformClient)


@respx.mock
def test_http_rebuilds_dataclasses_sends_key_and_caches():
    route = respx.post(f"{BASE}/api/intelligence/analyze").mock(return_value=httpx.Response(200, json=INTEL))
    client = HttpPlatformClient(base_url=BASE, api_key="k.secret")
    intel = client.customer_intelligence(customer_id="c-1")
    assert intel.churn.top_factors[0].label == "long gap"
    assert intel.ltv.predicted_spend == 420.0 and isinstance(intel.ltv.predicted_spend, float)
    assert intel.historic.last_order_at == datetime(2026, 10, 1, tzinfo=UTC)
    assert intel.dna.label("price_sensitivity") == "deal_hunter"
    assert route.calls[0].request.headers["X-API-Key"] == "k.secret"
    client.customer_intelligence(customer_id="c-1")
    assert route.call_count == 1  # cached for 15 minutes


@respx.mock
def test_http_slow_or_down_is_unavailable_not_an_error():
    respx.post(f"{BASE}/api/intelligence/analyze").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.post(f"{BASE}/api/intelligence/score").mock(return_value=httpx.Response(503))
    respx.post(f"{BASE}/api/generation/message").mock(side_effect=httpx.ConnectError("down"))
    respx.post(f"{BASE}/api/data/interactions").mock(return_value=httpx.Response(500))
    client = HttpPlatformClient(base_url=BASE, api_key="k", timeout=0.1)
    assert client.customer_intelligence(customer_id="c-1") is None
    assert client.customer_score(customer_id="c-1", context={}) is None
    assert client.message_draft(profile={"customer_id": "c-1"}, context={}) is None
    assert client.interactions_report(records=[{"external_id": "ticket-1"}]) is False


@respx.mock
def test_http_message_and_score_decode():
    respx.post(f"{BASE}/api/generation/message").mock(
        return_value=httpx.Response(
            200,
            json={
                "subject": "",
                "body": "Hello",
                "notes": "",
                "goal": "resolve_support_issue",
                "channel": "email",
                "tone": "friendly",
                "backend": "offline",
                "model": "t",
                "reasoning": ["a"],
                "extra": 1,
            },
        )
    )
    respx.post(f"{BASE}/api/intelligence/score").mock(
        return_value=httpx.Response(
            200,
            json={
                "customer_id": "c-1",
                "score": 71,
                "context": "support_priority",
                "components": {"churn": 0.7},
                "reasons": ["high churn"],
            },
        )
    )
    client = HttpPlatformClient(base_url=BASE, api_key="k")
    assert client.message_draft(profile={"customer_id": "c-1"}, context={}) == GeneratedMessage(
        subject="",
        body="Hello",
        notes="",
        goal="resolve_support_issue",
        channel="email",
        tone="friendly",
        backend="offline",
        model="t",
        reasoning=("a",),
    )
    assert client.customer_score(customer_id="c-1", context={}) == CustomerScore(
        customer_id="c-1",
        score=71.0,
        context="support_priority",
        components={"churn": 0.7},
        reasons=("high churn",),
    )


def test_pages_work_when_platform_is_down(settings, client, django_user_model):
    """A platform URL that refuses connections: the ticket page and API still answer."""
    from support.services import tickets
    from support.tests.factories import AgentFactory, TeamFactory

    settings.QUIMBI_PLATFORM_URL = "http://127.0.0.1:9"  # discard port: connection refused, no network
    settings.QUIMBI_PLATFORM_TIMEOUT_SECONDS = 0.5
    team = TeamFactory()
    agent = AgentFactory(teams=[team])
    ticket = tickets.ticket_create(subject="Hi", body="Help", team=team, customer_id="c-404")
    client.force_login(agent.user)
    html = client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "intelligence unavailable" in html
    resp = client.post(f"/support/tickets/{ticket.pk}/draft", follow=True)
    assert resp.status_code == 200 and "intelligence unavailable" in resp.content.decode()


def test_in_process_failures_degrade(monkeypatch, real_platform):
    from intelligence import interface

    def boom(**kwargs):
        raise RuntimeError("model not ready")

    monkeypatch.setattr(interface, "analyze_customer", boom)
    assert InProcessPlatformClient().customer_intelligence(customer_id="nope") is None


def test_tickets_and_replies_are_reported_as_interactions(monkeypatch, django_capture_on_commit_callbacks):
    from support.services import tickets
    from support.tests.factories import AgentFactory

    sent: list = []
    monkeypatch.setattr(
        platform.InProcessPlatformClient,
        "interactions_report",
        lambda self, *, records: sent.append(records) or True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = tickets.ticket_create(subject="Hi", body="Help", customer_id="c-9")
    with django_capture_on_commit_callbacks(execute=True):
        tickets.message_add(ticket=ticket, body="Answer", author_kind="agent", agent=AgentFactory())
    first, second = sent
    assert first[0]["external_id"] == f"ticket-{ticket.pk}" and first[0]["customer_id"] == "c-9"
    assert first[0]["kind"] == "support_ticket" and first[0]["status"] == "new"
    assert second[0]["status"] == "open" and second[0]["updated_at"] >= first[0]["updated_at"]
    assert second[1]["external_id"].startswith(f"ticket-{ticket.pk}-message-")
