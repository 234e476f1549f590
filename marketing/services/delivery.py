"""Delivery: due outbox messages handed to Django's e-mail backend, each at most once.

A run claims the due rows first (SENDING, with the time), so two workers never take the
same message; a claim left by a run that died is marked failed, never sent again. What
changed since the outbox was written (an open urgent ticket, an unsubscribe, a cancelled
campaign) is checked again at delivery. Every e-mail carries its unsubscribe link.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from marketing.models import Campaign, OutboxMessage
from marketing.services import campaigns, suppressions


def outbox_deliver_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Deliver due pending messages through the e-mail backend. Returns how many were sent."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxMessage.Status.PENDING, send_at__lte=now)
            .order_by("send_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        # The claim: from here on no other run can pick these rows (at most once).
        OutboxMessage.objects.filter(id__in=ids).update(status=OutboxMessage.Status.SENDING, claimed_at=now)
    _abandoned_claims_fail(now=now)
    if not ids:
        return 0
    messages = list(OutboxMessage.objects.filter(id__in=ids))
    held = _held_at_delivery(messages=messages)
    sent, failed = _send_through_backend(messages=[m for m in messages if m.pk not in held])
    OutboxMessage.objects.filter(id__in=sent).update(status=OutboxMessage.Status.SENT, sent_at=now)
    for reason in set(held.values()):
        OutboxMessage.objects.filter(id__in=[pk for pk, r in held.items() if r == reason]).update(
            status=OutboxMessage.Status.SUPPRESSED, suppressed_reason=reason
        )
    OutboxMessage.objects.bulk_update(failed, ["status", "error"])
    campaigns.campaign_finish_if_done(campaign_ids={m.campaign_id for m in messages}, now=now)
    return len(sent)


def _abandoned_claims_fail(*, now: datetime) -> None:
    """A run that died after claiming may or may not have sent: mark failed, never resend."""
    stale = now - timedelta(minutes=int(getattr(settings, "MARKETING_CLAIM_TIMEOUT_MINUTES", 60)))
    abandoned = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING, claimed_at__lt=stale)
    campaign_ids = set(abandoned.values_list("campaign_id", flat=True).distinct())
    if campaign_ids:
        abandoned.update(status=OutboxMessage.Status.FAILED, error="delivery interrupted; not retried")
        campaigns.campaign_finish_if_done(campaign_ids=campaign_ids, now=now)


def _held_at_delivery(*, messages: list[OutboxMessage]) -> dict[int, str]:
    """{message id: reason} for claimed messages not to send after all: things change after the
    outbox is written (a ticket opened, an unsubscribe, the campaign cancelled). Three queries."""
    tickets = campaigns.customers_held_out(customer_ids={m.customer_id for m in messages})
    listed = suppressions.suppressed_reasons(emails=[m.email for m in messages])
    cancelled = set(
        Campaign.objects.filter(
            pk__in={m.campaign_id for m in messages}, status=Campaign.Status.CANCELLED
        ).values_list("pk", flat=True)
    )
    held = {}
    for m in messages:
        listed_reason = listed.get(suppressions.email_normalize(m.email))
        if listed_reason:
            held[m.pk] = suppressions.outbox_reason(reason=listed_reason)
        elif m.campaign_id in cancelled and m.enrollment_id is None:  # a journey's sends go on
            held[m.pk] = campaigns.REASON_CAMPAIGN_CANCELLED
        elif m.customer_id in tickets:
            held[m.pk] = tickets[m.customer_id]
    return held


def _send_through_backend(*, messages: list[OutboxMessage]):
    from_email = getattr(settings, "MARKETING_FROM_EMAIL", settings.DEFAULT_FROM_EMAIL)
    sent, failed = [], []
    with mail.get_connection() as connection:
        for message in messages:
            email = _email_for(message=message, from_email=from_email)
            try:
                connection.send_messages([email])
            except Exception as exc:  # SMTP errors are many; record and move on
                message.status, message.error = OutboxMessage.Status.FAILED, str(exc)[:2000]
                failed.append(message)
            else:
                sent.append(message.pk)
    return sent, failed


def _email_for(*, message: OutboxMessage, from_email: str) -> mail.EmailMessage:
    """The e-mail with its unsubscribe link, in the body and as RFC 8058 one-click headers.

    Built at delivery, not when the outbox is written, so rows written earlier get it too and
    the stored body stays what the marketer wrote.
    """
    url = suppressions.unsubscribe_url(email=message.email, campaign_id=message.campaign_id)
    body = f"{message.body.rstrip()}\n\n--\nTo stop receiving these e-mails, unsubscribe: {url}\n"
    headers = {
        "X-Quimbi-Campaign": str(message.campaign_id),
        "List-Unsubscribe": f"<{url}>",
        # Mail clients then POST "List-Unsubscribe=One-Click" to the URL, no page shown.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return mail.EmailMessage(message.subject, body, from_email, [message.email], headers=headers)
