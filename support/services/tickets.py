"""Ticket life cycle: create, messages, field changes, status moves, merge, intelligence snapshot."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from support.errors import InvalidMerge, InvalidTransition
from support.models import Agent, Message, SLATimer, Team, Ticket, TicketEvent
from support.platform import get_client
from support.selectors import customer_id_canonical
from support.services import sla

M = SLATimer.Metric
CLOSED_TICKET = "A closed ticket cannot change; open a follow-up instead."
_deferred: ContextVar[set[tuple[int, int | None]] | None] = ContextVar(
    "support_deferred_reports", default=None
)


def _actor_label(user) -> str:
    return user.get_username() if user is not None else "system"


def _history(
    ticket: Ticket,
    kind: str,
    *,
    user=None,
    label: str = "",
    field: str = "",
    old: Any = "",
    new: Any = "",
    at: datetime,
) -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        actor=user,
        actor_label=label or _actor_label(user),
        kind=kind,
        field=field,
        old_value="" if old is None else str(old),
        new_value="" if new is None else str(new),
        created_at=at,
    )


def ticket_intelligence_refresh(*, ticket: Ticket) -> bool:
    """Snapshot the customer's intelligence and value-at-risk score onto the ticket (for sorting)."""
    if not ticket.customer_id:
        return False
    client = get_client()
    intel = client.customer_intelligence(customer_id=ticket.customer_id)
    minutes_left = None
    if ticket.sla_due_at is not None:
        minutes_left = round((ticket.sla_due_at - timezone.now()).total_seconds() / 60, 1)
    score = client.customer_score(
        customer_id=ticket.customer_id,
        context={
            "context": "support_priority",
            "priority": ticket.priority,
            "sla_minutes_left": minutes_left,
        },
    )
    if intel is None and score is None:
        return False
    fields = {"intelligence_at": timezone.now()}
    if intel is not None:
        fields.update(
            churn_probability=intel.churn.probability,
            churn_band=intel.churn.risk_band,
            predicted_ltv=intel.ltv.predicted_spend,
            archetype=intel.dna.archetype[:120],
        )
    if score is not None:
        fields["value_at_risk"] = float(score.score)
    for name, value in fields.items():
        setattr(ticket, name, value)
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return True


@transaction.atomic
def ticket_rescore(*, ticket: Ticket) -> bool:
    """Refresh the intelligence snapshot and re-select the SLA policy (tiers follow the scores)."""
    if not ticket_intelligence_refresh(ticket=ticket):
        return False
    sla.policy_apply(ticket=ticket, at=timezone.now(), reason="intelligence changed")
    return True


@transaction.atomic
def ticket_create(
    *,
    subject: str,
    body: str,
    customer_id: str = "",
    requester_name: str = "",
    requester_email: str = "",
    channel: str = Ticket.Channel.EMAIL,
    priority: str = Ticket.Priority.NORMAL,
    team: Team | None = None,
    tags: list[str] | None = None,
    intent: str = "",
    category: str = "",
    required_skills: list[str] | None = None,
    email_message_id: str = "",
    user=None,
    at: datetime | None = None,
    auto_assign: bool = True,
    refresh_intelligence: bool = True,
    follow_up_of: Ticket | None = None,
) -> Ticket:
    at = at or timezone.now()
    ticket = Ticket.objects.create(
        follow_up_of=follow_up_of,
        subject=subject[:255],
        customer_id=customer_id_canonical(customer_id),
        requester_name=requester_name,
        requester_email=requester_email,
        channel=channel,
        priority=priority,
        team=team,
        tags=tags or [],
        intent=intent,
        category=category,
        required_skills=required_skills or [],
        created_at=at,
        updated_at=at,
    )
    Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.PUBLIC,
        author_kind=Message.Author.CUSTOMER,
        body=body,
        via="email" if email_message_id else channel,
        email_message_id=email_message_id,
        created_at=at,
    )
    _history(ticket, "created", user=user, label="" if user else channel, at=at)
    if refresh_intelligence:
        ticket_intelligence_refresh(ticket=ticket)
    sla.policy_apply(ticket=ticket, at=at, reason="created")
    sla.timer_start(ticket=ticket, metric=M.FIRST_RESPONSE, at=at)
    sla.timer_start(ticket=ticket, metric=M.RESOLUTION, at=at)
    sla.ticket_due_refresh(ticket=ticket)
    _report_later(ticket.pk)
    if auto_assign:
        from support.services import routing

        routing.ticket_auto_assign(ticket=ticket, reason="auto_create")
    return ticket


