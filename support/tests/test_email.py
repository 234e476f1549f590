import io
import sys

import pytest
from django.core import mail
from django.core.management import call_command

from support.models import Message, Ticket
from support.services import email_inbound, tickets
from support.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

FIRST = b"""From: Ann Lee <Ann@Example.com>
To: support@quimbi.local
Subject: My order never arrived
Message-ID: <first-1@example.com>
Date: Mon, 23 Nov 2026 09:00:00 +0000
Content-Type: text/plain; charset=utf-8

I ordered shoes two weeks ago. <script>alert(1)</script>
"""


def _reply(msgid: str, in_reply_to: str = "", subject: str = "Re: My order never arrived") -> bytes:
    return (
        f"From: ann@example.com\nSubject: {subject}\nMessage-ID: <{msgid}>\n"
        + (f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n" if in_reply_to else "")
        + "Content-Type: text/plain\n\nAny news?\n"
    ).encode()


def test_new_mail_creates_ticket_and_duplicates_are_ignored():
    ticket, message, created = email_inbound.email_ingest(raw=FIRST)
    assert created and ticket.channel == "email" and ticket.requester_email == "ann@example.com"
    assert ticket.requester_name == "Ann Lee" and ticket.subject == "My order never arrived"
    assert message.email_message_id == "<first-1@example.com>" and "<script>" in message.body
    again = email_inbound.email_ingest(raw=FIRST)
    assert again[0] == ticket and again[2] is False
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


def test_threads_by_headers_then_subject_token(django_capture_on_commit_callbacks):
    ticket, _, _ = email_inbound.email_ingest(raw=FIRST)
    with django_capture_on_commit_callbacks(execute=True):
        reply = tickets.message_add(
            ticket=ticket, body="We are checking.", author_kind="agent", agent=AgentFactory()
        )
    assert len(mail.outbox) == 1
    out = mail.outbox[0]
    assert out.to == ["ann@example.com"] and out.subject == f"Re: [#{ticket.pk}] My order never arrived"
    assert out.extra_headers["In-Reply-To"] == "<first-1@example.com>"
    reply.refresh_from_db()
    assert reply.email_message_id == out.extra_headers["Message-ID"]
    t2, _, created = email_inbound.email_ingest(raw=_reply("r2@example.com", reply.email_message_id))
    assert t2 == ticket and not created
    t3, _, created = email_inbound.email_ingest(
        raw=_reply("r3@example.com", subject=f"Fwd: [#{ticket.pk}] hi")
    )
    assert t3 == ticket and not created
    t4, _, created = email_inbound.email_ingest(raw=_reply("r4@example.com", subject="Something else"))
    assert created and t4 != ticket


def test_command_reads_file_and_stdin(tmp_path, monkeypatch):
    path = tmp_path / "mail.eml"
    path.write_bytes(FIRST)
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    assert "created ticket #" in out.getvalue()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(_reply("r9@x", "<first-1@example.com>"))))
    out = io.StringIO()
    call_command("ingest_email", "-", stdout=out)
    assert "threaded into ticket #" in out.getvalue()


def test_a_reply_to_a_closed_ticket_opens_a_follow_up():
    closed, _, _ = email_inbound.email_ingest(raw=FIRST)
    tickets.ticket_update(ticket=closed, tags=["shoes"])
    tickets.ticket_status_set(ticket=closed, status="closed")
    follow_up, message, created = email_inbound.email_ingest(
        raw=_reply("late-1@example.com", "<first-1@example.com>")
    )
    assert created and follow_up != closed and follow_up.follow_up_of == closed
    assert (follow_up.status, follow_up.requester_email, follow_up.tags) == (
        "new",
        "ann@example.com",
        ["shoes"],
    )
    assert message.ticket == follow_up and message.email_message_id == "<late-1@example.com>"
    closed.refresh_from_db()
    assert closed.status == "closed" and closed.messages.count() == 1
    # The same e-mail again is a duplicate, and a further reply threads into the follow-up.
    assert (
        email_inbound.email_ingest(raw=_reply("late-1@example.com", "<first-1@example.com>"))[0] == follow_up
    )
    t, _, created = email_inbound.email_ingest(raw=_reply("late-2@example.com", "<late-1@example.com>"))
    assert t == follow_up and not created
