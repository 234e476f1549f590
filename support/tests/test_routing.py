import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from support.errors import NoEligibleTicket
from support.models import Agent, AssignmentLog, Ticket
from support.services import routing, tickets
from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory, TicketFactory

pytestmark = pytest.mark.django_db


def _create(team, **kw):
    return tickets.ticket_create(subject="Refund please", body="I want my money back", team=team, **kw)


def test_least_loaded_then_longest_idle():
    team = TeamFactory(routing_method="least_loaded")
    busy = AgentFactory(teams=[team])
    idle_long = AgentFactory(teams=[team], last_assigned_at=timezone.now() - timedelta(hours=3))
    idle_short = AgentFactory(teams=[team], last_assigned_at=timezone.now() - timedelta(hours=1))
    TicketFactory(team=team, assignee=busy, status="open")
    ticket = _create(team)
    assert ticket.assignee == idle_long
    log = AssignmentLog.objects.get(ticket=ticket)
    assert log.reason == "auto_create" and log.method == "least_loaded"
    assert _create(team).assignee == idle_short  # the only one with nothing open
    # all have one open now: the tie goes to the longest idle (busy was never auto-assigned)
    assert _create(team).assignee == busy


def test_round_robin_longest_since_last_assignment():
    team = TeamFactory(routing_method="round_robin")
    a = AgentFactory(teams=[team], capacity=10)
    b = AgentFactory(teams=[team], capacity=10)
    order = [_create(team).assignee for _ in range(4)]
    assert order == [a, b, a, b]


def test_eligibility_online_team_skills_capacity():
    team, other = TeamFactory(), TeamFactory()
    AgentFactory(teams=[team], status=Agent.Status.AWAY)
    AgentFactory(teams=[other])
    AgentFactory(teams=[team], skills=["billing"], capacity=1)
    spanish = AgentFactory(teams=[team], skills=["billing", "spanish"], capacity=1)
    ticket = _create(team, required_skills=["spanish"])
    assert ticket.assignee == spanish
    # spanish is now at capacity: the next Spanish ticket waits unassigned
    assert _create(team, required_skills=["spanish"]).assignee is None


def test_capacity_counts_only_sla_active_statuses(django_capture_on_commit_callbacks):
    team = TeamFactory()
    agent = AgentFactory(teams=[team], capacity=1)
    first = _create(team)
    assert first.assignee == agent
    waiting = _create(team)
    assert waiting.assignee is None
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_status_set(ticket=first, status="pending")  # frees capacity
    waiting.refresh_from_db()
    assert waiting.assignee == agent
    assert AssignmentLog.objects.get(ticket=waiting).reason == "auto_capacity"


def test_agent_coming_online_drains_the_queue_by_value_at_risk(django_capture_on_commit_callbacks):
    team = TeamFactory()
    agent = AgentFactory(teams=[team], status=Agent.Status.OFFLINE, capacity=2)
    low = _create(team)
    high = _create(team)
    mid = _create(team)
    Ticket.objects.filter(pk=low.pk).update(value_at_risk=5)
    Ticket.objects.filter(pk=high.pk).update(value_at_risk=90)
    Ticket.objects.filter(pk=mid.pk).update(value_at_risk=40)
    with django_capture_on_commit_callbacks(execute=True):
        routing.agent_status_set(agent=agent, status="online")
    assert set(Ticket.objects.filter(assignee=agent).values_list("pk", flat=True)) == {high.pk, mid.pk}
    assert AssignmentLog.objects.filter(agent=agent, reason="auto_online").count() == 2


def test_assign_next_pulls_top_of_backlog():
    team = TeamFactory(auto_assign=False)
    agent = AgentFactory(teams=[team])
    PolicyFactory()
    t1, t2 = _create(team), _create(team)
    Ticket.objects.filter(pk=t2.pk).update(value_at_risk=70)
    assert routing.ticket_assign_next(agent=agent).pk == t2.pk
    assert routing.ticket_assign_next(agent=agent).pk == t1.pk
    with pytest.raises(NoEligibleTicket):
        routing.ticket_assign_next(agent=agent)


def test_assign_next_respects_capacity():
    team = TeamFactory(auto_assign=False)
    agent = AgentFactory(teams=[team], capacity=0)
    _create(team)
    with pytest.raises(NoEligibleTicket):
        routing.ticket_assign_next(agent=agent)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_never_get_the_same_ticket():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    team = TeamFactory(auto_assign=False)
    agents = [AgentFactory(teams=[team], capacity=5) for _ in range(2)]
    for _ in range(2):
        _create(team)
    barrier = threading.Barrier(2)
    results: list = []

    def claim(agent):
        from django.db import connections

        try:
            barrier.wait()
            results.append(routing.ticket_assign_next(agent=agent).pk)
        except NoEligibleTicket:
            results.append(None)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in results and len(set(results)) == 2
    assert AssignmentLog.objects.count() == 2
