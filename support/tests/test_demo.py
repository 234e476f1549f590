import io

import pytest

from support import demo
from support.models import Agent, SLAEvent, SLAPolicy, Team, Ticket

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_builds_real_tickets(monkeypatch, django_capture_on_commit_callbacks):
    from django.core import mail

    from support import platform

    calls: list = []
    monkeypatch.setattr(
        platform.InProcessPlatformClient,
        "interactions_report",
        lambda self, *, records: calls.append(records),
    )
    monkeypatch.setattr(demo, "TICKETS", 30)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(stdout=out)
    assert len(calls) == 1 and len([r for r in calls[0] if r["kind"] == "support_ticket"]) == 30
    # The demo's breaches are history: escalated, but no one is e-mailed about them.
    assert mail.outbox == []
    assert SLAEvent.objects.filter(kind="escalate").exists()
    counts = (Team.objects.count(), Agent.objects.count(), SLAPolicy.objects.count(), Ticket.objects.count())
    assert counts[:3] == (3, 6, 4) and counts[3] == 30
    assert "agent1" in out.getvalue() and demo.PASSWORD in out.getvalue()
    t = Ticket.objects.order_by("id").first()
    assert t.intent and t.category and t.messages.filter(author_kind="customer").exists()
    assert Ticket.objects.filter(first_response_at__isnull=False).exists()
    assert Ticket.objects.filter(status="solved").exists()
    # Replies come from agents of each ticket's own team, more than two of them taking turns.
    assigned = Ticket.objects.filter(assignee__isnull=False).select_related("team", "assignee")
    assert all(t.assignee.teams.filter(pk=t.team_id).exists() for t in assigned)
    assert assigned.values("assignee").distinct().count() > 2
    demo.seed(stdout=io.StringIO())
    assert (
        Team.objects.count(),
        Agent.objects.count(),
        SLAPolicy.objects.count(),
        Ticket.objects.count(),
    ) == counts


def test_the_newest_demo_tickets_are_not_answered_in_the_future():
    """The last rows' replies (20 + i minutes after creation) used to land after now."""
    from django.utils import timezone

    teams = demo._teams()
    demo._agents(teams, io.StringIO())
    team_agents = {team.pk: list(Agent.objects.filter(teams=team)) for team in teams.values()}
    row = {
        "intent": "track_order",
        "instruction": "Where is my order?",
        "tags": "B",
        "category": "ORDER",
        "response": "Hi {{Customer Name}}, it is on its way.",
    }
    now = timezone.now()
    for i in (demo.TICKETS - 6, demo.TICKETS - 3):  # answered (i % 3 == 0); the first also solved
        ticket = demo._ticket_from_row(i, row, teams, {"ORDER": "orders"}, [], team_agents, now)
        reply = ticket.messages.get(author_kind="agent")
        assert reply.created_at <= now and ticket.first_response_at <= now
        assert ticket.solved_at is None or ticket.solved_at <= now
