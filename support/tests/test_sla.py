from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from support.models import Message, SLAEvent, SLATimer, Ticket, TicketEvent
from support.services import sla, tickets
from support.tests.factories import AgentFactory, CalendarFactory, PolicyFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
M = SLATimer.Metric


def _timer(ticket, metric):
    return SLATimer.objects.get(ticket=ticket, metric=metric)


def _create(**kw):
    defaults = {"subject": "Where is my parcel?", "body": "It has been two weeks.", "auto_assign": False}
    return tickets.ticket_create(**{**defaults, **kw})


@pytest.fixture
def office_policy():
    return PolicyFactory(calendar=CalendarFactory())


def test_friday_evening_ticket_is_due_monday(office_policy):
    with time_machine.travel(datetime(2026, 11, 20, 18, 0, tzinfo=BERLIN), tick=False):
        ticket = _create()
    frt = _timer(ticket, M.FIRST_RESPONSE)
    assert frt.due_at == datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    assert _timer(ticket, M.RESOLUTION).due_at == datetime(2026, 11, 23, 17, 0, tzinfo=BERLIN)
    ticket.refresh_from_db()
    assert ticket.sla_policy == office_policy
    assert ticket.sla_due_at == frt.due_at
    assert SLAEvent.objects.filter(ticket=ticket, kind="apply").count() == 1


def test_first_response_needs_a_person_not_ai(office_policy):
    start = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False):
        ticket = _create()
    agent = AgentFactory()
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        tickets.message_add(ticket=ticket, body="Auto: we got it", author_kind=Message.Author.AI)
    assert _timer(ticket, M.FIRST_RESPONSE).fulfilled_at is None
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        tickets.message_add(ticket=ticket, body="Internal", author_kind="agent", kind="internal", agent=agent)
        assert _timer(ticket, M.FIRST_RESPONSE).fulfilled_at is None
        tickets.message_add(ticket=ticket, body="Looking into it", author_kind="agent", agent=agent)
    frt = _timer(ticket, M.FIRST_RESPONSE)
    assert frt.fulfilled_at == start + timedelta(minutes=20)
    assert frt.elapsed_business_minutes == pytest.approx(20)
    assert frt.elapsed_calendar_minutes == pytest.approx(20)
    fulfil = SLAEvent.objects.get(timer=frt, kind="fulfil")
    assert fulfil.data["margin_minutes"] == pytest.approx(40)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN and ticket.first_response_at == frt.fulfilled_at


def test_next_response_starts_at_oldest_unanswered_customer_message(office_policy):
    start = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    agent = AgentFactory()
    with time_machine.travel(start, tick=False):
        ticket = _create()
        tickets.message_add(ticket=ticket, body="Hi", author_kind="agent", agent=agent)
    assert not SLATimer.objects.filter(ticket=ticket, metric=M.NEXT_RESPONSE).exists()
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        tickets.message_add(ticket=ticket, body="Still waiting", author_kind="customer")
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        tickets.message_add(ticket=ticket, body="Hello??", author_kind="customer")
    nrt = _timer(ticket, M.NEXT_RESPONSE)
    assert nrt.started_at == start + timedelta(minutes=30)
    assert nrt.due_at == start + timedelta(minutes=150)
    with time_machine.travel(start + timedelta(minutes=60), tick=False):
        tickets.message_add(ticket=ticket, body="Sorry!", author_kind="agent", agent=agent)
    assert _timer(ticket, M.NEXT_RESPONSE).fulfilled_at == start + timedelta(minutes=60)


def test_pause_on_pending_resumes_with_time_left(office_policy):
    start = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # Monday
    with time_machine.travel(start, tick=False):
        ticket = _create()
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        tickets.ticket_status_set(ticket=ticket, status="pending")
    frt = _timer(ticket, M.FIRST_RESPONSE)
    assert frt.paused_at is not None and frt.due_at is None
    assert frt.remaining_minutes == pytest.approx(20)
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None
    resume_at = datetime(2026, 11, 24, 16, 50, tzinfo=BERLIN)  # Tuesday, 10 minutes before closing
    with time_machine.travel(resume_at, tick=False):
        tickets.ticket_status_set(ticket=ticket, status="open")
    frt.refresh_from_db()
    assert frt.due_at == datetime(2026, 11, 25, 9, 10, tzinfo=BERLIN)
    kinds = list(SLAEvent.objects.filter(timer=frt).values_list("kind", flat=True))
    assert kinds == ["start", "pause", "resume"]


