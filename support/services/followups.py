"""Follow-ups owed after a committed write: interaction reports and reply e-mails.

Each is recorded on its row in the write's transaction (`report_pending_since`,
`email_pending_since`) and cleared when done, so one whose task was lost (broker down) or
failed is found here, a few minutes later, by the beat task `followups_catch_up`: the reports
are made at once, in one platform call, and each e-mail is queued again. A report is an upsert
by external id, and an e-mail is claimed by the run that sends it, so neither is done twice.
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
    """(ticket id, public message id or None) still to report, owed for more than a few minutes."""
    now = now or timezone.now()
    tickets = _taken(Ticket, "report_pending_since", now=now, limit=limit)
    messages = _taken(Message, "report_pending_since", now=now, limit=limit, values=("ticket_id",))
    message_pairs = [(ticket_id, pk) for pk, ticket_id in messages]
    with_message = {t for t, _ in message_pairs}  # a message's report carries its ticket too
    return message_pairs + [(pk, None) for (pk,) in tickets if pk not in with_message]


def reports_catch_up(*, now: datetime | None = None) -> int:
    """Report the interactions owed for more than a few minutes in ONE platform call (a report
    is an upsert of many at once); a failed call leaves them owed for the next run."""
    from support.services import tickets

    pairs = reports_owed(now=now)
    if pairs:
        tickets.interactions_report_many(pairs=pairs)
    return len(pairs)


def reply_emails_owed(*, now: datetime | None = None, limit: int = LIMIT) -> list[int]:
    """Ids of messages whose reply e-mail is owed for more than a few minutes and not yet sent."""
    now = now or timezone.now()
    return [pk for (pk,) in _taken(Message, "email_pending_since", now=now, limit=limit)]


def _taken(model, field: str, *, now: datetime, limit: int, values: tuple[str, ...] = ()) -> list[tuple]:
    """`(pk, *values)` of the rows owed (`field`) for more than a few minutes, oldest first.

    They are marked owed from `now`, so the next run does not queue them again while their tasks
    wait. The condition on the update matters: a row cleared in between (reported, or claimed by
    the run that sends its e-mail) must stay cleared.
    """
    owed = {f"{field}__lt": _owed_before(now)}
    rows = list(model.objects.filter(**owed).order_by(field, "pk").values_list("pk", *values)[:limit])
    model.objects.filter(pk__in=[row[0] for row in rows], **owed).update(**{field: now})
    return rows
