import pytest
from rest_framework.test import APIClient

from support.models import Message, SLATimer, Ticket
from support.services import tickets
from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory, key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    billing, shipping = TeamFactory(slug="billing"), TeamFactory(slug="shipping")
    PolicyFactory()
    b = tickets.ticket_create(subject="Invoice wrong", body="Please fix <b>it</b>", team=billing)
    s = tickets.ticket_create(subject="Parcel lost", body="Where?", team=shipping, customer_id="c-1")
    return {"billing": billing, "shipping": shipping, "b": b, "s": s}


def test_key_sees_only_granted_teams(world):
    client = key_client({"support_teams": ["billing"]})
    listed = client.get("/api/support/tickets").json()
    assert [t["id"] for t in listed["results"]] == [world["b"].pk]
    assert client.get(f"/api/support/tickets/{world['b'].pk}").status_code == 200
    for path in ("", "/messages"):
        resp = client.get(f"/api/support/tickets/{world['s'].pk}{path}")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "ticket_not_found"
    assert (
        client.post(
            f"/api/support/tickets/{world['s'].pk}/messages", {"body": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        client.patch(f"/api/support/tickets/{world['s'].pk}", {"status": "solved"}, format="json").status_code
        == 404
    )
    assert client.post(f"/api/support/tickets/{world['s'].pk}/ai-draft").status_code == 404


def test_key_without_grant_or_scope(world):
    assert key_client().get("/api/support/tickets").json()["count"] == 0
    assert key_client({"support_teams": "*"}).get("/api/support/tickets").json()["count"] == 2
    assert key_client({"support_teams": "*"}, scopes=["data"]).get("/api/support/tickets").status_code == 403
    assert APIClient().get("/api/support/tickets").status_code in (401, 403)


def test_create_list_filter_paginate(world):
    client = key_client({"support_teams": ["billing", "shipping"]})
    resp = client.post(
        "/api/support/tickets",
        {"subject": "Refund", "body": "Money back", "team": "billing", "priority": "high", "tags": ["vip"]},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    created = Ticket.objects.get(pk=resp.json()["id"])
    assert created.channel == "api" and SLATimer.objects.filter(ticket=created).count() == 2
    assert client.get("/api/support/tickets?priority=high").json()["count"] == 1
    assert client.get("/api/support/tickets?tag=vip").json()["count"] == 1
    assert client.get("/api/support/tickets?team=shipping").json()["count"] == 1
    page = client.get("/api/support/tickets?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_create_into_ungranted_team_is_rejected(world):
    client = key_client({"support_teams": ["billing"]})
    resp = client.post(
        "/api/support/tickets", {"subject": "x", "body": "y", "team": "shipping"}, format="json"
    )
    assert resp.status_code == 400 and "team" in resp.json()["error"]["details"]


def test_detail_says_intelligence_unavailable(world):
    client = key_client({"support_teams": "*"})
    body = client.get(f"/api/support/tickets/{world['s'].pk}").json()
    assert body["customer"]["available"] is False
    assert body["customer"]["message"] == "intelligence unavailable"
    assert [t["metric"] for t in body["sla_timers"]] == ["first_response", "resolution"]


def test_agent_session_sees_own_teams_and_replies(world, client):
    agent = AgentFactory(teams=[world["billing"]])
    api = APIClient()
    api.force_login(agent.user)
    assert [t["id"] for t in api.get("/api/support/tickets").json()["results"]] == [world["b"].pk]
    assert api.get(f"/api/support/tickets/{world['s'].pk}").status_code == 404
    resp = api.post(f"/api/support/tickets/{world['b'].pk}/messages", {"body": "On it"}, format="json")
    assert resp.status_code == 201
    msg = Message.objects.get(pk=resp.json()["id"])
    assert msg.author_agent == agent and msg.author_kind == "agent"
    assert SLATimer.objects.get(ticket=world["b"], metric="first_response").fulfilled_at is not None


def test_agents_and_assign_next(world):
    world["billing"].auto_assign = False
    world["billing"].save()
    agent = AgentFactory(teams=[world["billing"]])
    other = AgentFactory(teams=[world["shipping"]])
    client = key_client({"support_teams": ["billing"]})
    names = [a["username"] for a in client.get("/api/support/agents").json()["results"]]
    assert names == [agent.user.username]
    assert client.post(f"/api/support/agents/{other.pk}/assign-next").status_code == 404
    resp = client.post(f"/api/support/agents/{agent.pk}/assign-next")
    assert resp.status_code == 200 and resp.json()["id"] == world["b"].pk
    again = client.post(f"/api/support/agents/{agent.pk}/assign-next")
    assert again.status_code == 404 and again.json()["error"]["code"] == "no_eligible_ticket"


def test_patch_status_and_mass_assignment_ignored(world):
    client = key_client({"support_teams": "*"})
    resp = client.patch(
        f"/api/support/tickets/{world['b'].pk}",
        {"status": "pending", "value_at_risk": 99, "sla_due_at": "2030-01-01T00:00:00Z"},
        format="json",
    )
    assert resp.status_code == 200
    world["b"].refresh_from_db()
    assert world["b"].status == "pending" and world["b"].value_at_risk == 0


def test_ai_draft_unavailable_and_available(world, monkeypatch):
    from generation.interface import GeneratedMessage, SuggestedAction
    from support import platform

    client = key_client({"support_teams": "*"})
    monkeypatch.setattr(platform.InProcessPlatformClient, "message_draft", lambda self, **kw: None)
    monkeypatch.setattr(platform.InProcessPlatformClient, "actions_suggest", lambda self, **kw: None)
    body = client.post(f"/api/support/tickets/{world['s'].pk}/ai-draft").json()
    assert body["available"] is False and body["message"] == "intelligence unavailable"
    msg = GeneratedMessage(
        subject="",
        body="Sorry about the parcel",
        notes="",
        goal="resolve_support_issue",
        channel="email",
        tone="empathetic",
        backend="offline",
        model="template",
    )
    act = SuggestedAction(action="expedite_shipping", title="Ship again", priority=1, reason="late")
    monkeypatch.setattr(platform.InProcessPlatformClient, "message_draft", lambda self, **kw: msg)
    monkeypatch.setattr(platform.InProcessPlatformClient, "actions_suggest", lambda self, **kw: [act])
    body = client.post(f"/api/support/tickets/{world['s'].pk}/ai-draft").json()
    assert body["draft"]["body"] == "Sorry about the parcel"
    assert body["actions"][0]["action"] == "expedite_shipping"


def test_sla_policies_listed(world):
    body = key_client({"support_teams": "*"}).get("/api/support/sla-policies").json()["results"]
    assert len(body) == 1 and "normal" in body[0]["targets"]


def test_reply_to_a_closed_ticket_is_a_conflict(world):
    tickets.ticket_status_set(ticket=world["b"], status="closed")
    agent = AgentFactory(teams=[world["billing"]])
    api = APIClient()
    api.force_login(agent.user)
    resp = api.post(f"/api/support/tickets/{world['b'].pk}/messages", {"body": "Hello?"}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "invalid_transition"
    assert not world["b"].messages.filter(author_kind="agent").exists()


def test_a_customer_message_to_a_closed_ticket_opens_a_follow_up(world):
    tickets.ticket_status_set(ticket=world["b"], status="closed")
    agent = AgentFactory(teams=[world["billing"]])
    api = APIClient()
    api.force_login(agent.user)
    resp = api.post(
        f"/api/support/tickets/{world['b'].pk}/messages",
        {"body": "It broke again", "author": "customer"},
        format="json",
    )
    assert resp.status_code == 201
    follow_up = Ticket.objects.get(pk=resp.json()["ticket"])
    assert follow_up.follow_up_of == world["b"] and follow_up.team == world["b"].team
