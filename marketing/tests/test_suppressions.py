"""Unsubscribe links, the suppression list, and sends that respect it (campaigns and journeys)."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from ingestion import interface as ingestion
from marketing.models import Campaign, OutboxMessage, Suppression
from marketing.services import campaigns, delivery, journeys, suppressions
from marketing.tests.factories import (
    CampaignFactory,
    JourneyFactory,
    JourneyStepFactory,
    SegmentFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

TEMPLATE = {"name": "A", "subject_template": "Hello {{ first_name }}", "body_template": "We miss you."}


def _campaign(name="Win-back"):
    return campaigns.campaign_create(name=name, segment=SegmentFactory(), variants=[TEMPLATE])


def _path(url: str) -> str:
    return urlsplit(url).path


def _email_of(customer_id: str) -> str:
    return ingestion.customer_get(customer_id=customer_id).email


# --- the e-mail -------------------------------------------------------------


def test_every_campaign_email_has_one_click_headers_and_a_link_in_the_body(
    platform, shoppers, after_send, settings
):
    settings.QUIMBI_PUBLIC_URL = "https://quimbi.example.com/"
    platform.audience = shoppers[:3]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    assert delivery.outbox_deliver_due(now=after_send) == 3
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        header = message.extra_headers["List-Unsubscribe"]
        assert header.startswith("<https://quimbi.example.com/marketing/unsubscribe/") and header.endswith(
            ">"
        )
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = header[1:-1]
        assert url in message.body
        assert message.body.startswith("We miss you.")  # the marketer's text, then the footer
        # The headers survive into the wire message.
        raw = message.message()
        assert raw["List-Unsubscribe"] == header
        # The token names this recipient and this campaign.
        token = _path(url).rsplit("/", 1)[1]
        named = suppressions.unsubscribe_token_read(token=token)
        assert (named.email, named.campaign_id) == (message.to[0].lower(), campaign.pk)
    # The stored body stays what the marketer wrote.
    assert set(OutboxMessage.objects.values_list("body", flat=True)) == {"We miss you."}


# --- the page ---------------------------------------------------------------


def _link(email="Someone@Example.org", campaign_id=None) -> str:
    return _path(suppressions.unsubscribe_url(email=email, campaign_id=campaign_id))


def test_get_shows_a_confirmation_and_does_not_unsubscribe():
    response = Client().get(_link())
    assert response.status_code == 200
    assert b"someone@example.org" in response.content
    assert b'<form method="post">' in response.content
    assert not Suppression.objects.exists()  # a mail scanner prefetching the link changes nothing


def test_post_unsubscribes_without_login_or_csrf_token_and_twice_is_harmless():
    campaign = CampaignFactory()
    client = Client(enforce_csrf_checks=True)  # as a mail client's one-click POST: no token
    link = _link(campaign_id=campaign.pk)
    first = client.post(link, {"List-Unsubscribe": "One-Click"})
    assert first.status_code == 200 and b"You are unsubscribed" in first.content
    row = Suppression.objects.get()
    assert (row.email, row.reason, row.campaign_id) == ("someone@example.org", "unsubscribed", campaign.pk)
    again = client.post(link)
    assert again.status_code == 200 and b"You are unsubscribed" in again.content
    assert Suppression.objects.get() == row  # one row, first reason kept


@pytest.mark.parametrize("mangle", ["flip", "truncate", "garbage", "other_salt"])
def test_a_bad_or_tampered_token_is_a_400_page_not_a_500(mangle):
    from django.core import signing

    good = _link().rsplit("/", 1)[1]
    bad = {
        "flip": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "truncate": good[: len(good) // 2],
        "garbage": "not-a-token",
        # Signed with our key, but for another purpose: never an unsubscribe.
        "other_salt": signing.dumps({"e": "someone@example.org", "c": None}, salt="something.else"),
    }[mangle]
    client = Client(raise_request_exception=False)
    for method in (client.get, client.post):
        response = method(f"/marketing/unsubscribe/{bad}")
        assert response.status_code == 400
        assert b"not valid" in response.content
    assert not Suppression.objects.exists()


def test_a_forged_token_for_another_address_does_not_verify():
    good = _link(email="a@example.org").rsplit("/", 1)[1]
    _payload, rest = good.split(":", 1)
    other = _link(email="b@example.org").rsplit("/", 1)[1].split(":", 1)[0]
    response = Client().post(f"/marketing/unsubscribe/{other}:{rest}")
    assert response.status_code == 400
    assert not Suppression.objects.exists()


# --- sends respect the list -------------------------------------------------


def test_a_suppressed_address_gets_nothing_from_a_new_campaign(platform, shoppers, after_send):
    platform.audience = shoppers[:4]
    suppressions.suppression_add(email=_email_of(shoppers[0]).upper(), reason="bounced")
    campaign = _campaign()
    report = campaigns.campaign_send(campaign=campaign)
    assert (report.queued, report.suppressed) == (3, 1)
    row = OutboxMessage.objects.get(customer_id=shoppers[0])
    assert (row.status, row.suppressed_reason, row.body) == ("suppressed", "suppression_bounced", "")
    assert delivery.outbox_deliver_due(now=after_send) == 3
    assert _email_of(shoppers[0]) not in {m.to[0] for m in mail.outbox}


def test_unsubscribing_after_the_outbox_is_written_stops_the_pending_message(platform, shoppers, after_send):
    platform.audience = shoppers[:3]
    campaign = _campaign()
    campaigns.campaign_send(campaign=campaign)
    assert OutboxMessage.objects.filter(status="pending").count() == 3
    # The person clicks an earlier campaign's link before this one is delivered.
    assert Client().post(_link(email=_email_of(shoppers[1]))).status_code == 200
    assert delivery.outbox_deliver_due(now=after_send) == 2
    row = OutboxMessage.objects.get(customer_id=shoppers[1])
    assert (row.status, row.suppressed_reason) == ("suppressed", "suppression_unsubscribed")
    assert _email_of(shoppers[1]) not in {m.to[0] for m in mail.outbox}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT


def test_journey_sends_respect_the_list_too(platform, shoppers, after_send):
    journey = JourneyFactory()
    variant = VariantFactory(campaign=journey.campaign)
    JourneyStepFactory(journey=journey, position=0, kind="send", variant=variant)
    platform.audience = shoppers[:2]
    suppressions.suppression_add(email=_email_of(shoppers[0]), reason="complained")
    now = timezone.now()
    journeys.journey_enroll(journey=journey, now=now)
    journeys.enrollments_advance(now=now)
    statuses = dict(OutboxMessage.objects.values_list("customer_id", "suppressed_reason"))
    assert statuses == {shoppers[0]: "suppression_complained", shoppers[1]: ""}
    delivery.outbox_deliver_due(now=after_send)
    assert [m.to[0] for m in mail.outbox] == [_email_of(shoppers[1])]
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers


def test_the_list_is_read_in_one_query_per_delivery_run(platform, shoppers, after_send):
    """Suppression checks do not turn delivery into a query per message (budget as before + 2)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    platform.audience = shoppers
    campaigns.campaign_send(campaign=_campaign())
    with CaptureQueriesContext(connection) as ctx:
        assert delivery.outbox_deliver_due(now=after_send) == 24
    ours = [q["sql"] for q in ctx.captured_queries if re.search(r"marketing_suppression", q["sql"])]
    assert len(ours) == 1


# --- the service ------------------------------------------------------------


def test_suppression_add_is_idempotent_and_normalises_and_remove_lifts_it():
    row, created = suppressions.suppression_add(email="  Mixed@Case.org ")
    again, created_again = suppressions.suppression_add(email="mixed@case.ORG", reason="bounced")
    assert created and not created_again and again.pk == row.pk and again.reason == "manual"
    assert suppressions.suppressed_reasons(emails=["MIXED@case.org", "other@x.org"]) == {
        "mixed@case.org": "manual"
    }
    suppressions.suppression_remove(suppression=row)
    assert suppressions.suppressed_reasons(emails=["mixed@case.org"]) == {}
