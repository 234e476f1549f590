"""This app's part of `manage.py seed_demo` (idempotent).

Tickets come from the Bitext customer-support messages (../shared/data/support_tickets/):
`instruction` is the first customer message, `category`/`intent` the type, and
`response` (placeholders filled) the agent reply on every third ticket. Derived fields:
- subject: the intent in words + the first 60 characters of the message;
- priority: urgent for tag W (offensive wording), high for complaint / payment_issue /
  get_refund / cancel_order, low for newsletter / review intents, else normal;
- channel: email, web, chat in turn by row; team: by category (orders & shipping, billing, accounts);
- customer: demo platform customers (ingestion.interface.customer_ids()) in turn;
  created over the past 7 days.
"""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from support.models import Agent, BusinessCalendar, Macro, SLAPolicy, Team, Ticket
from support.services import routing, sla, tickets

CSV_NAME = Path("support_tickets") / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
PASSWORD = "quimbi-agent"
TICKETS = 120
TEAMS = {
    "orders": (
        "Orders & shipping",
        "least_loaded",
        ["ORDER", "DELIVERY", "SHIPPING_ADDRESS", "CANCELLATION_FEE"],
    ),
    "billing": ("Billing", "round_robin", ["INVOICE", "PAYMENT", "REFUND"]),
    "accounts": ("Accounts", "least_loaded", ["ACCOUNT", "CONTACT", "FEEDBACK", "NEWSLETTER"]),
}
AGENTS = [  # username, teams, skills, status
    ("agent1", ["orders", "billing"], ["english"], "online"),
    ("agent2", ["orders"], ["english", "spanish"], "online"),
    ("agent3", ["billing"], ["english"], "online"),
    ("agent4", ["accounts"], ["english"], "online"),
    ("agent5", ["accounts", "orders"], ["english"], "away"),
    ("agent6", ["billing", "accounts"], ["english"], "offline"),
]
HIGH = {"complaint", "payment_issue", "get_refund", "cancel_order"}
LOW = {"newsletter_subscription", "review"}
WEEK_9_17 = {str(d): [["09:00", "17:00"]] for d in range(5)}


def seed(*, stdout) -> None:
    teams = _teams()
    _agents(teams, stdout)
    _sla()
    _macros()
    if Ticket.objects.filter(tags__icontains='"demo"').exists():
        stdout.write("support: demo tickets already present")
        return
    if not _csv_path().exists():
        stdout.write(f"support: no demo tickets, {_csv_path()} not found (set QUIMBI_SHARED_DATA)")
    created = _tickets(teams)
    stdout.write(f"support: {created} demo tickets; log in at /support/ as agent1..agent6 / {PASSWORD}")


def _teams() -> dict[str, Team]:
    out = {}
    for slug, (name, method, _) in TEAMS.items():
        out[slug], _ = Team.objects.get_or_create(
            slug=slug, defaults={"name": name, "routing_method": method}
        )
    return out


def _agents(teams: dict[str, Team], stdout) -> None:
    users = get_user_model().objects
    lead, made = users.get_or_create(username="lead1", defaults={"email": "lead1@quimbi.local"})
    if made:
        lead.set_password(PASSWORD)
        lead.save()
    Team.objects.filter(lead__isnull=True).update(lead=lead)
    for username, team_slugs, skills, status in AGENTS:
        user, made = users.get_or_create(username=username, defaults={"email": f"{username}@quimbi.local"})
        if made:
            user.set_password(PASSWORD)
            user.save()
        agent, _ = Agent.objects.get_or_create(
            user=user, defaults={"skills": skills, "status": status, "capacity": 8}
        )
        agent.teams.set([teams[s] for s in team_slugs])
    stdout.write(f"support: agents agent1..agent6 and team lead lead1, password {PASSWORD}")


def _sla() -> None:
    berlin, _ = BusinessCalendar.objects.get_or_create(
        name="Berlin office",
        defaults={
            "timezone": "Europe/Berlin",
            "weekly_hours": WEEK_9_17,
            "holiday_country": "DE",
            "holidays": ["2026-12-24", "2026-12-31"],
        },
    )
    ny, _ = BusinessCalendar.objects.get_or_create(
        name="New York office",
        defaults={"timezone": "America/New_York", "weekly_hours": WEEK_9_17, "holiday_country": "US"},
    )
    policies = [
        (
            "Revenue at risk (high LTV, high churn) 24/7",
            10,
            {"ltv_tier": ["high"], "churn_band": ["high"]},
            None,
            (15, 30, 60, 120),
            (60, 120, 240, 480),
        ),
        ("Urgent 24/7", 20, {"priority": ["urgent"]}, None, (30, 30, 30, 30), (240, 240, 240, 240)),
        ("Billing office hours", 30, {"team": ["billing"]}, ny, (120, 90, 60, 30), (1440, 960, 480, 240)),
        ("Default office hours", 100, {}, berlin, (240, 120, 60, 30), (2400, 1440, 480, 240)),
    ]
    for name, position, conditions, calendar, frt, res in policies:
        targets = {
            p: {"first_response": f, "next_response": f * 2, "resolution": r}
            for p, f, r in zip(("low", "normal", "high", "urgent"), frt, res, strict=True)
        }
        SLAPolicy.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                "conditions": conditions,
                "calendar": calendar,
                "targets": targets,
            },
        )


