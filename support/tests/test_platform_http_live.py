"""The HTTP platform client against a real server (pytest-django live_server)."""

import dataclasses

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


def test_ticket_of_a_customer_without_email_lands_on_that_customer(http_client, real_platform):
    from ingestion import interface

    pk = interface.sync_customer(source="shop", data={"customer_id": "no-mail-1"}).customer_id
    ok = http_client.interactions_report(
        records=[
            {
                "platform_customer_id": pk,
                "external_id": "ticket-78",
                "occurred_at": "2026-11-20T10:00:00+00:00",
                "kind": "support_ticket",
            }
        ]
    )
    assert ok is True
    assert interface.customer_ids() == [pk]  # no new customer was made for the ticket
    assert list(interface.interactions_frame(customer_ids=[pk]).external_id) == ["ticket-78"]


def test_intelligence_and_recent_orders_over_http_match_in_process(http_client, real_platform, settings):
    """Both clients give the same typed answers for a customer of a trained, scored shop."""
    from django.core.cache import cache
    from django.core.management import call_command

    from ingestion import interface
    from support.platform import InProcessPlatformClient

    call_command(
        "generate_shop", "--customers", "300", "--seed", "7", "--end-date", "2026-06-30", verbosity=0
    )
    call_command("train_models", "--as-of", "2026-07-01", "--horizon-days", "90", verbosity=0)
    call_command("score_customers", "--as-of", "2026-07-01", verbosity=0)
    cache.clear()
    frame = interface.orders_frame()
    customer_id = str(frame.customer_id.value_counts().index[0])  # the most frequent buyer
    local = InProcessPlatformClient()

    remote_orders = http_client.recent_orders(customer_id=customer_id, limit=5)
    assert remote_orders and remote_orders == local.recent_orders(customer_id=customer_id, limit=5)
    remote = http_client.customer_intelligence(customer_id=customer_id)
    assert remote is not None and remote.churn.probability is not None and remote.dna.archetype
    # `cached` says where this answer came from, not what it is.
    here = local.customer_intelligence(customer_id=customer_id)
    assert dataclasses.replace(remote, cached=False) == dataclasses.replace(here, cached=False)
