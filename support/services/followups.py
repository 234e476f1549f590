"""Follow-ups owed after a committed write: interaction reports and reply e-mails.

Each is recorded on its row in the write's transaction (`report_pending_since`,
`email_pending_since`) and cleared when done, so one whose task was lost (broker down) or
failed is found here, a few minutes later, and queued again by the beat task
`followups_catch_up`. Both tasks are idempotent: a report is an upsert by external id, and
an e-mail is claimed by the run that sends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from support.models import Message, Ticket

# Per kind and run, oldest first; a row queued again counts as new, so none holds up the rest.
LIMIT = 500


def _owed_before(now: datetime) -> datetime:
    # Long enough for a follow-up's own task to have run: only lost or failed ones are older.
    return now - timedelta(minutes=int(getattr(settings, "SUPPORT_FOLLOWUP_AFTER_MINUTES", 5)))


def reports_owed(*, now: datetime | None = None, limit: int = LIMIT) -> list[tuple[int, int | None]]:
    """(ticket id, public message id or None) still to report, owed for more than a few minutes.

    They are marked owed from `now`, so the next run does not queue them again while their
    tasks wait; a row cleared meanwhile (reported) stays cleared.
    """
    now = now or timezone.now()
    before = _owed_before(now)
    ticket_ids = list(
        Ticket.objects.filter(report_pending_since__lt=before)
        .order_by("report_pending_since", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    message_pairs = list(
        Message.objects.filter(report_pending_since__lt=before)
        .order_by("report_pending_since", "pk")
        .values_list("ticket_id", "pk")[:limit]
    )
    Ticket.objects.filter(pk__in=ticket_ids, report_pending_since__lt=before).update(report_pending_since=now)
    Message.objects.filter(pk__in=[m for _, m in message_pairs], report_pending_since__lt=before).update(
        report_pending_since=now
    )
    with_message = {t for t, _ in message_pairs}  # a message's report carries its ticket too
    return message_pairs + [(t, None) for t in ticket_ids if t not in with_message]


def reply_emails_owed(*, now: datetime | None = None, limit: int = LIMIT) -> list[int]:
    """Ids of messages whose reply e-mail is owed for more than a few minutes and not yet sent.

    Marked owed from `now`, as in reports_owed. The condition on the update matters: a run that
    claimed (and sent) one in between must not find it owed again.
    """
    now = now or timezone.now()
    before = _owed_before(now)
    ids = list(
        Message.objects.filter(email_pending_since__lt=before)
        .order_by("email_pending_since", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    Message.objects.filter(pk__in=ids, email_pending_since__lt=before).update(email_pending_since=now)
    return ids
