"""Audit retention: events older than QUIMBI_AUDIT_RETENTION_DAYS are deleted in batches, daily."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from quimbi_site.audit import audit_events_prune, audit_record
from quimbi_site.models import AuditEvent
from quimbi_site.tasks import audit_events_prune as prune_task

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _event_at(when: datetime, action: str) -> AuditEvent:
    with time_machine.travel(when, tick=False):
        return audit_record(action=action, target="ticket:1", actor="user:1")


def _actions() -> list[str]:
    return sorted(AuditEvent.objects.exclude(action="audit.prune").values_list("action", flat=True))


@pytest.fixture(autouse=True)
def _empty_log():
    # Only this test's events (rolled back with it): others' committed leftovers would count too.
    AuditEvent.objects.all().delete()


@pytest.fixture
def history():
    """Events 400, 366, 365 and 10 days before NOW (a retention of 365 days keeps the last two)."""
    for days, name in ((400, "old.a"), (366, "old.b"), (365, "edge.kept"), (10, "recent")):
        _event_at(NOW - timedelta(days=days), name)


def test_default_retention_is_a_year():
    assert settings.QUIMBI_AUDIT_RETENTION_DAYS == 365


def test_prune_removes_only_events_past_the_retention(history):
    with time_machine.travel(NOW, tick=False):
        removed = audit_events_prune()
    assert removed == 2
    assert _actions() == ["edge.kept", "recent"]


def test_prune_is_audited_with_counts_only(history):
    with time_machine.travel(NOW, tick=False):
        audit_events_prune()
    (event,) = AuditEvent.objects.filter(action="audit.prune")
    assert event.actor == "system" and event.target == "audit_log"
    assert event.details["removed"] == 2 and event.details["retention_days"] == 365
    assert event.occurred_at == NOW


def test_prune_works_in_batches_until_nothing_is_left(history):
    for i in range(7):
        _event_at(NOW - timedelta(days=500 + i), f"older.{i}")
    with time_machine.travel(NOW, tick=False):
        assert audit_events_prune(batch_size=3) == 9  # 3 + 3 + 3, then an empty batch ends it
        assert audit_events_prune(batch_size=3) == 0  # a second run finds nothing
    assert _actions() == ["edge.kept", "recent"]


def test_the_setting_and_the_argument_choose_the_retention(history, settings):
    settings.QUIMBI_AUDIT_RETENTION_DAYS = 30
    with time_machine.travel(NOW, tick=False):
        assert audit_events_prune() == 3
        assert _actions() == ["recent"]
        assert audit_events_prune(older_than_days=5) == 1
    assert _actions() == []


def test_a_retention_below_one_day_is_refused(history):
    with pytest.raises(ValueError):
        audit_events_prune(older_than_days=0)
    assert AuditEvent.objects.count() == 4


def test_command_prints_how_many_were_removed_and_names_itself(history):
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("prune_audit", stdout=out)
    assert out.getvalue().strip() == "Removed 2 audit events older than 365 days."
    assert AuditEvent.objects.get(action="audit.prune").actor == "command:prune_audit"

    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("prune_audit", "--days", "5", "--batch-size", "1", stdout=out)
    assert out.getvalue().strip() == "Removed 2 audit events older than 5 days."
    assert _actions() == []


def test_command_refuses_a_zero_retention(history):
    with pytest.raises(CommandError):
        call_command("prune_audit", "--days", "0", stdout=io.StringIO())
    assert AuditEvent.objects.count() == 4


def test_daily_beat_task_prunes(history):
    with time_machine.travel(NOW, tick=False):
        assert prune_task.delay().get() == 2
    assert _actions() == ["edge.kept", "recent"]
    assert AuditEvent.objects.get(action="audit.prune").actor == "task:audit_events_prune"


def test_beat_schedule_runs_the_prune_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-events-prune"]
    assert entry["task"] == "quimbi_site.tasks.audit_events_prune"
    schedule = entry["schedule"]
    # Once per day: a single hour and minute on every day of the week and month.
    assert (len(schedule.hour), len(schedule.minute), len(schedule.day_of_week)) == (1, 1, 7)
    assert "purge-idempotency-records" in settings.CELERY_BEAT_SCHEDULE  # still merged from the site