def _queue_after_commit(task, *args) -> None:
    """`task.delay(*args)` once the transaction commits; a failure to queue is logged, not raised."""

    def queue() -> None:
        task.delay(*args)

    queue.__qualname__ = f"{task.name}.delay"  # what Django's log of a failed callback names
    transaction.on_commit(queue, robust=True)


def _report_later(ticket_id: int, message_id: int | None = None) -> None:
    from support import tasks

    if (pending := _deferred.get()) is not None:
        pending.add((ticket_id, message_id))
        return
    # Owed until reported, in the same transaction as the change: if the task below is lost,
    # the catch-up (followups_catch_up) reports it.
    now = timezone.now()
    Ticket.objects.filter(pk=ticket_id).update(report_pending_since=now)
    if message_id is not None:
        Message.objects.filter(pk=message_id).update(report_pending_since=now)
    # robust: the ticket or message is committed by then; a broker outage must not answer 500
    # for it (a client retrying would store it twice). The failure is logged.
    _queue_after_commit(tasks.interaction_report, ticket_id, message_id)


@transaction.atomic
def message_add(
    *,
    ticket: Ticket,
    body: str,
    author_kind: str,
    kind: str = Message.Kind.PUBLIC,
    agent: Agent | None = None,
    via: str = "web",
    email_message_id: str = "",
    user=None,
    at: datetime | None = None,
    notify: bool = True,
    client_token: str = "",
) -> Message:
    """Add a reply or note and move the SLA clocks.

    First response / next response are fulfilled only by a public reply written by
    a person (author_kind agent); an AI or system reply does not stop the clock.
    A closed ticket takes no more replies or notes from our side (it cannot change).
    """
    at = at or timezone.now()
    public = kind == Message.Kind.PUBLIC
    if ticket.status == Ticket.Status.CLOSED:
        if author_kind == Message.Author.CUSTOMER and public:
            return _follow_up(ticket, body=body, email_message_id=email_message_id, at=at)
        raise InvalidTransition(CLOSED_TICKET)
    email_owed = bool(
        public
        and notify
        and author_kind != Message.Author.CUSTOMER
        and ticket.requester_email
        and ticket.channel == "email"
    )
    message = Message.objects.create(
        ticket=ticket,
        body=body,
        author_kind=author_kind,
        kind=kind,
        author_agent=agent,
        author_user=user if author_kind == Message.Author.AGENT else None,
        via=via,
        email_message_id=email_message_id,
        created_at=at,
        # Owed until a send run takes it: if the task below is lost, followups_catch_up queues it.
        email_pending_since=timezone.now() if email_owed else None,
        client_token=client_token,
    )
    _history(
        ticket, "message", user=user, label="" if user else author_kind, field=kind, new=message.pk, at=at
    )
    if public and author_kind == Message.Author.AGENT:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
            sla.timer_fulfil(ticket=ticket, metric=M.FIRST_RESPONSE, at=at)
        sla.timer_fulfil(ticket=ticket, metric=M.NEXT_RESPONSE, at=at)
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
    elif public and author_kind == Message.Author.CUSTOMER:
        if ticket.status in Ticket.DONE_STATUSES or ticket.status in Ticket.PAUSED_STATUSES:
            ticket_status_set(ticket=ticket, status=Ticket.Status.OPEN, user=user, at=at)
        # Next response starts at the oldest unanswered customer message: keep a running one.
        running = SLATimer.objects.filter(ticket=ticket, metric=M.NEXT_RESPONSE, fulfilled_at__isnull=True)
        if ticket.first_response_at is not None and not running.exists():
            sla.timer_start(ticket=ticket, metric=M.NEXT_RESPONSE, at=at)
    ticket.updated_at = at
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_at=ticket.first_response_at, status=ticket.status, updated_at=at
    )
    sla.ticket_due_refresh(ticket=ticket)
    _report_later(ticket.pk, message.pk if public else None)
    if email_owed:
        from support import tasks

        # robust, as in _report_later: a broker outage does not fail the committed reply.
        _queue_after_commit(tasks.email_reply_send, message.pk)
    return message


