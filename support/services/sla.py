"""SLA timers: policy selection, start/pause/resume/fulfil, warnings, breaches and escalation.

All minutes are business minutes of the policy's calendar (24/7 without one).
Every state change writes an SLAEvent row. Timer starts never reset.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from support.models import BusinessCalendar, SLAEvent, SLAPolicy, SLATimer, Ticket, TicketEvent
from support.services.calendar import (
    CompiledCalendar,
    add_business_minutes,
    business_minutes_between,
    compile_calendar,
)

M = SLATimer.Metric
_compiled: dict[tuple[int, datetime], CompiledCalendar] = {}


def calendar_compiled(*, calendar: BusinessCalendar | None) -> CompiledCalendar | None:
    if calendar is None:
        return None
    key = (calendar.pk, calendar.updated_at)
    if key not in _compiled:
        _compiled[key] = compile_calendar(
            timezone=calendar.timezone,
            weekly_hours=calendar.weekly_hours,
            holidays=calendar.holidays,
            country=calendar.holiday_country,
            subdivision=calendar.holiday_subdivision,
        )
    return _compiled[key]


def ltv_tier(ltv: float | None) -> str:
    if ltv is None:
        return "unknown"
    high = getattr(settings, "SUPPORT_LTV_HIGH", 1000.0)
    mid = getattr(settings, "SUPPORT_LTV_MID", 200.0)
    return "high" if ltv >= high else "mid" if ltv >= mid else "low"


def policy_matches(*, policy: SLAPolicy, ticket: Ticket) -> bool:
    c = policy.conditions or {}
    checks = {
        "priority": ticket.priority,
        "channel": ticket.channel,
        "team": ticket.team.slug if ticket.team_id else "",
        "churn_band": ticket.churn_band or "unknown",
        "ltv_tier": ltv_tier(ticket.predicted_ltv),
    }
    for name, value in checks.items():
        if c.get(name) and value not in c[name]:
            return False
    return not (c.get("tags_any") and not set(c["tags_any"]) & set(ticket.tags or []))


def policy_select(*, ticket: Ticket) -> SLAPolicy | None:
    """The first active policy (by position) whose conditions match."""
    policies = SLAPolicy.objects.filter(active=True).select_related("calendar").order_by("position", "id")
    return next((p for p in policies if policy_matches(policy=p, ticket=ticket)), None)


def _event(timer: SLATimer, kind: str, at: datetime, **data) -> None:
    SLAEvent.objects.create(
        ticket_id=timer.ticket_id, timer=timer, metric=timer.metric, kind=kind, at=at, data=data
    )


def _schedule(timer: SLATimer, cal: CompiledCalendar | None, warn_share: float) -> None:
    """Due and warning times from the current running span and minutes already used."""
    left = timer.target_minutes - timer.elapsed_business_minutes
    timer.due_at = add_business_minutes(cal, timer.running_since, left)
    warn_left = timer.target_minutes * warn_share - timer.elapsed_business_minutes
    timer.warn_due_at = add_business_minutes(cal, timer.running_since, warn_left) if warn_left > 0 else None


def _close_span(timer: SLATimer, cal: CompiledCalendar | None, now: datetime) -> None:
    if timer.running_since is None:
        return
    timer.elapsed_calendar_minutes += max((now - timer.running_since).total_seconds() / 60, 0.0)
    timer.elapsed_business_minutes += business_minutes_between(cal, timer.running_since, now)
    timer.running_since = None


def _target(policy: SLAPolicy, ticket: Ticket, metric: str) -> float | None:
    value = (policy.targets or {}).get(ticket.priority, {}).get(metric)
    return float(value) if value is not None else None


def timer_start(*, ticket: Ticket, metric: str, at: datetime) -> SLATimer | None:
    """Start (or restart, for next response) a metric under the ticket's policy."""
    policy = ticket.sla_policy
    if policy is None or (target := _target(policy, ticket, metric)) is None:
        return None
    cal = calendar_compiled(calendar=policy.calendar)
    timer, _ = SLATimer.objects.get_or_create(
        ticket=ticket, metric=metric, defaults={"policy": policy, "target_minutes": target, "started_at": at}
    )
    timer.policy, timer.target_minutes, timer.started_at, timer.running_since = policy, target, at, at
    timer.fulfilled_at = timer.breached_at = timer.warned_at = timer.escalated_at = None
    timer.paused_at = timer.remaining_minutes = None
    timer.elapsed_business_minutes = timer.elapsed_calendar_minutes = 0.0
    if ticket.status in Ticket.PAUSED_STATUSES:
        timer.running_since, timer.paused_at, timer.remaining_minutes = None, at, target
        timer.due_at = timer.warn_due_at = None
    else:
        _schedule(timer, cal, policy.warn_share)
    timer.save()
    _event(timer, SLAEvent.Kind.START, at, target_minutes=target, due_at=_iso(timer.due_at))
    return timer


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def timer_fulfil(*, ticket: Ticket, metric: str, at: datetime) -> SLATimer | None:
    timer = SLATimer.objects.filter(ticket=ticket, metric=metric, fulfilled_at__isnull=True).first()
    if timer is None:
        return None
    cal = calendar_compiled(calendar=timer.policy.calendar if timer.policy else None)
    _close_span(timer, cal, at)
    timer.fulfilled_at, timer.paused_at, timer.remaining_minutes = at, None, None
    timer.save()
    _event(
        timer,
        SLAEvent.Kind.FULFIL,
        at,
        business_minutes=round(timer.elapsed_business_minutes, 2),
        calendar_minutes=round(timer.elapsed_calendar_minutes, 2),
        margin_minutes=round(timer.target_minutes - timer.elapsed_business_minutes, 2),
    )
    return timer


