"""Fault: Claude fails while a campaign is being sent, and the send is retried.

A campaign with a generated variant goes to six customers of a real (synthetic, scored)
shop, in chunks of two. Claude is overloaded (529) during the first attempt, whose
messages fall back to the offline backend; the attempt then dies on a database error
in its second chunk, the task asks to be retried, and the retry runs while Claude is back.
Every customer must get exactly one e-mail: the outbox rows written before the failure are
kept (Claude is not asked again for them), the rest are written once by the retry.

A site-level test: it drives marketing with generation's real Anthropic backend (the
SDK through respx), which neither app may import from the other.
"""

import io

import httpx
import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

# generation's fixtures (found by name below): its real Anthropic backend and the respx router.
from generation.tests.conftest import API_URL, anthropic_backend, ok_response, router  # noqa: F401
from ingestion import interface as ingestion
from marketing import tasks
from marketing.models import Campaign, OutboxMessage
from marketing.services import campaigns, delivery

pytestmark = pytest.mark.django_db

AUDIENCE = 6
CHUNK = 2
EVERYONE = {"combinator": "and", "rules": [{"field": "churn_probability", "op": "gte", "value": 0.0}]}
CLAUDE_TEXT = '{"subject": "We saved you a seat", "body": "Come back and see what is new.", "notes": ""}'
OVERLOADED = httpx.Response(
    529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
)


@pytest.fixture
def shop(settings):
    """A scored synthetic shop (no support tickets, so nobody is held out)."""
    quiet = {"verbosity": 0, "stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("generate_shop", "--customers", "150", "--seed", "5", "--no-interactions", **quiet)
    call_command("train_models", **quiet)
    call_command("score_customers", **quiet)
    settings.MARKETING_MAX_AUDIENCE = AUDIENCE


@pytest.fixture
def claude(request):
    """The respx router that generation's real Anthropic backend (now configured) talks to."""
    request.getfixturevalue("anthropic_backend")
    return request.getfixturevalue("router")


@pytest.fixture
def campaign(shop):
    from marketing.services import segments

    segment = segments.segment_create(name="Everyone", rules=EVERYONE)
    return campaigns.campaign_create(
        name="Come back",
        segment=segment,
        goal="win_back",
        variants=[{"name": "claude", "kind": "generated", "tone": "friendly"}],
    )


def test_a_send_retried_after_claude_failed_mails_each_customer_once(claude, campaign, settings, monkeypatch):
    settings.GENERATION_BREAKER_THRESHOLD = 100  # keep asking Claude: the breaker is tested elsewhere
    monkeypatch.setattr(campaigns, "CHUNK", CHUNK)
    route = claude.post(API_URL).mock(return_value=OVERLOADED)
    real_compose = campaigns.messages_compose
    chunks_composed = []

    def compose_then_lose_the_database(**kwargs):
        rows = real_compose(**kwargs)
        chunks_composed.append([r.customer_id for r in rows])
        if len(chunks_composed) == 2:  # the first attempt dies before storing its second chunk
            route.mock(return_value=ok_response(CLAUDE_TEXT))  # and Claude is back for the retry
            raise OperationalError("server closed the connection unexpectedly (simulated)")
        return rows

    monkeypatch.setattr(campaigns, "messages_compose", compose_then_lose_the_database)

    with pytest.raises(Retry):  # the task's policy: a database error is retried
        tasks.campaign_send.delay(campaign.pk).get()
    report = tasks.campaign_send.delay(campaign.pk).get()  # the retry, as the worker runs it

    first_chunk, lost_chunk, *retried = chunks_composed
    assert report["queued"] == AUDIENCE - CHUNK  # the retry wrote only who was missing
    assert retried[0] == lost_chunk and len(retried) == 2
    rows = {r.customer_id: r for r in OutboxMessage.objects.filter(campaign=campaign)}
    assert len(rows) == AUDIENCE
    # Written during the outage: the offline backend's message, kept and not regenerated.
    assert {rows[c].generation_backend for c in first_chunk} == {"offline"}
    assert {rows[c].generation_backend for c in rows if c not in first_chunk} == {"anthropic"}
    assert all(rows[c].body for c in rows)
    # 1 + 2 retries per failed generation (4 of them), then 1 call per message after the retry.
    assert route.call_count == 4 * 3 + 4

    later = timezone.now() + timezone.timedelta(days=30)
    assert delivery.outbox_deliver_due(now=later) == AUDIENCE
    assert delivery.outbox_deliver_due(now=later) == 0
    assert tasks.campaign_send.delay(campaign.pk).get() == {
        "campaign_id": campaign.pk,
        "skipped": "already sent",
    }
    assert len(mail.outbox) == AUDIENCE
    recipients = sorted(m.to[0] for m in mail.outbox)
    expected = sorted(ingestion.customer_get(customer_id=c).email for c in rows)
    assert recipients == expected and len(set(recipients)) == AUDIENCE
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
