"""Celery entry points: thin, idempotent, ids and primitives only."""

from celery import shared_task
from django.db import OperationalError


# Idempotent (each warning and breach is claimed once, with its event, in one transaction):
# a worker lost mid-run hands the message back and the redo does only what is left.
@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def sla_check() -> dict:
    """Every minute: record SLA warnings and breaches, escalate each breach once."""
    from support.services import sla

    return sla.sla_check()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def interaction_report(ticket_id: int, message_id: int | None = None) -> bool:
    """Report a ticket (and a public reply) to the platform as interactions (upsert by external id)."""
    from support.services import tickets

    return tickets.interaction_report(ticket_id=ticket_id, message_id=message_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def ticket_intelligence_refresh(ticket_id: int) -> bool:
    from support.models import Ticket
    from support.services import tickets

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    return tickets.ticket_rescore(ticket=ticket) if ticket else False


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_reply_send(message_id: int) -> str:
    """Send one public reply by e-mail, at most once (a run claims it; others find nothing owed)."""
    from support.services import email_inbound

    return email_inbound.reply_send(message_id=message_id)


@shared_task
def followups_catch_up() -> dict:
    """Every few minutes: make the interaction reports still owed (in one platform call) and
    queue again the reply e-mails still owed (their task was never queued, the broker being
    down, or failed). Reports are upserts and an e-mail is claimed by the run that sends it."""
    from support.services import followups

    reports = followups.reports_catch_up()
    emails = followups.reply_emails_owed()
    for message_id in emails:
        email_reply_send.delay_on_commit(message_id)
    return {"reports": reports, "emails": len(emails)}
