"""What the platform adds to a ticket: the customer panel, AI drafts and suggested actions.

Each answer carries `available`; when the platform is slow or down it is False and the
page or endpoint says "intelligence unavailable" instead of failing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from support.models import Ticket
from support.platform import get_client

UNAVAILABLE = "intelligence unavailable"
CONVERSATION_LIMIT = 20


def _conversation(ticket: Ticket) -> list[dict[str, str]]:
    messages = ticket.messages.filter(kind="public").order_by("-created_at", "-id")[:CONVERSATION_LIMIT]
    role = {"customer": "customer", "agent": "agent", "ai": "agent", "system": "agent"}
    return [{"role": role[m.author_kind], "text": m.body} for m in reversed(list(messages))]


def customer_panel(*, ticket: Ticket) -> dict[str, Any]:
    if not ticket.customer_id:
        return {
            "available": False,
            "message": "No platform customer linked to this ticket.",
            "intelligence": None,
            "recent_orders": None,
        }
    client = get_client()
    intel = client.customer_intelligence(customer_id=ticket.customer_id)
    orders = client.recent_orders(customer_id=ticket.customer_id)
    return {
        "available": intel is not None,
        "message": "" if intel is not None else UNAVAILABLE,
        "intelligence": intel,
        "recent_orders": orders,
    }


def ticket_draft(*, ticket: Ticket) -> dict[str, Any]:
    """An AI draft reply (never sent by itself) and suggested next actions."""
    client = get_client()
    context = {
        "conversation": _conversation(ticket),
        "goal": "resolve_support_issue",
        "channel": "chat" if ticket.channel == "chat" else "email",
        # The keys generation reads: the subject helps tell the issue, an urgent priority puts
        # "answer this ticket first" among the actions, and the name greets the customer.
        "subject": ticket.subject,
        "priority": ticket.priority,
        "customer_name": ticket.requester_name,
    }
    profile = _profile(ticket, client)
    message = client.message_draft(profile=profile, context=context)
    actions = client.actions_suggest(profile=profile, context=context) or []
    return {
        "available": message is not None,
        "message": "" if message is not None else UNAVAILABLE,
        "draft": message,
        "actions": actions,
    }


def _profile(ticket: Ticket, client) -> dict[str, Any]:
    """The customer's full intelligence when the platform has it, else the ticket's snapshot."""
    intel = client.customer_intelligence(customer_id=ticket.customer_id) if ticket.customer_id else None
    if intel is not None:
        return {**as_json(intel), "name": ticket.requester_name}
    return {
        "customer_id": ticket.customer_id,
        "name": ticket.requester_name,
        "archetype": ticket.archetype,
        "churn_probability": ticket.churn_probability,
        "predicted_ltv": ticket.predicted_ltv,
    }


def as_json(value: Any) -> Any:
    """Dataclasses (and lists of them) as JSON-ready dicts."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if dataclasses.is_dataclass(value):
        return _jsonable(dataclasses.asdict(value))
    return value


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
