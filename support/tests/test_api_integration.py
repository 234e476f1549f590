"""The support API as an integration uses it: one customer identity, paginated lists, assignment rules."""

import pytest

from support import platform
from support.models import Ticket
from support.services import tickets
from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory, key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    billing, orders = TeamFactory(slug="billing"), TeamFactory(slug="orders")
    billing.auto_assign = orders.auto_assign = False
    billing.save()
    orders.save()
    PolicyFactory()
    return {"billing": billing, "orders": orders, "client": key_client({"support_teams": "*"})}


@pytest.mark.parametrize("given", ["00000000000000000001", " 1", "+1", "0001"])
def test_a_customer_id_is_stored_as_the_platform_reads_it(world, monkeypatch, given):
    asked = []
    monkeypatch.setattr(
        platform.InProcessPlatformClient,
        "customer_intelligence",
        lambda self, *, customer_id: asked.append(customer_id),
    )
    client = world["client"]
    resp = client.post(
        "/api/support/tickets",
        {"subject": "Refund", "body": "Hi", "customer_id": given, "team": "billing"},
        format="json",
    )
    assert resp.status_code == 201
    ticket_id = resp.json()["id"]
    assert resp.json()["customer_id"] == "1"
    assert asked == ["1"]  # the intelligence shown is for the customer the ticket names
    listed = client.get("/api/support/tickets", {"customer_id": "1"}).json()["results"]
    assert [t["id"] for t in listed] == [ticket_id]
    # Filtering by another spelling of the same id finds it too.
    listed = client.get("/api/support/tickets", {"customer_id": "01"}).json()["results"]
    assert [t["id"] for t in listed] == [ticket_id]


def test_a_customer_id_that_is_no_number_is_kept(world):
    ticket = tickets.ticket_create(subject="s", body="b", customer_id="c-42", team=world["billing"])
    assert Ticket.objects.get(pk=ticket.pk).customer_id == "c-42"


def test_messages_are_paginated_like_every_list(world):
    ticket = tickets.ticket_create(subject="s", body="first", team=world["billing"])
    for i in range(4):
        tickets.message_add(ticket=ticket, body=f"reply {i}", author_kind="agent")
    client = world["client"]
    url = f"/api/support/tickets/{ticket.pk}/messages"
    page1 = client.get(url, {"page_size": 2}).json()
    page3 = client.get(url, {"page_size": 2, "page": 3}).json()
    assert page1["count"] == 5 and page1["next"] and page1["previous"] is None
    assert [m["body"] for m in page1["results"]] == ["first", "reply 0"]
    assert [m["body"] for m in page3["results"]] == ["reply 3"]
    assert client.get(url, {"page": 4}).status_code == 404
    assert client.get(url, {"page_size": "x"}).status_code == 400


@pytest.mark.parametrize("path", ["/api/support/agents", "/api/support/sla-policies"])
def test_other_lists_are_paginated_too(world, path):
    AgentFactory(teams=[world["billing"]])
    body = world["client"].get(path, {"page_size": 1}).json()
    assert body["count"] == 1 and len(body["results"]) == 1


def test_schema_describes_the_paginated_lists(world):
    schema = world["client"].get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/support/tickets/{ticket_id}/messages",
        "/api/support/agents",
        "/api/support/sla-policies",
    ):
        get = schema["paths"][path]["get"]
        assert {"page", "page_size"} <= {p["name"] for p in get["parameters"]}
        ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[1].startswith("Paginated")


def test_assignee_must_belong_to_the_tickets_team(world):
    ticket = tickets.ticket_create(subject="s", body="b", team=world["billing"])
    outsider = AgentFactory(teams=[world["orders"]])
    member = AgentFactory(teams=[world["billing"]])
    client = world["client"]
    url = f"/api/support/tickets/{ticket.pk}"
    resp = client.patch(url, {"assignee": outsider.pk}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_assignee"
    assert Ticket.objects.get(pk=ticket.pk).assignee_id is None
    assert client.patch(url, {"assignee": member.pk}, format="json").json()["assignee"] == member.pk


def test_a_closed_ticket_takes_no_assignee(world):
    ticket = tickets.ticket_create(subject="s", body="b", team=world["billing"])
    agent = AgentFactory(teams=[world["billing"]])
    client = world["client"]
    url = f"/api/support/tickets/{ticket.pk}"
    # Assign and close in one request: one change, the assignee first.
    resp = client.patch(url, {"status": "closed", "assignee": agent.pk}, format="json")
    assert resp.status_code == 200 and resp.json()["assignee"] == agent.pk
    other = AgentFactory(teams=[world["billing"]])
    for change in ({"assignee": None}, {"assignee": other.pk}):
        resp = client.patch(url, change, format="json")
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "invalid_transition"
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == agent.pk
    assert client.patch(url, {"assignee": agent.pk}, format="json").status_code == 200  # no change
