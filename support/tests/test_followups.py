"""Interaction reports and reply e-mails lost on the way (broker down, platform or mail server
refusing) stay owed on their rows and are caught up by the beat task, each exactly once."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from support import platform, tasks
from support.models import Message, Ticket
from support.services import email_inbound, followups, tickets
from support.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def _down(*args, **kwargs):
    raise BrokerDown("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


@pytest.fixture
def reported(monkeypatch) -> list[dict]:
    """The platform takes every report; the records it was given, in order."""
    taken: list[dict] = []

    def take(self, *, records: list[dict]) -> bool:
        taken.extend(records)
        return True

    monkeypatch.setattr(platform.InProcessPlatformClient, "interactions_report", take)
    return taken


def _ticket_and_reply(capture, *, run_tasks: bool = True) -> tuple[Ticket, Message]:
    with capture(execute=run_tasks):
        ticket = tickets.ticket_create(
            subject="Where is my parcel?",
            body="Two weeks late.",
            customer_id="c-9",
            requester_email="ann@example.com",
            channel=Ticket.Channel.EMAIL,
        )
    with capture(execute=run_tasks):
        reply = tickets.message_add(
            ticket=ticket, body="It left today.", author_kind="agent", agent=AgentFactory()
        )
    return ticket, reply


def _catch_up(capture, *, minutes: float) -> dict:
    with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False):
        with capture(execute=True):
            return tasks.followups_catch_up()


def test_a_ticket_and_reply_made_while_the_broker_is_down_are_caught_up_once(
    monkeypatch, reported, django_capture_on_commit_callbacks, caplog
):
    with monkeypatch.context() as m:
        for task in (tasks.interaction_report, tasks.email_reply_send):
            m.setattr(task, "delay", _down)
        ticket, reply = _ticket_and_reply(django_capture_on_commit_callbacks)
    assert "Connection refused" in caplog.text
    assert reported == [] and mail.outbox == []
    ticket.refresh_from_db()
    reply.refresh_from_db()
    assert ticket.report_pending_since and reply.report_pending_since and reply.email_pending_since

    assert _catch_up(django_capture_on_commit_callbacks, minutes=1) == {"reports": 0, "emails": 0}
    assert _catch_up(django_capture_on_commit_callbacks, minutes=6) == {"reports": 1, "emails": 1}
    assert sorted(r["external_id"] for r in reported) == [
        f"ticket-{ticket.pk}",
        f"ticket-{ticket.pk}-message-{reply.pk}",
    ]
    assert reported[0]["status"] == "open"  # the ticket as it is now, not as it was
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ann@example.com"]
    assert not Ticket.objects.filter(report_pending_since__isnull=False).exists()
    assert not Message.objects.filter(report_pending_since__isnull=False).exists()
    assert not Message.objects.filter(email_pending_since__isnull=False).exists()

    assert _catch_up(django_capture_on_commit_callbacks, minutes=30) == {"reports": 0, "emails": 0}
    assert len(reported) == 2 and len(mail.outbox) == 1


def test_the_task_and_the_catch_up_never_both_send_a_reply(reported, django_capture_on_commit_callbacks):
    ticket, _ = _ticket_and_reply(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as late:  # queued, not yet run
        reply = tickets.message_add(ticket=ticket, body="Any news?", author_kind="agent", agent=None)
    assert len(mail.outbox) == 1  # the first reply only

    assert _catch_up(django_capture_on_commit_callbacks, minutes=6)["emails"] == 1
    for queued in late:  # the original task runs after all
        queued()
    assert tasks.email_reply_send.delay(reply.pk).get() == ""  # and once more: nothing owed
    assert [m.body for m in mail.outbox] == ["It left today.", "Any news?"]


def test_a_reply_already_sent_is_not_sent_again(reported, django_capture_on_commit_callbacks):
    _, reply = _ticket_and_reply(django_capture_on_commit_callbacks)
    reply.refresh_from_db()
    assert reply.email_message_id  # sent, with its Message-ID
    assert tasks.email_reply_send.delay(reply.pk).get() == ""
    assert len(mail.outbox) == 1


def test_a_reply_the_mail_server_refused_stays_owed(
    monkeypatch, reported, django_capture_on_commit_callbacks
):
    from django.core.mail import EmailMessage

    _, reply = _ticket_and_reply(django_capture_on_commit_callbacks, run_tasks=False)
    with monkeypatch.context() as m:
        m.setattr(EmailMessage, "send", _refused)
        with pytest.raises(ConnectionRefusedError):
            email_inbound.reply_send(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.email_pending_since is not None and not reply.email_message_id
    assert _catch_up(django_capture_on_commit_callbacks, minutes=6)["emails"] == 1
    assert len(mail.outbox) == 1


def _refused(*args, **kwargs):
    raise ConnectionRefusedError("SMTP server refused the connection")


def test_a_report_the_platform_did_not_take_stays_owed(monkeypatch, django_capture_on_commit_callbacks):
    # The platform is down (the suite's stub answers "unavailable"): the report task runs, in vain.
    ticket, _ = _ticket_and_reply(django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    assert ticket.report_pending_since is not None
    assert followups.reports_owed(now=timezone.now() + timedelta(minutes=6))
    assert followups.reports_owed(now=timezone.now() + timedelta(minutes=8)) == []  # queued at +6


def test_a_change_made_while_its_report_is_on_the_way_stays_owed(
    monkeypatch, django_capture_on_commit_callbacks
):
    ticket, _ = _ticket_and_reply(django_capture_on_commit_callbacks, run_tasks=False)

    def changed_meanwhile(self, *, records):
        # The change (and its own report, queued) comes after this report read the ticket.
        with django_capture_on_commit_callbacks(execute=False):
            tickets.ticket_status_set(ticket=Ticket.objects.get(pk=ticket.pk), status="pending")
        return True

    monkeypatch.setattr(platform.InProcessPlatformClient, "interactions_report", changed_meanwhile)
    assert tickets.interaction_report(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.report_pending_since is not None


def test_the_catch_up_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["support-followups-catch-up"]
    assert entry["task"] == tasks.followups_catch_up.name
    assert entry["schedule"] <= 600