def timers_pause(*, ticket: Ticket, at: datetime) -> int:
    paused = 0
    for timer in ticket.sla_timers.select_related("policy__calendar").filter(
        fulfilled_at__isnull=True, paused_at__isnull=True
    ):
        cal = calendar_compiled(calendar=timer.policy.calendar if timer.policy else None)
        _close_span(timer, cal, at)
        timer.paused_at, timer.due_at, timer.warn_due_at = at, None, None
        timer.remaining_minutes = max(timer.target_minutes - timer.elapsed_business_minutes, 0.0)
        timer.save()
        _event(timer, SLAEvent.Kind.PAUSE, at, remaining_minutes=round(timer.remaining_minutes, 2))
        paused += 1
    return paused


def timers_resume(*, ticket: Ticket, at: datetime) -> int:
    resumed = 0
    for timer in ticket.sla_timers.select_related("policy__calendar").filter(
        fulfilled_at__isnull=True, paused_at__isnull=False
    ):
        cal = calendar_compiled(calendar=timer.policy.calendar if timer.policy else None)
        timer.paused_at, timer.remaining_minutes, timer.running_since = None, None, at
        _schedule(timer, cal, timer.policy.warn_share if timer.policy else 0.75)
        timer.save()
        _event(timer, SLAEvent.Kind.RESUME, at, due_at=_iso(timer.due_at))
        resumed += 1
    return resumed


def resolution_reopen(*, ticket: Ticket, at: datetime) -> None:
    """Resolution keeps counting after a reopen: un-fulfil it with the minutes already used."""
    timer = SLATimer.objects.filter(ticket=ticket, metric=M.RESOLUTION, fulfilled_at__isnull=False).first()
    if timer is None:
        return
    cal = calendar_compiled(calendar=timer.policy.calendar if timer.policy else None)
    timer.fulfilled_at, timer.running_since = None, at
    _schedule(timer, cal, timer.policy.warn_share if timer.policy else 0.75)
    timer.save()
    _event(timer, SLAEvent.Kind.RESUME, at, reason="reopened", due_at=_iso(timer.due_at))


def policy_apply(*, ticket: Ticket, at: datetime, reason: str = "") -> bool:
    """Re-select the policy; on a change, re-target open timers (their starts never reset)."""
    policy = policy_select(ticket=ticket)
    if policy is None and ticket.sla_policy_id is None:
        return False
    changed = policy is not None and policy.pk != ticket.sla_policy_id
    ticket.sla_policy = policy
    Ticket.objects.filter(pk=ticket.pk).update(sla_policy=policy)
    retargeted = False
    if policy is not None:
        cal = calendar_compiled(calendar=policy.calendar)
        for timer in ticket.sla_timers.filter(fulfilled_at__isnull=True):
            target = _target(policy, ticket, timer.metric)
            if target is None or (target == timer.target_minutes and timer.policy_id == policy.pk):
                continue
            timer.policy, timer.target_minutes, retargeted = policy, target, True
            if timer.paused_at is None and timer.running_since is not None:
                _schedule(timer, cal, policy.warn_share)
            else:
                timer.remaining_minutes = max(target - timer.elapsed_business_minutes, 0.0)
            timer.save()
    if changed or retargeted:
        SLAEvent.objects.create(
            ticket=ticket,
            kind=SLAEvent.Kind.APPLY,
            at=at,
            data={"policy": policy.name if policy else None, "reason": reason},
        )
    ticket_due_refresh(ticket=ticket)
    return changed or retargeted


