"""Support app data: tickets and conversation, agents and teams, SLA, assignment."""

from support.models.routing import AssignmentLog
from support.models.sla import BusinessCalendar, SLAEvent, SLAPolicy, SLATimer
from support.models.tickets import Agent, Macro, Message, Team, Ticket, TicketEvent

__all__ = [
    "Agent",
    "AssignmentLog",
    "BusinessCalendar",
    "Macro",
    "Message",
    "SLAEvent",
    "SLAPolicy",
    "SLATimer",
    "Team",
    "Ticket",
    "TicketEvent",
]
