"""Read-only queries: who may see what, queues, ticket pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from support.errors import AgentNotFound, TicketNotFound
from support.models import Agent, Macro, Message, SLAPolicy, SLATimer, Team, Ticket

BREACHING_SOON = timedelta(hours=2)


def customer_id_canonical(customer_id: str) -> str:
    """The one spelling of a ticket's platform customer id, for storing and for filtering.

    The platform reads a customer id as a number (`int()`), so "00000000000000000001", " 1",
    "+1" and "1_0"-style spellings name its customer 1 or 10: stored as given, the ticket showed
    that customer's churn yet no filter or "other tickets" by "1" found it. Ids that are not
    numbers (no platform customer) stay as given.
    """
    try:
        return str(int(customer_id))
    except ValueError:
        return customer_id


def agent_for_user(*, user) -> Agent | None:
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "_meta"):
        return None
    try:
        return user.agent
    except Agent.DoesNotExist:
        return None


def may_use_agent_pages(*, user) -> bool:
    """Agents, team leads (who may have no agent profile) and staff work in the agent pages."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser or agent_for_user(user=user) is not None:
        return True
    return Team.objects.filter(lead=user).exists()


def team_ids_visible(*, user=None, api_key=None) -> list[int] | None:
    """Team ids the caller may see; None = all teams.

    API keys see what `grants["support_teams"]` lists (slugs, or "*" for all); nothing otherwise.
    Staff see all; agents see their teams and the teams they lead.
    """
    if api_key is not None:
        granted = (getattr(api_key, "grants", None) or {}).get("support_teams") or []
        if granted == "*" or "*" in granted:
            return None
        return list(Team.objects.filter(slug__in=list(granted)).values_list("pk", flat=True))
    if user is not None and (user.is_staff or user.is_superuser):
        return None
    agent = agent_for_user(user=user)
    ids = set(Team.objects.filter(lead=user).values_list("pk", flat=True)) if user is not None else set()
    if agent is not None:
        ids |= set(agent.teams.values_list("pk", flat=True))
    return sorted(ids)


def tickets_visible(*, user=None, api_key=None) -> QuerySet[Ticket]:
    team_ids = team_ids_visible(user=user, api_key=api_key)
    qs = Ticket.objects.all()
    if team_ids is None:
        return qs
    agent = agent_for_user(user=user) if api_key is None else None
    mine = Q(assignee=agent) if agent is not None else Q(pk__in=[])
    return qs.filter(Q(team_id__in=team_ids) | mine)