def ticket_due_refresh(*, ticket: Ticket) -> None:
    """Ticket.sla_due_at = the earliest due time among running timers (for sorting)."""
    dues = [
        t.due_at
        for t in SLATimer.objects.filter(
            ticket=ticket, fulfilled_at__isnull=True, paused_at__isnull=True, due_at__isnull=False
        ).only("due_at")
    ]
    ticket.sla_due_at = min(dues) if dues else None
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=ticket.sla_due_at)


# --- beat: warnings, breaches, escalation ---------------------------------------------------------


def sla_check(*, now: datetime | None = None, notify: bool = True) -> dict[str, int]:
    """Record warnings and breaches due by `now`, escalating each breach once. Idempotent.

    `notify=False` e-mails no team lead: for history loaded after the fact (the demo), whose
    breaches are long past, as helpdesks' import APIs run no notification triggers.
    """
    now = now or timezone.now()
    open_running = SLATimer.objects.filter(fulfilled_at__isnull=True, paused_at__isnull=True)
    warned = 0
    for timer in open_running.filter(warned_at__isnull=True, warn_due_at__lte=now):
        # The conditional update is the claim: a second run (or worker) finds nothing to do.
        # Claim and event commit together: a worker killed in between leaves both to the redo.
        with transaction.atomic():
            if SLATimer.objects.filter(pk=timer.pk, warned_at__isnull=True).update(warned_at=now):
                _event(timer, SLAEvent.Kind.WARN, now, due_at=_iso(timer.due_at))
                warned += 1
    breached = 0
    for timer in open_running.filter(breached_at__isnull=True, due_at__lte=now):
        with transaction.atomic():
            if SLATimer.objects.filter(pk=timer.pk, breached_at__isnull=True).update(breached_at=now):
                _event(timer, SLAEvent.Kind.BREACH, now, due_at=_iso(timer.due_at))
                timer_escalate(timer_id=timer.pk, now=now, notify=notify)
                breached += 1
    return {"warned": warned, "breached": breached}


@transaction.atomic
def timer_escalate(*, timer_id: int, now: datetime, notify: bool = True) -> bool:
    """Bump priority one step, e-mail the team lead (when `notify`), record it. Once per timer breach."""
    if not SLATimer.objects.filter(pk=timer_id, escalated_at__isnull=True).update(escalated_at=now):
        return False
    timer = SLATimer.objects.select_related("ticket__team__lead").get(pk=timer_id)
    ticket = timer.ticket
    order = Ticket.PRIORITY_ORDER
    old = ticket.priority
    new = order[min(order.index(old) + 1, len(order) - 1)]
    if new != old:
        Ticket.objects.filter(pk=ticket.pk).update(priority=new, updated_at=now)
        TicketEvent.objects.create(
            ticket=ticket,
            actor_label="sla",
            kind="escalated",
            field="priority",
            old_value=old,
            new_value=new,
            created_at=now,
        )
    lead = ticket.team.lead if ticket.team_id else None
    notified = lead.email if notify and lead is not None else ""
    if notified:
        # After commit: a slow mail server holds no locks, and a rolled-back escalation mails no one.
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[SLA breach] #{ticket.pk} {ticket.subject}"[:200],
                message=(
                    f"The {timer.metric.replace('_', ' ')} SLA of ticket #{ticket.pk} was breached at "
                    f"{timer.due_at:%Y-%m-%d %H:%M %Z}.\nPriority: {old} -> {new}.\n"
                ),
                from_email=None,
                recipient_list=[lead.email],
                fail_silently=True,
            )
        )
    _event(
        timer,
        SLAEvent.Kind.ESCALATE,
        now,
        priority_from=old,
        priority_to=new,
        notified=notified,
    )
    return True