def _follow_up(closed: Ticket, *, body: str, email_message_id: str, at: datetime) -> Message:
    """The customer's message to a closed ticket, as the first of a new ticket that follows it
    up (same requester, customer, channel, team and tags), as helpdesks do: the closed ticket
    cannot change, and a new request must not go unseen. The message's ticket is the new one."""
    ticket = ticket_create(
        subject=closed.subject,
        body=body,
        customer_id=closed.customer_id,
        requester_name=closed.requester_name,
        requester_email=closed.requester_email,
        channel=closed.channel,
        priority=closed.priority,
        team=closed.team,
        tags=closed.tags,
        intent=closed.intent,
        category=closed.category,
        required_skills=closed.required_skills,
        email_message_id=email_message_id,
        at=at,
        follow_up_of=closed,
    )
    return ticket.messages.get()


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    body: str,
    kind: str,
    agent: Agent | None,
    user=None,
    status: str = "",
    client_token: str = "",
) -> tuple[Message, bool]:
    """An agent's reply or note from the agent pages, then the status they chose with it.

    Returns (message, created). A submission already stored (same `client_token`: a double
    click, the back button, a retried POST) returns that message and changes nothing.
    """
    if client_token and (seen := ticket.messages.filter(client_token=client_token).first()):
        return seen, False
    try:
        with transaction.atomic():  # a concurrent twin wins the unique constraint: use its message
            message = message_add(
                ticket=ticket,
                body=body,
                kind=kind,
                author_kind=Message.Author.AGENT,
                agent=agent,
                user=user,
                client_token=client_token,
            )
    except IntegrityError:
        if not client_token:
            raise
        return ticket.messages.get(client_token=client_token), False
    if status:
        ticket_status_set(ticket=ticket, status=status, user=user)
    return message, True


@transaction.atomic
def ticket_status_set(*, ticket: Ticket, status: str, user=None, at: datetime | None = None) -> Ticket:
    at = at or timezone.now()
    old = ticket.status
    if status == old:
        return ticket
    if status not in Ticket.Status.values:
        raise InvalidTransition(f"Unknown status {status!r}.")
    if old == Ticket.Status.CLOSED:
        raise InvalidTransition(CLOSED_TICKET)
    if status == Ticket.Status.NEW:
        raise InvalidTransition("A ticket cannot go back to new once it has left it.")
    ticket.status, ticket.updated_at = status, at
    was_done = old in Ticket.DONE_STATUSES
    if status in Ticket.DONE_STATUSES:
        if not was_done:
            ticket.solved_at = at
            sla.timer_fulfil(ticket=ticket, metric=M.RESOLUTION, at=at)
            sla.timers_pause(ticket=ticket, at=at)  # response clocks stop while solved
    elif was_done:
        ticket.reopened_at, ticket.reopen_count, ticket.solved_at = at, ticket.reopen_count + 1, None
        sla.resolution_reopen(ticket=ticket, at=at)
    if status in Ticket.PAUSED_STATUSES:
        sla.timers_pause(ticket=ticket, at=at)
    elif status in Ticket.SLA_ACTIVE_STATUSES:
        sla.timers_resume(ticket=ticket, at=at)
    ticket.save(update_fields=["status", "updated_at", "solved_at", "reopened_at", "reopen_count"])
    _history(ticket, "changed", user=user, field="status", old=old, new=status, at=at)
    sla.ticket_due_refresh(ticket=ticket)
    _report_later(ticket.pk)
    if ticket.assignee_id and status not in Ticket.SLA_ACTIVE_STATUSES and old in Ticket.SLA_ACTIVE_STATUSES:
        from support.services import routing

        transaction.on_commit(lambda: routing.agent_capacity_freed(agent_id=ticket.assignee_id))
    return ticket


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    user=None,
    at: datetime | None = None,
    priority: str | None = None,
    team: Team | bool | None = False,
    tags: list[str] | None = None,
    subject: str | None = None,
) -> Ticket:
    """Change priority, team, tags or subject; the SLA policy is re-evaluated on every change."""
    at = at or timezone.now()
    changes: dict[str, tuple[Any, Any]] = {}
    if priority is not None and priority != ticket.priority:
        changes["priority"] = (ticket.priority, priority)
        ticket.priority = priority
    if team is not False and (team.pk if team else None) != ticket.team_id:
        changes["team"] = (ticket.team, team)
        ticket.team = team
    if tags is not None and sorted(tags) != sorted(ticket.tags or []):
        changes["tags"] = (",".join(ticket.tags or []), ",".join(tags))
        ticket.tags = tags
    if subject is not None and subject != ticket.subject:
        changes["subject"] = (ticket.subject, subject)
        ticket.subject = subject[:255]
    if not changes:
        return ticket
    if ticket.status == Ticket.Status.CLOSED:
        raise InvalidTransition(CLOSED_TICKET)
    ticket.updated_at = at
    ticket.save(update_fields=["priority", "team", "tags", "subject", "updated_at"])
    for field, (old, new) in changes.items():
        _history(ticket, "changed", user=user, field=field, old=old, new=new, at=at)
    sla.policy_apply(ticket=ticket, at=at, reason="changed: " + ", ".join(changes))
    _report_later(ticket.pk)
    return ticket


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, user=None, at: datetime | None = None) -> Ticket:
    """Move the duplicate's messages into `target`, close the duplicate and point it at the target."""
    at = at or timezone.now()
    if source.pk == target.pk:
        raise InvalidMerge("A ticket cannot be merged into itself.")
    if source.merged_into_id or target.merged_into_id:
        raise InvalidTransition("This ticket cannot be merged into that one: one of them is already merged.")
    Message.objects.filter(ticket=source).update(ticket=target)
    Message.objects.create(
        ticket=source,
        kind=Message.Kind.INTERNAL,
        author_kind=Message.Author.SYSTEM,
        body=f"Merged into #{target.pk}.",
        via="system",
        created_at=at,
    )
    target.tags = sorted(set(target.tags or []) | set(source.tags or []))
    Ticket.objects.filter(pk=target.pk).update(tags=target.tags, updated_at=at)
    source.merged_into = target
    source.save(update_fields=["merged_into"])
    if source.status != Ticket.Status.CLOSED:
        ticket_status_set(ticket=source, status=Ticket.Status.CLOSED, user=user, at=at)
    _history(source, "merged", user=user, field="merged_into", new=target.pk, at=at)
    _history(target, "merged", user=user, field="merged_from", new=source.pk, at=at)
    return target


