"""Journeys: enroll a segment's customers, advance each enrollment through its steps.

Advancing is idempotent: an enrollment's position and next run time are saved in
the same transaction as the outbox rows its send steps write, and those rows are
unique per (enrollment, step position), so re-running never sends twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from intelligence import interface as intelligence
from marketing.models import Journey, JourneyEnrollment, JourneyStep, OutboxMessage
from marketing.services import campaigns, segments

MAX_STEPS_PER_RUN = 20  # a branch loop without waits cannot spin forever
HISTORY_KEPT = 100


def journey_enroll(*, journey: Journey, now: datetime | None = None) -> int:
    """Enroll the segment's current members who are not enrolled yet. Returns how many were added."""
    now = now or timezone.now()
    _, members = segments.segment_members(segment=journey.segment)
    known = set(JourneyEnrollment.objects.filter(journey=journey).values_list("customer_id", flat=True))
    new = [
        JourneyEnrollment(journey=journey, customer_id=cid, next_run_at=now)
        for cid in members
        if cid not in known
    ]
    JourneyEnrollment.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return len(new)


def journeys_enroll_all(*, now: datetime | None = None) -> int:
    return sum(journey_enroll(journey=j, now=now) for j in Journey.objects.filter(is_active=True))


@dataclass(frozen=True)
class AdvanceReport:
    advanced: int
    messages: int
    completed: int


@transaction.atomic
def enrollments_advance(*, now: datetime | None = None, limit: int = 1000) -> AdvanceReport:
    """Run every due enrollment until it waits or finishes (beat task)."""
    now = now or timezone.now()
    due = list(
        JourneyEnrollment.objects.select_for_update(skip_locked=True)
        .filter(status=JourneyEnrollment.Status.ACTIVE, next_run_at__lte=now, journey__is_active=True)
        .order_by("next_run_at", "id")[:limit]
    )
    if not due:
        return AdvanceReport(0, 0, 0)
    journeys = {
        j.pk: j for j in Journey.objects.filter(pk__in={e.journey_id for e in due}).select_related("campaign")
    }
    steps: dict[int, dict[int, JourneyStep]] = defaultdict(dict)
    for step in JourneyStep.objects.filter(journey_id__in=journeys).select_related("variant"):
        steps[step.journey_id][step.position] = step
    bands = _bands_in_scope(steps=steps)
    sends: dict[int, list[tuple[JourneyEnrollment, JourneyStep]]] = defaultdict(list)
    for enrollment in due:
        _walk(enrollment=enrollment, steps=steps[enrollment.journey_id], bands=bands, sends=sends, now=now)
    rows = []
    for journey_id, pairs in sends.items():
        journey = journeys[journey_id]
        recipients = [(e.customer_id, s.variant) for e, s in pairs]
        composed = campaigns.messages_compose(campaign=journey.campaign, recipients=recipients, now=now)
        for row, (enrollment, step) in zip(composed, pairs, strict=True):
            row.enrollment, row.journey_position = enrollment, step.position
        rows.extend(composed)
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    JourneyEnrollment.objects.bulk_update(due, ["position", "status", "next_run_at", "history", "updated_at"])
    completed = sum(e.status == JourneyEnrollment.Status.COMPLETED for e in due)
    return AdvanceReport(advanced=len(due), messages=len(rows), completed=completed)


def _bands_in_scope(*, steps: dict[int, dict[int, JourneyStep]]) -> dict[tuple[str, ...], frozenset[str]]:
    """Customers per churn-band set used by a branch step: one platform query per distinct set."""
    wanted = {
        tuple(sorted(s.churn_bands))
        for by_pos in steps.values()
        for s in by_pos.values()
        if s.kind == "branch"
    }
    out = {}
    for band_set in wanted:
        if not band_set:
            out[band_set] = frozenset()
            continue
        filters = {"all": [{"field": "risk_band", "op": "in", "value": list(band_set)}]}
        result = intelligence.customers_query(filters=filters, limit=segments.max_audience())
        out[band_set] = frozenset(str(c) for c in result.customer_ids)
    return out


def _walk(
    *, enrollment: JourneyEnrollment, steps: dict[int, JourneyStep], bands, sends, now: datetime
) -> None:
    enrollment.updated_at = now
    for _ in range(MAX_STEPS_PER_RUN):
        step = steps.get(enrollment.position)
        if step is None:
            enrollment.status = JourneyEnrollment.Status.COMPLETED
            _log(enrollment, now, "end", "completed")
            return
        if step.kind == JourneyStep.Kind.WAIT:
            enrollment.next_run_at = now + timedelta(days=step.wait_days)
            enrollment.position += 1
            _log(enrollment, now, "wait", f"{step.wait_days} days")
            return
        if step.kind == JourneyStep.Kind.SEND:
            if step.variant is not None:
                sends[enrollment.journey_id].append((enrollment, step))
            _log(enrollment, now, "send", step.variant.name if step.variant else "no variant: skipped")
            enrollment.position += 1
            continue
        in_band = enrollment.customer_id in bands.get(tuple(sorted(step.churn_bands)), frozenset())
        _log(enrollment, now, "branch", "taken" if in_band else "not taken")
        enrollment.position = (
            step.goto_position if in_band and step.goto_position is not None else step.position + 1
        )
    enrollment.next_run_at = now + timedelta(hours=1)  # looped too long: resume later


def _log(enrollment: JourneyEnrollment, now: datetime, kind: str, outcome: str) -> None:
    entry = {"at": now.isoformat(), "position": enrollment.position, "kind": kind, "outcome": outcome}
    enrollment.history = [*enrollment.history, entry][-HISTORY_KEPT:]