def test_resolution_continues_after_reopen():
    PolicyFactory()  # 24/7
    start = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(start, tick=False):
        ticket = _create()
    with time_machine.travel(start + timedelta(minutes=300), tick=False):
        tickets.ticket_status_set(ticket=ticket, status="solved")
    res = _timer(ticket, M.RESOLUTION)
    assert res.fulfilled_at is not None and res.elapsed_business_minutes == pytest.approx(300)
    with time_machine.travel(start + timedelta(days=1), tick=False):
        tickets.message_add(ticket=ticket, body="It broke again", author_kind="customer")
    res.refresh_from_db()
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.reopen_count == 1
    assert res.fulfilled_at is None
    assert res.due_at == start + timedelta(days=1, minutes=180)  # 480 - 300 left


def test_policy_first_match_and_reselection_on_change():
    cal = CalendarFactory()
    vip = PolicyFactory(
        position=1,
        conditions={"priority": ["urgent"]},
        calendar=None,
        targets={"urgent": {"first_response": 15, "resolution": 120}},
    )
    fallback = PolicyFactory(position=2, calendar=cal)
    start = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False):
        ticket = _create()
    assert ticket.sla_policy == fallback
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        tickets.ticket_update(ticket=ticket, priority="urgent")
    ticket.refresh_from_db()
    assert ticket.sla_policy == vip
    frt = _timer(ticket, M.FIRST_RESPONSE)
    assert frt.started_at == start  # the start never resets
    assert frt.due_at == start + timedelta(minutes=15)
    assert SLAEvent.objects.filter(ticket=ticket, kind="apply").count() == 2
    assert TicketEvent.objects.filter(ticket=ticket, field="priority", new_value="urgent").exists()


def test_policy_conditions_on_intelligence():
    high_value = PolicyFactory(position=1, conditions={"ltv_tier": ["high"], "churn_band": ["high"]})
    PolicyFactory(position=2)
    rich = Ticket(priority="normal", channel="email", predicted_ltv=5000, churn_band="high", tags=[])
    poor = Ticket(priority="normal", channel="email", predicted_ltv=50, churn_band="high", tags=[])
    assert sla.policy_select(ticket=rich) == high_value
    assert sla.policy_select(ticket=poor) != high_value


def test_warn_breach_escalate_once(django_capture_on_commit_callbacks):
    team = TeamFactory(lead=UserFactory(username="lead", email="lead@example.com"))
    PolicyFactory(warn_share=0.5)  # 24/7, FRT 60
    start = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(start, tick=False):
        ticket = _create(team=team, priority="high")
    assert sla.sla_check(now=start + timedelta(minutes=29)) == {"warned": 0, "breached": 0}
    assert sla.sla_check(now=start + timedelta(minutes=31)) == {"warned": 1, "breached": 0}
    with django_capture_on_commit_callbacks(execute=True):  # the lead is mailed once it commits
        assert sla.sla_check(now=start + timedelta(minutes=61)) == {"warned": 0, "breached": 1}
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sla_check(now=start + timedelta(minutes=62)) == {"warned": 0, "breached": 0}
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lead@example.com"]
    assert SLAEvent.objects.filter(ticket=ticket, kind="breach").count() == 1
    assert SLAEvent.objects.filter(ticket=ticket, kind="escalate").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="escalated").count() == 1


def test_history_escalates_without_mailing_the_lead(django_capture_on_commit_callbacks):
    team = TeamFactory(lead=UserFactory(username="lead", email="lead@example.com"))
    PolicyFactory()
    start = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(start, tick=False):
        ticket = _create(team=team, priority="high")
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sla_check(now=start + timedelta(days=2), notify=False)["breached"] == 2  # FRT, resolution
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and mail.outbox == []
    escalations = SLAEvent.objects.filter(ticket=ticket, kind="escalate")
    assert [e.data["notified"] for e in escalations] == ["", ""]


def test_paused_timers_never_breach():
    PolicyFactory()
    start = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(start, tick=False):
        ticket = _create()
        tickets.ticket_status_set(ticket=ticket, status="on_hold")
    assert sla.sla_check(now=start + timedelta(days=3))["breached"] == 0


def test_beat_task_runs_the_check():
    from support import tasks
    from support.schedule import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["support-sla-check"]["schedule"] == 60.0
    assert tasks.sla_check.delay().get() == {"warned": 0, "breached": 0}


def test_merge_moves_messages_closes_duplicate_and_records_history():
    PolicyFactory()
    target = _create(tags=["a"])
    source = _create(subject="Same parcel again", body="Second mail", tags=["b"])
    tickets.ticket_merge(source=source, target=target)
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == "closed" and source.merged_into == target
    assert list(target.messages.values_list("body", flat=True)) == ["It has been two weeks.", "Second mail"]
    assert target.tags == ["a", "b"]
    assert source.messages.get().body == f"Merged into #{target.pk}."
    assert TicketEvent.objects.filter(ticket=target, kind="merged", new_value=str(source.pk)).exists()
    assert _timer(source, M.RESOLUTION).fulfilled_at is not None  # closing stops the duplicate's clocks
    with pytest.raises(Exception, match="cannot be merged"):
        tickets.ticket_merge(source=source, target=target)
