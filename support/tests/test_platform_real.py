"""Against the real platform interfaces (no stubs): ingestion and generation."""

import pytest

from support.services import tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_id(real_platform):
    from ingestion import interface

    ref = interface.sync_customer(
        source="shop", data={"customer_id": "shop-cust-1", "email": "ann@example.com", "name": "Ann Lee"}
    )
    return ref.customer_id


def test_ticket_and_replies_become_platform_interactions(customer_id, django_capture_on_commit_callbacks):
    from ingestion import interface

    with django_capture_on_commit_callbacks(execute=True):
        ticket = tickets.ticket_create(subject="Late parcel", body="Where is it?", customer_id=customer_id)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.message_add(ticket=ticket, body="Shipped today", author_kind="agent")
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_status_set(ticket=ticket, status="solved")
    frame = interface.interactions_frame(customer_ids=[customer_id])
    rows = {r.external_id: r for r in frame.itertuples()}
    main = rows[f"ticket-{ticket.pk}"]
    assert main.source == "support" and main.kind == "support_ticket"
    assert main.status == "solved"  # later updated_at wins
    assert any(k.startswith(f"ticket-{ticket.pk}-message-") for k in rows)
    assert len(frame) == 2


def test_ticket_of_a_customer_without_email_reaches_that_customer(
    real_platform, django_capture_on_commit_callbacks
):
    from ingestion import interface

    pk = interface.sync_customer(source="shop", data={"customer_id": "no-mail"}).customer_id
    with django_capture_on_commit_callbacks(execute=True):
        ticket = tickets.ticket_create(subject="Refund?", body="Please", customer_id=pk)
    assert interface.customer_ids() == [pk]  # no new customer was made for the ticket
    assert list(interface.interactions_frame(customer_ids=[pk]).external_id) == [f"ticket-{ticket.pk}"]
