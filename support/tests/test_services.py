"""Ticket services behind the agent pages: replies sent once, closed tickets stay closed."""

import pytest
from django.db import IntegrityError, transaction

from support.errors import InvalidTransition
from support.models import Message
from support.services import tickets
from support.tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return tickets.ticket_create(subject="Parcel late", body="Where is it?", team=TeamFactory())


def test_ticket_reply_stores_one_message_per_client_token(ticket):
    agent = AgentFactory(teams=[ticket.team])
    first, created = tickets.ticket_reply(
        ticket=ticket, body="On it", kind="public", agent=agent, status="pending", client_token="t-1"
    )
    assert created and first.client_token == "t-1"
    tickets.ticket_status_set(ticket=ticket, status="open")
    again, created = tickets.ticket_reply(
        ticket=ticket, body="On it", kind="public", agent=agent, status="pending", client_token="t-1"
    )
    assert (again.pk, created) == (first.pk, False)
    ticket.refresh_from_db()
    assert ticket.status == "open"  # the resend changed nothing
    assert ticket.messages.filter(author_kind="agent").count() == 1
    # Without a token (API clients, old pages) every call is a new message.
    tickets.ticket_reply(ticket=ticket, body="On it", kind="public", agent=agent)
    tickets.ticket_reply(ticket=ticket, body="On it", kind="public", agent=agent)
    assert ticket.messages.filter(author_kind="agent").count() == 3


def test_the_database_refuses_a_second_message_with_the_same_token(ticket):
    """What a concurrent twin of a submission runs into (ticket_reply then returns the first)."""
    tickets.message_add(ticket=ticket, body="a", author_kind="agent", client_token="t-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            ticket=ticket, body="b", author_kind="agent", client_token="t-2", created_at=ticket.created_at
        )
    other = tickets.ticket_create(subject="Other", body="x", team=ticket.team)
    tickets.message_add(ticket=other, body="a", author_kind="agent", client_token="t-2")  # per ticket


def test_a_closed_ticket_takes_no_reply_note_or_change_from_us(ticket):
    tickets.ticket_status_set(ticket=ticket, status="closed")
    for kind in ("public", "internal"):
        with pytest.raises(InvalidTransition):
            tickets.message_add(ticket=ticket, body="Hello?", author_kind="agent", kind=kind)
    with pytest.raises(InvalidTransition):
        tickets.ticket_update(ticket=ticket, priority="urgent")
    ticket.refresh_from_db()
    assert ticket.priority == "normal"
    assert not ticket.messages.filter(author_kind="agent").exists()


def test_a_ticket_never_goes_back_to_new(ticket):
    tickets.ticket_status_set(ticket=ticket, status="open")
    with pytest.raises(InvalidTransition):
        tickets.ticket_status_set(ticket=ticket, status="new")
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_the_status_choices_offer_new_only_to_a_new_ticket():
    from support.forms import ReplyForm, TicketUpdateForm

    def offered(form) -> set[str]:
        return {value for value, _ in form.fields["status"].choices}

    assert "new" in offered(TicketUpdateForm(status_now="new"))
    assert "new" not in offered(TicketUpdateForm(status_now="open"))
    assert "new" not in offered(ReplyForm())
