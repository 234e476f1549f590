"""E-mail in and out: RFC 822 messages become tickets or thread into existing ones;
agent replies go out through Django's e-mail backend with threading headers."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, make_msgid, parsedate_to_datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from support.errors import NotAnEmail
from support.models import Message, Ticket
from support.services import tickets

SUBJECT_TOKEN = re.compile(r"\[#(\d+)\]")
MSGID = re.compile(r"<[^<>\s]+>")
# What a database text column cannot hold: NUL (PostgreSQL refuses it) and lone surrogates,
# which the e-mail parser uses to stand for bytes it could not decode (they are not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value) -> str:
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", str(value or ""))


def _body(msg) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        # An unknown or wrong charset: read the bytes as UTF-8 rather than lose the message.
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)  # stored as text and always escaped on display
    return _text(text).strip()


def _find_ticket(references: list[str], subject: str) -> Ticket | None:
    if references:
        hit = (
            Message.objects.filter(email_message_id__in=references)
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
        if hit is not None:
            return hit.ticket.merged_into or hit.ticket
    if m := SUBJECT_TOKEN.search(subject or ""):
        ticket = Ticket.objects.filter(pk=int(m.group(1))).select_related("merged_into").first()
        if ticket is not None:
            return ticket.merged_into or ticket
    return None


@transaction.atomic
def email_ingest(*, raw: bytes) -> tuple[Ticket, Message, bool]:
    """Returns (ticket, message, created): `created` when the message opened a ticket, a new
    request or a reply to a closed ticket (a follow-up). A message id seen before is not stored
    twice.

    Raises NotAnEmail for input without a From address, or with neither a subject nor a body.
    """
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = _text(msg.get("Message-ID")).strip()[:255]
    if message_id and (seen := Message.objects.filter(email_message_id=message_id).first()):
        return seen.ticket, seen, False
    references = MSGID.findall(f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}")
    subject = _text(msg.get("Subject")).strip()
    name, address = (getaddresses([_text(msg.get("From"))]) or [("", "")])[0]
    body = _body(msg)
    # An empty or binary file parses as a message without headers: refused, or each run of
    # the same file would add another ticket that nobody can answer.
    if "@" not in address or not (subject or body):
        raise NotAnEmail()
    subject = subject or "(no subject)"
    # The columns' sizes: a longer address is no address we could reply to.
    name, address = name.strip()[:200], (address.lower() if len(address) <= 254 else "")
    try:
        at = parsedate_to_datetime(msg["Date"]) if msg["Date"] else timezone.now()
    except (TypeError, ValueError):
        at = timezone.now()
    at = min(at, timezone.now())
    body = body or "(empty message)"
    ticket = _find_ticket(references, subject)
    if ticket is None:
        ticket = tickets.ticket_create(
            subject=subject,
            body=body,
            requester_name=name,
            requester_email=address,
            channel=Ticket.Channel.EMAIL,
            email_message_id=message_id,
            customer_id=_customer_for(address),
        )
        return ticket, ticket.messages.first(), True
    message = tickets.message_add(
        ticket=ticket,
        body=body,
        author_kind=Message.Author.CUSTOMER,
        via="email",
        email_message_id=message_id,
    )
    # A reply to a closed ticket opens a follow-up ticket: the message's own.
    return message.ticket, message, message.ticket_id != ticket.pk


def _customer_for(address: str) -> str:
    if not address:
        return ""
    from ingestion import interface

    try:
        return interface.customer_resolve(source="email", external_id=address.lower()) or ""
    except Exception:
        return ""


def reply_send(*, message_id: int) -> str:
    """Send the reply e-mail a message owes, at most once; its Message-ID, or "" when none is owed.

    The claim (clearing `email_pending_since`) comes before the backend call, so two runs (the
    task and the catch-up's) never both send; a backend failure makes it owed again.
    """
    owed = Message.objects.filter(pk=message_id).values_list("email_pending_since", flat=True).first()
    if owed is None or not Message.objects.filter(pk=message_id, email_pending_since=owed).update(
        email_pending_since=None
    ):
        return ""  # never owed (an inbound message), already sent, or taken by another run
    message = Message.objects.select_related("ticket").get(pk=message_id)
    email = _reply_email(message)
    try:
        email.send()
    except Exception:
        Message.objects.filter(pk=message_id).update(email_pending_since=timezone.now())
        raise
    sent_id = email.extra_headers["Message-ID"]
    Message.objects.filter(pk=message_id).update(email_message_id=sent_id)
    return sent_id


def _reply_email(message: Message) -> EmailMessage:
    """The reply to the requester, threaded with In-Reply-To/References."""
    ticket = message.ticket
    thread = list(
        ticket.messages.exclude(email_message_id="")
        .exclude(pk=message.pk)
        .order_by("created_at")
        .values_list("email_message_id", flat=True)
    )
    message_id = message.email_message_id or make_msgid(
        domain=getattr(settings, "SUPPORT_EMAIL_DOMAIN", None)
    )
    headers = {"Message-ID": message_id}
    if thread:
        headers["In-Reply-To"] = thread[-1]
        headers["References"] = " ".join(thread[-10:])
    subject = ticket.subject if SUBJECT_TOKEN.search(ticket.subject) else f"[#{ticket.pk}] {ticket.subject}"
    return EmailMessage(
        subject=f"Re: {subject}" if thread else subject,
        body=message.body,
        to=[ticket.requester_email],
        from_email=getattr(settings, "SUPPORT_FROM_EMAIL", None) or settings.DEFAULT_FROM_EMAIL,
        headers=headers,
    )