def macro_render(*, macro, ticket: Ticket, agent: Agent | None) -> str:
    """Fill a macro's placeholders (unknown placeholders stay as typed)."""
    values = {
        "requester_name": ticket.requester_name or "there",
        "ticket_id": str(ticket.pk),
        "subject": ticket.subject,
        "agent_name": (agent.user.get_full_name() or agent.user.get_username()) if agent else "",
    }
    out = macro.body
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def interaction_report(*, ticket_id: int, message_id: int | None = None) -> bool:
    """Tell the platform about a ticket (and a public reply) as interactions. Idempotent upsert."""
    return interactions_report_many(pairs=[(ticket_id, message_id)])


def interactions_report_many(*, pairs: list[tuple[int, int | None]]) -> bool:
    """One platform call for many (ticket id, public message id or None); later updated_at wins.

    Once the platform has them (or there is nothing it could take: no customer to name), they
    are no longer pending, unless changed again after they were read here.
    """
    read_at = timezone.now()
    ticket_ids = {t for t, _ in pairs}
    message_ids = {m for _, m in pairs if m}
    by_id = {t.pk: t for t in Ticket.objects.filter(pk__in=ticket_ids)}
    messages = {m.pk: m for m in Message.objects.filter(pk__in=message_ids, ticket_id__in=ticket_ids)}
    records = [_ticket_record(t) for t in by_id.values() if t.customer_id or t.requester_email]
    records += [
        _message_record(by_id[m.ticket_id], m)
        for m in messages.values()
        if by_id[m.ticket_id].customer_id or by_id[m.ticket_id].requester_email
    ]
    reported = bool(records) and get_client().interactions_report(records=records)
    if reported or not records:
        Ticket.objects.filter(pk__in=by_id.keys(), report_pending_since__lte=read_at).update(
            report_pending_since=None
        )
        Message.objects.filter(pk__in=messages.keys(), report_pending_since__lte=read_at).update(
            report_pending_since=None
        )
    return reported


def _identity(ticket: Ticket) -> dict[str, str]:
    """Ours is the platform's own customer id; without one, the requester's e-mail names them."""
    if ticket.customer_id.isdigit():
        return {"platform_customer_id": ticket.customer_id}
    if ticket.requester_email:
        return {"email": ticket.requester_email}
    return {"customer_id": ticket.customer_id}


def _ticket_record(ticket: Ticket) -> dict[str, Any]:
    return {
        **_identity(ticket),
        "external_id": f"ticket-{ticket.pk}",
        "occurred_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "channel": ticket.channel,
        "kind": "support_ticket",
        "status": ticket.status,
        "priority": ticket.priority,
        "metadata": {"intent": ticket.intent, "category": ticket.category, "reopens": ticket.reopen_count},
    }


def _message_record(ticket: Ticket, message: Message) -> dict[str, Any]:
    return {
        **_identity(ticket),
        "external_id": f"ticket-{ticket.pk}-message-{message.pk}",
        "occurred_at": message.created_at.isoformat(),
        "channel": ticket.channel,
        "kind": f"support_{message.author_kind}_reply",
        "status": ticket.status,
        "priority": ticket.priority,
    }


@contextmanager
def interactions_batched():
    """Collect platform reports made inside the block and send them in one call at the end
    (bulk paths such as the demo seed; no per-ticket platform round trips)."""
    pending: set[tuple[int, int | None]] = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if pending:
        interactions_report_many(pairs=sorted(pending, key=lambda p: (p[0], p[1] or 0)))