def ticket_get(*, ticket_id: int, user=None, api_key=None) -> Ticket:
    """A visible ticket or TicketNotFound (other teams' ids look like missing ones)."""
    ticket = (
        tickets_visible(user=user, api_key=api_key)
        .select_related("team", "assignee__user", "sla_policy__calendar", "merged_into")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise TicketNotFound()
    return ticket


def agent_get(*, agent_id: int, user=None, api_key=None) -> Agent:
    team_ids = team_ids_visible(user=user, api_key=api_key)
    qs = Agent.objects.select_related("user").filter(pk=agent_id)
    if team_ids is not None:
        own = agent_for_user(user=user) if api_key is None else None
        qs = qs.filter(Q(teams__in=team_ids) | Q(pk=own.pk if own else None)).distinct()
    agent = qs.first()
    if agent is None:
        raise AgentNotFound()
    return agent


def agents_list(*, user=None, api_key=None) -> QuerySet[Agent]:
    team_ids = team_ids_visible(user=user, api_key=api_key)
    qs = (
        Agent.objects.select_related("user")
        .prefetch_related("teams")
        .annotate(
            load=Count(
                "tickets",
                filter=Q(tickets__status__in=Ticket.SLA_ACTIVE_STATUSES, tickets__merged_into__isnull=True),
            )
        )
    )
    if team_ids is not None:
        qs = qs.filter(pk__in=Agent.objects.filter(teams__in=team_ids).values("pk"))
    return qs.order_by("user__username")


QUEUE_VIEWS = ("mine", "unassigned", "breaching", "all")
SORTS = {
    "value": ("-value_at_risk", F("sla_due_at").asc(nulls_last=True), "-id"),
    "due": (F("sla_due_at").asc(nulls_last=True), "-value_at_risk", "-id"),
    "new": ("-created_at", "-id"),
}


def queue(
    *, user=None, api_key=None, view: str = "all", filters: dict[str, Any] | None = None, sort: str = "value"
) -> QuerySet[Ticket]:
    """Tickets for a queue view with filters; constant query count (select_related only)."""
    f = filters or {}
    qs = tickets_visible(user=user, api_key=api_key).filter(merged_into__isnull=True)
    agent = agent_for_user(user=user) if api_key is None else None
    if view == "mine":
        qs = qs.filter(assignee=agent) if agent else qs.none()
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif view == "breaching":
        qs = qs.filter(sla_due_at__lte=timezone.now() + BREACHING_SOON)
    if view != "all" and not f.get("status"):
        qs = qs.exclude(status__in=Ticket.DONE_STATUSES)
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("priority"):
        qs = qs.filter(priority=f["priority"])
    if f.get("team"):
        qs = qs.filter(team__slug=f["team"])
    if f.get("assignee"):
        qs = qs.filter(assignee_id=f["assignee"])
    if f.get("churn_band"):
        qs = qs.filter(churn_band=f["churn_band"])
    if f.get("archetype"):
        qs = qs.filter(archetype__icontains=f["archetype"])
    if f.get("customer_id"):
        qs = qs.filter(customer_id=customer_id_canonical(f["customer_id"]))
    if f.get("tag"):
        qs = qs.filter(tags__icontains=f'"{f["tag"]}"')  # JSON list text match: SQLite and PostgreSQL
    if f.get("q"):
        qs = qs.filter(Q(subject__icontains=f["q"]) | Q(requester_email__icontains=f["q"]))
    # Work still to do comes first in every sort: in the "all" view a solved ticket of high value
    # would otherwise head the list.
    done = Case(When(status__in=Ticket.DONE_STATUSES, then=Value(1)), default=Value(0))
    return qs.select_related("team", "assignee__user").order_by(done, *SORTS.get(sort, SORTS["value"]))


def ticket_messages(*, ticket: Ticket) -> QuerySet[Message]:
    """A ticket's messages, oldest first (the id breaks ties, so pages never repeat or skip one)."""
    return ticket.messages.select_related("author_agent__user", "author_user").order_by("created_at", "id")


def ticket_thread(*, ticket: Ticket) -> list[Message]:
    return list(ticket_messages(ticket=ticket))


def ticket_timers(*, ticket: Ticket) -> list[SLATimer]:
    order = {m: i for i, m in enumerate(SLATimer.Metric.values)}
    return sorted(ticket.sla_timers.all(), key=lambda t: order[t.metric])


def customer_other_tickets(*, ticket: Ticket, user=None, api_key=None, limit: int = 5) -> list[Ticket]:
    if not ticket.customer_id:
        return []
    return list(
        tickets_visible(user=user, api_key=api_key)
        .filter(customer_id=ticket.customer_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:limit]
    )


def _macros_for(ticket: Ticket) -> QuerySet[Macro]:
    return Macro.objects.filter(Q(team__isnull=True) | Q(team=ticket.team_id), active=True)


def macros_for(*, ticket: Ticket) -> list[Macro]:
    return list(_macros_for(ticket))


def macro_get(*, ticket: Ticket, macro_id: int) -> Macro | None:
    """An active macro this ticket's team may use (another team's macro is not offered)."""
    return _macros_for(ticket).filter(pk=macro_id).first()


def policies_list() -> QuerySet[SLAPolicy]:
    return SLAPolicy.objects.select_related("calendar").order_by("position", "id")


def ticket_history(*, ticket: Ticket):
    return ticket.events.select_related("actor").order_by("-created_at", "-id")[:50]


def team_overview(*, team_ids: list[int] | None) -> list[Team]:
    qs = (
        Team.objects.select_related("lead")
        .prefetch_related(
            Prefetch(
                "agents",
                queryset=Agent.objects.select_related("user").annotate(
                    load=Count("tickets", filter=Q(tickets__status__in=Ticket.SLA_ACTIVE_STATUSES))
                ),
            )
        )
        .annotate(
            open_count=Count("tickets", filter=Q(tickets__status__in=Ticket.SLA_ACTIVE_STATUSES)),
            unassigned_count=Count(
                "tickets",
                filter=Q(tickets__status__in=Ticket.SLA_ACTIVE_STATUSES, tickets__assignee__isnull=True),
            ),
        )
    )
    if team_ids is not None:
        qs = qs.filter(pk__in=team_ids)
    return list(qs)
