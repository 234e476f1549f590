"""Input that is not an e-mail is refused, and each run of it adds nothing."""

import io
import os
import sys

import pytest
from django.core.management import CommandError, call_command

from support.models import Message, Ticket
from support.services import email_inbound

pytestmark = pytest.mark.django_db

NOT_EMAILS = {
    "empty": b"",
    "blank_lines": b"\n\n  \n",
    "binary": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "nul_bytes": b"\x00" * 100,
    "plain_text": b"hello world\nthis is not mail\n",
    "from_without_address": b"From: Ann\nSubject: hi\n\nbody\n",
    "from_but_no_subject_or_body": b"From: ann@example.com\nTo: support@quimbi.local\n\n \n",
}


@pytest.mark.parametrize("raw", NOT_EMAILS.values(), ids=NOT_EMAILS.keys())
def test_command_refuses_input_that_is_not_an_email(tmp_path, raw):
    path = tmp_path / "input.eml"
    path.write_bytes(raw)
    for _ in range(2):
        with pytest.raises(
            CommandError, match="Not an e-mail: it needs a From address, and a subject or a body"
        ):
            call_command("ingest_email", str(path), stdout=io.StringIO())
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0


def test_command_refuses_random_bytes_on_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(os.urandom(4096))))
    with pytest.raises(CommandError, match="-: Not an e-mail"):
        call_command("ingest_email", "-", stdout=io.StringIO())
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"From: ann@example.com\nSubject: Where is my order?\n\n",
        b"From: ann@example.com\nContent-Type: text/plain\n\nWhere is my order?\n",
    ],
    ids=["subject_only", "body_only"],
)
def test_an_email_with_a_sender_and_a_subject_or_a_body_is_a_ticket(raw):
    ticket, message, created = email_inbound.email_ingest(raw=raw)
    assert created and ticket.requester_email == "ann@example.com"
    assert ticket.subject and message.body
