"""The HTTP platform client against a real server (pytest-django live_server)."""

import pytest
from django.apps import apps

from support.platform import HttpPlatformClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http_client(live_server):
    model = apps.get_model("quimbi_site", "ClientApiKey")
    _, raw = model.objects.create_key(name="support-app")
    return HttpPlatformClient(base_url=live_server.url, api_key=raw, timeout=10)


def test_generation_over_http(http_client, real_platform):
    context = {
        "conversation": [{"role": "customer", "text": "Where is my parcel? It is two weeks late."}],
        "goal": "resolve_support_issue",
        "channel": "email",
    }
    profile = {"customer_id": "", "name": "Ann", "churn_probability": 0.8, "predicted_ltv": 900.0}
    message = http_client.message_draft(profile=profile, context=context)
    assert message is not None and message.body and message.backend == "offline"
    actions = http_client.actions_suggest(profile=profile, context=context)
    assert actions and actions[0].title and isinstance(actions[0].priority, int)


def test_interactions_over_http(http_client, real_platform):
    from ingestion import interface

    ok = http_client.interactions_report(
        records=[
            {
                "email": "ann@example.com",
                "external_id": "ticket-77",
                "occurred_at": "2026-11-20T10:00:00+00:00",
                "updated_at": "2026-11-20T10:00:00+00:00",
                "kind": "support_ticket",
                "status": "open",
            }
        ]
    )
    assert ok is True
    cid = interface.customer_resolve(source="email", external_id="ann@example.com")
    frame = interface.interactions_frame(customer_ids=[cid])
    assert list(frame.external_id) == ["ticket-77"]


def test_bad_key_over_http_is_unavailable(live_server, real_platform):
    client = HttpPlatformClient(base_url=live_server.url, api_key="bad.key", timeout=5)
    assert client.message_draft(profile={"name": "x"}, context={}) is None
    assert client.customer_intelligence(customer_id="1") is None
