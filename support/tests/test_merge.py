"""Ticket merge over the API and from the ticket page."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from support.models import Message, Ticket, TicketEvent
from support.services import tickets
from support.tests.factories import AgentFactory, TeamFactory, key_client

pytestmark = pytest.mark.django_db
XSS = '<script>alert("x")</script>'


@pytest.fixture
def world():
    billing = TeamFactory(slug="billing", name="Billing", auto_assign=False)
    shipping = TeamFactory(slug="shipping", name="Shipping", auto_assign=False)
    dup = tickets.ticket_create(subject="Refund again", body="Second mail", team=billing, tags=["refund"])
    main = tickets.ticket_create(subject="Refund " + XSS, body="First mail", team=billing, tags=["vip"])
    foreign = tickets.ticket_create(subject="Parcel lost", body="Where?", team=shipping)
    return {"billing": billing, "shipping": shipping, "dup": dup, "main": main, "foreign": foreign}


def test_api_merge_moves_messages_and_closes_duplicate(world):
    dup, main = world["dup"], world["main"]
    resp = key_client({"support_teams": ["billing"]}).post(
        f"/api/support/tickets/{dup.pk}/merge", {"into": main.pk}, format="json"
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["id"] == main.pk and resp.json()["tags"] == ["refund", "vip"]
    dup.refresh_from_db()
    assert dup.status == Ticket.Status.CLOSED and dup.merged_into_id == main.pk
    assert Message.objects.filter(ticket=main, body="Second mail").exists()
    assert TicketEvent.objects.filter(ticket=main, kind="merged", new_value=str(dup.pk)).exists()
    again = key_client({"support_teams": ["billing"]}).post(
        f"/api/support/tickets/{dup.pk}/merge", {"into": main.pk}, format="json"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


def test_api_merge_into_itself_is_400(world):
    dup = world["dup"]
    resp = key_client({"support_teams": ["billing"]}).post(
        f"/api/support/tickets/{dup.pk}/merge", {"into": dup.pk}, format="json"
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_merge"
    bad = key_client({"support_teams": ["billing"]}).post(
        f"/api/support/tickets/{dup.pk}/merge", {"into": "x"}, format="json"
    )
    assert bad.status_code == 400
    dup.refresh_from_db()
    assert dup.merged_into_id is None and dup.status != Ticket.Status.CLOSED


def test_api_merge_with_invisible_tickets_is_404(world):
    client = key_client({"support_teams": ["billing"]})
    dup, foreign = world["dup"], world["foreign"]
    into_foreign = client.post(f"/api/support/tickets/{dup.pk}/merge", {"into": foreign.pk}, format="json")
    assert into_foreign.status_code == 404 and into_foreign.json()["error"]["code"] == "ticket_not_found"
    from_foreign = client.post(f"/api/support/tickets/{foreign.pk}/merge", {"into": dup.pk}, format="json")
    assert from_foreign.status_code == 404
    missing = client.post(f"/api/support/tickets/{dup.pk}/merge", {"into": 10**9}, format="json")
    assert missing.status_code == 404
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()
    assert APIClient().post(f"/api/support/tickets/{dup.pk}/merge", {"into": 1}).status_code in (401, 403)


def test_api_merge_as_agent_session_records_the_agent(world):
    agent = AgentFactory(teams=[world["billing"]])
    api = APIClient()
    api.force_login(agent.user)
    dup, main = world["dup"], world["main"]
    assert (
        api.post(f"/api/support/tickets/{dup.pk}/merge", {"into": main.pk}, format="json").status_code == 200
    )
    event = TicketEvent.objects.get(ticket=dup, kind="merged")
    assert agent.user.username in event.actor_label
    foreign = world["foreign"]
    assert (
        api.post(f"/api/support/tickets/{dup.pk}/merge", {"into": foreign.pk}, format="json").status_code
        == 404
    )


@pytest.fixture
def agent_client(world):
    agent = AgentFactory(teams=[world["billing"]])
    c = Client()
    c.force_login(agent.user)
    return c


def test_ticket_page_shows_escaped_merge_form(agent_client, world):
    html = agent_client.get(f"/support/tickets/{world['dup'].pk}/").content.decode()
    form = re.search(r'<form[^>]*id="merge-form".*?</form>', html, re.S).group(0)
    assert f'action="/support/tickets/{world["dup"].pk}/merge"' in form
    assert "csrfmiddlewaretoken" in form and 'name="into"' in form and "Merge into #" in form
    main_html = agent_client.get(f"/support/tickets/{world['main'].pk}/").content.decode()
    assert "<script>alert" not in main_html


def test_merge_form_merges_and_lands_on_target(agent_client, world):
    dup, main = world["dup"], world["main"]
    resp = agent_client.post(f"/support/tickets/{dup.pk}/merge", {"into": main.pk}, follow=True)
    assert resp.redirect_chain[-1][0] == f"/support/tickets/{main.pk}/"
    html = resp.content.decode()
    assert f"merged into #{main.pk}" in html and "Second mail" in html and "<script>alert" not in html
    dup.refresh_from_db()
    assert dup.merged_into_id == main.pk and dup.status == Ticket.Status.CLOSED
    dup_html = agent_client.get(f"/support/tickets/{dup.pk}/").content.decode()
    assert 'id="merge-form"' not in dup_html  # already merged: no second merge form


def test_merge_form_refuses_itself_and_invisible_tickets(agent_client, world):
    dup, foreign = world["dup"], world["foreign"]
    resp = agent_client.post(f"/support/tickets/{dup.pk}/merge", {"into": dup.pk}, follow=True)
    assert "cannot be merged into itself" in resp.content.decode()
    resp = agent_client.post(f"/support/tickets/{dup.pk}/merge", {"into": foreign.pk}, follow=True)
    assert resp.redirect_chain[-1][0] == f"/support/tickets/{dup.pk}/"
    assert "Ticket not found" in resp.content.decode()
    assert agent_client.post(f"/support/tickets/{foreign.pk}/merge", {"into": dup.pk}).status_code == 404
    assert agent_client.get(f"/support/tickets/{dup.pk}/merge").status_code == 405
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_merge_form_requires_csrf(world):
    agent = AgentFactory(teams=[world["billing"]])
    c = Client(enforce_csrf_checks=True)
    c.force_login(agent.user)
    resp = c.post(f"/support/tickets/{world['dup'].pk}/merge", {"into": world["main"].pk})
    assert resp.status_code == 403
    assert Ticket.objects.get(pk=world["dup"].pk).merged_into_id is None