def _macros() -> None:
    Macro.objects.get_or_create(
        name="Thanks, looking into it",
        defaults={
            "body": 'Hi {requester_name},\n\nThanks for reaching out about "{subject}". '
            "I am looking into it now and will update you shortly.\n\n{agent_name}"
        },
    )
    Macro.objects.get_or_create(
        name="Solved - anything else?",
        defaults={
            "body": "Hi {requester_name},\n\nThis should now be sorted. Reply to this message if "
            "anything is still wrong.\n\n{agent_name}",
            "set_status": "solved",
        },
    )


def _csv_path() -> Path:
    return Path(settings.QUIMBI_SHARED_DATA) / CSV_NAME


def _rows() -> list[dict]:
    with _csv_path().open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    step = max(len(rows) // TICKETS, 1)
    return rows[::step][:TICKETS]


def _fill(text: str, name: str) -> str:
    return re.sub(r"\{\{[^}]+\}\}", lambda m: name if "Name" in m.group(0) else "(see your account)", text)


def _tickets(teams: dict[str, Team]) -> int:
    from ingestion import interface

    if not _csv_path().exists():
        return 0
    # The newest customers: the generated shop's, whose histories reach the present.
    customers = interface.customer_ids()[-120:]
    by_category = {c: slug for slug, (_, _, cats) in TEAMS.items() for c in cats}
    now = timezone.now()
    # Each demo reply comes from an agent of the ticket's team, taking turns.
    team_agents: dict[int, list[Agent]] = {team.pk: [] for team in teams.values()}
    for agent in Agent.objects.select_related("user").prefetch_related("teams").order_by("user__username"):
        for team in agent.teams.all():
            team_agents.setdefault(team.pk, []).append(agent)
    created = []
    with tickets.interactions_batched():
        for i, row in enumerate(_rows()):
            created.append(_ticket_from_row(i, row, teams, by_category, customers, team_agents, now))
    _intelligence(created)
    for agent in Agent.objects.order_by("user__username"):
        routing.agent_fill(agent=agent, reason="auto_online")
    # The demo's breaches are history: recorded and escalated, but no lead is e-mailed about them
    # (`make run` printed one e-mail per breach to the console).
    sla.sla_check(now=now, notify=False)
    return len(created)


def _ticket_from_row(i, row, teams, by_category, customers, team_agents, now) -> Ticket:
    intent, text = row["intent"], row["instruction"].strip()
    priority = (
        "urgent" if "W" in row["tags"] else "high" if intent in HIGH else "low" if intent in LOW else "normal"
    )
    at = now - timedelta(minutes=(TICKETS - i) * 41)
    customer_id = customers[i % len(customers)] if customers else ""
    with transaction.atomic():
        ticket = tickets.ticket_create(
            subject=f"{intent.replace('_', ' ').capitalize()}: {text[:60]}",
            body=text,
            customer_id=customer_id,
            requester_name=f"Customer {customer_id or i}",
            requester_email=f"customer{i}@example.com",
            channel=("email", "web", "chat")[i % 3],
            priority=priority,
            team=teams[by_category.get(row["category"], "accounts")],
            tags=["demo", row["category"].lower()],
            intent=intent,
            category=row["category"],
            at=at,
            auto_assign=False,
            refresh_intelligence=False,
        )
        agents = team_agents.get(ticket.team_id) or []
        if i % 3 == 0 and agents:
            agent = agents[(i // 3) % len(agents)]
            routing.ticket_assign(ticket=ticket, agent=agent)
            tickets.message_add(
                ticket=ticket,
                body=_fill(row["response"], ticket.requester_name),
                author_kind="agent",
                agent=agent,
                # Never in the future: the newest tickets get their reply by now.
                at=min(at + timedelta(minutes=20 + i % 300), now),
                notify=False,  # demo requesters are not real: no e-mail goes out
            )
            if i % 2 == 0:
                tickets.ticket_status_set(
                    ticket=ticket, status="solved", at=min(at + timedelta(hours=3), now)
                )
    return ticket


def _intelligence(items: list[Ticket]) -> None:
    """One platform call per customer (not per ticket); tickets keep working if it is not ready."""
    by_customer: dict[str, Ticket] = {}
    for t in items:
        by_customer.setdefault(t.customer_id, t)
    for customer_id, ticket in by_customer.items():
        if not customer_id or not tickets.ticket_intelligence_refresh(ticket=ticket):
            continue
        Ticket.objects.filter(customer_id=customer_id).update(
            churn_probability=ticket.churn_probability,
            churn_band=ticket.churn_band,
            predicted_ltv=ticket.predicted_ltv,
            archetype=ticket.archetype,
            value_at_risk=ticket.value_at_risk,
            intelligence_at=ticket.intelligence_at,
        )
