"""Routing: eligibility -> value-aware backlog order -> RR / least-loaded selector -> atomic claim.

Eligible agent = online, member of the ticket's team, has the ticket's required skills,
and fewer tickets in SLA-active statuses than their capacity.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from support.errors import InvalidAssignee, InvalidTransition, NoEligibleTicket
from support.models import Agent, AssignmentLog, Team, Ticket, TicketEvent
from support.services.tickets import CLOSED_TICKET

ACTIVE = Ticket.SLA_ACTIVE_STATUSES


def agents_with_load() -> QuerySet[Agent]:
    return Agent.objects.annotate(
        load=Count("tickets", filter=Q(tickets__status__in=ACTIVE, tickets__merged_into__isnull=True))
    )


def agent_load(*, agent: Agent) -> int:
    return Ticket.objects.filter(assignee=agent, status__in=ACTIVE, merged_into__isnull=True).count()


def agents_eligible(*, ticket: Ticket) -> list[Agent]:
    if ticket.team_id is None:
        return []
    agents = agents_with_load().filter(
        status=Agent.Status.ONLINE, teams=ticket.team_id, load__lt=F("capacity")
    )
    needed = set(ticket.required_skills or [])
    return [a for a in agents.select_related("user") if needed <= set(a.skills or [])]


def agent_pick(*, team: Team, agents: list[Agent]) -> Agent | None:
    if not agents:
        return None
    never = timezone.make_aware(datetime(1970, 1, 1))

    def idle(a: Agent) -> datetime:
        return a.last_assigned_at or never

    if team.routing_method == Team.Routing.ROUND_ROBIN:
        return min(agents, key=lambda a: (idle(a), a.pk))
    return min(agents, key=lambda a: (a.load, idle(a), a.pk))


def backlog(*, teams: list[int] | None = None) -> QuerySet[Ticket]:
    """Waiting tickets, most value at risk first, then the earliest SLA due time."""
    qs = Ticket.objects.filter(assignee__isnull=True, status__in=ACTIVE, merged_into__isnull=True)
    if teams is not None:
        qs = qs.filter(team_id__in=teams)
    return qs.order_by("-value_at_risk", F("sla_due_at").asc(nulls_last=True), "created_at", "id")


def _lock(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    # Two agents never get the same ticket: rows locked by a concurrent claim are skipped.
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def _assign(ticket: Ticket, agent: Agent | None, reason: str, method: str, user=None) -> Ticket:
    now = timezone.now()
    previous = ticket.assignee
    ticket.assignee, ticket.updated_at = agent, now
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, updated_at=now)
    if agent is not None:
        Agent.objects.filter(pk=agent.pk).update(last_assigned_at=now)
        agent.last_assigned_at = now
    AssignmentLog.objects.create(
        ticket=ticket,
        agent=agent,
        previous_agent=previous,
        reason=reason,
        method=method,
        actor=user,
        created_at=now,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        actor=user,
        actor_label=user.get_username() if user else "routing",
        kind="assigned",
        field="assignee",
        old_value=str(previous or ""),
        new_value=str(agent or ""),
        created_at=now,
    )
    return ticket


@transaction.atomic
def ticket_auto_assign(*, ticket: Ticket, reason: str = AssignmentLog.Reason.AUTO_CREATE) -> Agent | None:
    if ticket.team_id is None or ticket.assignee_id or ticket.status not in ACTIVE:
        return None
    team = ticket.team
    if not team.auto_assign:
        return None
    locked = _lock(Ticket.objects.filter(pk=ticket.pk, assignee__isnull=True)).first()
    if locked is None:
        return None
    agent = agent_pick(team=team, agents=agents_eligible(ticket=locked))
    if agent is None:
        return None
    _assign(locked, agent, reason, team.routing_method)
    ticket.assignee = agent
    return agent


@transaction.atomic
def ticket_assign(*, ticket: Ticket, agent: Agent | None, user=None) -> Ticket:
    """Manual assignment (may exceed capacity, as in Zendesk).

    As in Zendesk ("assignee is not a member of the group"), the agent must belong to the
    ticket's team: the agent pages offer only those, and the API offered every agent the caller
    can see. A closed ticket cannot change, its assignee included.
    """
    if ticket.status == Ticket.Status.CLOSED:
        if (agent.pk if agent else None) == ticket.assignee_id:
            return ticket  # the same assignee again (a client sending the whole state) is no change
        raise InvalidTransition(CLOSED_TICKET)
    if agent is not None and ticket.team_id and not agent.teams.filter(pk=ticket.team_id).exists():
        raise InvalidAssignee(details={"assignee": agent.pk, "team": ticket.team.slug})
    reason = AssignmentLog.Reason.MANUAL if agent else AssignmentLog.Reason.UNASSIGN
    return _assign(ticket, agent, reason, "manual", user)


def _agent_can_take(agent: Agent, ticket: Ticket) -> bool:
    return set(ticket.required_skills or []) <= set(agent.skills or [])


@transaction.atomic
def ticket_assign_next(*, agent: Agent, user=None) -> Ticket:
    """The agent pulls the top eligible waiting ticket of their teams (atomic claim)."""
    if agent_load(agent=agent) >= agent.capacity:
        raise NoEligibleTicket("You are at capacity.")
    team_ids = list(agent.teams.values_list("pk", flat=True))
    ticket = _claim_top(agent, team_ids)
    if ticket is None:
        raise NoEligibleTicket()
    return _assign(ticket, agent, AssignmentLog.Reason.ASSIGN_NEXT, "pull", user)


def _claim_top(agent: Agent, team_ids: list[int]) -> Ticket | None:
    """Lock the best waiting ticket this agent may take, one row at a time (call inside atomic).

    Candidates are read unlocked; each is then locked with SKIP LOCKED and re-checked, so
    a row another agent is claiming right now is skipped instead of waited for.
    """
    for candidate in backlog(teams=team_ids)[:50]:
        if not _agent_can_take(agent, candidate):
            continue
        locked = _lock(
            Ticket.objects.filter(pk=candidate.pk, assignee__isnull=True, status__in=ACTIVE)
        ).first()
        if locked is not None:
            return locked
    return None


def agent_fill(*, agent: Agent, reason: str) -> int:
    """Give an online agent waiting tickets until they reach capacity (came online / capacity freed)."""
    assigned = 0
    if agent.status != Agent.Status.ONLINE:
        return 0
    team_ids = list(agent.teams.filter(auto_assign=True).values_list("pk", flat=True))
    while agent_load(agent=agent) < agent.capacity:
        with transaction.atomic():
            ticket = _claim_top(agent, team_ids)
            if ticket is None:
                return assigned
            _assign(ticket, agent, reason, "fill")
        assigned += 1
    return assigned


def agent_capacity_freed(*, agent_id: int) -> int:
    agent = Agent.objects.filter(pk=agent_id).first()
    return agent_fill(agent=agent, reason=AssignmentLog.Reason.AUTO_CAPACITY) if agent else 0


def agent_status_set(*, agent: Agent, status: str) -> Agent:
    old = agent.status
    agent.status, agent.status_changed_at = status, timezone.now()
    agent.save(update_fields=["status", "status_changed_at"])
    if status == Agent.Status.ONLINE and old != status:
        transaction.on_commit(lambda: agent_fill(agent=agent, reason=AssignmentLog.Reason.AUTO_ONLINE))
    return agent
