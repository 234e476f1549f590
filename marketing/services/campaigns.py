"""Campaigns: create, schedule, cancel, send (write the outbox once per customer).

Sending is two-phase. `campaign_send` writes one OutboxMessage per recipient
(unique per (campaign, customer), so a retry only fills in who is missing), each
with its send time from generation's timing. `delivery.outbox_deliver_due` later
hands due messages to Django's e-mail backend, claiming them first so that a
message is delivered at most once even when two workers run.

A send asked for is owed (`Campaign.send_pending_since`) until a run has written the whole
outbox, so one lost on the way (broker down, worker gone) is queued again by the beat task
that sweeps stalled campaigns; no request ends half-done.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from generation import interface as generation
from ingestion import interface as ingestion
from intelligence import interface as intelligence
from marketing.errors import CampaignStateConflict, InvalidCampaign, InvalidTemplate
from marketing.models import Campaign, Channel, OutboxMessage, Segment, Variant
from marketing.services import stats, suppressions

logger = logging.getLogger("quimbi.marketing")

PLACEHOLDERS = ("first_name", "name", "email", "customer_id", "shop_name")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
OPEN_TICKET_STATUSES = frozenset({"open", "new", "pending"})
REASON_URGENT_TICKET = "open_urgent_support_interaction"
REASON_CAMPAIGN_CANCELLED = "campaign_cancelled"
CHUNK = 500
# A scheduled time this far in the past is still "now" (clock skew, a form filled in slowly);
# anything older is refused: the beat task would send it at once, which nobody asked for.
SCHEDULE_GRACE = timedelta(minutes=5)


# --- templates --------------------------------------------------------------


def template_validate(*, text: str) -> None:
    unknown = sorted({name for name in _PLACEHOLDER.findall(text)} - set(PLACEHOLDERS))
    if unknown:
        raise InvalidTemplate(
            f"Unknown placeholder(s): {', '.join(unknown)}.",
            details={"unknown": unknown, "allowed": list(PLACEHOLDERS)},
        )


def template_render(*, text: str, values: dict[str, str]) -> str:
    """Substitute only the known placeholders; values are plain text, never evaluated."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# --- create / schedule ------------------------------------------------------


@transaction.atomic
def campaign_create(
    *,
    name: str,
    segment: Segment,
    variants: Sequence[dict[str, Any]],
    goal: str = "win_back",
    channel="email",
) -> Campaign:
    if not variants:
        raise InvalidCampaign("A campaign needs at least one variant.")
    if channel not in Channel.values:
        raise InvalidCampaign(f"Unsupported channel {channel!r}; one of {Channel.values}.")
    if len({v["name"] for v in variants}) != len(variants):
        raise InvalidCampaign("Variant names must be unique within a campaign.")
    campaign = Campaign.objects.create(name=name, segment=segment, goal=goal, channel=channel)
    for spec in variants:
        variant_add(campaign=campaign, **spec)
    return campaign


def variant_add(
    *,
    campaign: Campaign,
    name: str,
    kind: str = Variant.Kind.TEMPLATE,
    subject_template: str = "",
    body_template: str = "",
    tone: str = "friendly",
    weight: int = 1,
) -> Variant:
    if kind not in Variant.Kind.values:
        raise InvalidCampaign(f"Unknown variant kind {kind!r}; one of {Variant.Kind.values}.")
    if kind == Variant.Kind.TEMPLATE:
        if not body_template.strip():
            raise InvalidCampaign(f"Template variant {name!r} needs a body.")
        template_validate(text=subject_template)
        template_validate(text=body_template)
    if weight < 1:
        raise InvalidCampaign("A variant's weight is at least 1.")
    return Variant.objects.create(
        campaign=campaign,
        name=name,
        kind=kind,
        subject_template=subject_template,
        body_template=body_template,
        tone=tone,
        weight=weight,
    )


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, scheduled_at: datetime, now: datetime | None = None) -> Campaign:
    now = now or timezone.now()
    if scheduled_at < now - SCHEDULE_GRACE:
        raise InvalidCampaign(
            "scheduled_at is in the past; send now instead, or give a time to come.",
            details={"scheduled_at": scheduled_at.isoformat(), "now": now.isoformat()},
        )
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise CampaignStateConflict(f"A {campaign.status} campaign cannot be rescheduled.")
    campaign.status = Campaign.Status.SCHEDULED
    campaign.scheduled_at = scheduled_at
    campaign.save(update_fields=["status", "scheduled_at"])
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Stop a scheduled or sending campaign. Its pending messages are suppressed, never sent.

    Messages already sent stay sent; one claimed by a running delivery is re-checked there.
    Cancelling twice is harmless; a draft has nothing to cancel and a sent campaign is done (409).
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == Campaign.Status.CANCELLED:
        return campaign
    if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING):
        raise CampaignStateConflict(f"A {campaign.status} campaign cannot be cancelled.")
    campaign.status = Campaign.Status.CANCELLED
    campaign.finished_at = now
    campaign.send_pending_since = None  # nothing owed any more: the stalled-send sweep skips it
    campaign.save(update_fields=["status", "finished_at", "send_pending_since"])
    # Only the campaign's own sends: a journey using its variants is stopped on the journey.
    OutboxMessage.objects.filter(
        campaign=campaign, enrollment__isnull=True, status=OutboxMessage.Status.PENDING
    ).update(status=OutboxMessage.Status.SUPPRESSED, suppressed_reason=REASON_CAMPAIGN_CANCELLED)
    return campaign


# --- guard ------------------------------------------------------------------


def customers_held_out(*, customer_ids: Iterable[str]) -> dict[str, str]:
    """{customer_id: reason} for customers not to be contacted now: one platform call.

    Held out: an open (open/new/pending) urgent ticket, as reported to ingestion by support.
    """
    ids = list(customer_ids)
    if not ids:
        return {}
    frame = ingestion.interactions_frame(customer_ids=ids)
    if frame.empty:
        return {}
    blocked = frame[
        (frame["kind"].str.lower() == "ticket")
        & frame["status"].str.lower().isin(OPEN_TICKET_STATUSES)
        & (frame["priority"].str.lower() == "urgent")
    ]
    return dict.fromkeys(blocked["customer_id"].astype(str).unique().tolist(), REASON_URGENT_TICKET)


# --- send -------------------------------------------------------------------


@dataclass(frozen=True)
class SendReport:
    campaign_id: int
    audience: int
    written: int  # new outbox rows (queued + suppressed + failed) in this call
    queued: int
    suppressed: int
    already_in_outbox: int


def assignment_salt(*, campaign: Campaign) -> str:
    ab_test_id = campaign.ab_test.pk if hasattr(campaign, "ab_test") else None
    return f"abtest:{ab_test_id}" if ab_test_id else f"campaign:{campaign.pk}"


def variant_for(*, salt: str, customer_id: str, variants: Sequence[Variant]) -> Variant:
    index = stats.variant_pick(salt=salt, customer_id=customer_id, weights=[v.weight for v in variants])
    return variants[index]


def campaign_send_enqueue(*, campaign: Campaign) -> Campaign:
    """Mark the campaign sending, its send owed, and queue the send once that is committed.

    Refused for a campaign already sent. A broker outage is logged, not raised: the send stays
    owed and campaigns_send_stalled queues it again, so an accepted request is never lost and a
    client's retry is accepted too (campaign_send is retry-safe).
    """
    from marketing import tasks

    with transaction.atomic():
        campaign = _campaign_start_sending(campaign=campaign, now=timezone.now())
        _queue_after_commit(tasks.campaign_send, campaign.pk)
    return campaign


def _queue_after_commit(task, *args) -> None:
    """`task.delay(*args)` once the transaction commits; a failure to queue is logged, not raised."""

    def queue() -> None:
        task.delay(*args)

    queue.__qualname__ = f"{task.name}.delay"  # what Django's log of a failed callback names
    transaction.on_commit(queue, robust=True)


def campaign_send(*, campaign: Campaign, now: datetime | None = None) -> SendReport:
    """Write the outbox for the campaign's segment. Safe to retry: nobody gets a second row."""
    from marketing.services import segments

    now = now or timezone.now()
    campaign = _campaign_start_sending(campaign=campaign, now=now)
    variants = list(campaign.variants.all())
    if not variants:
        raise InvalidCampaign("The campaign has no variants.")
    _, audience = segments.segment_members(segment=campaign.segment)
    existing = set(
        OutboxMessage.objects.filter(campaign=campaign, enrollment__isnull=True).values_list(
            "customer_id", flat=True
        )
    )
    todo = [cid for cid in audience if cid not in existing]
    salt = assignment_salt(campaign=campaign)
    queued = suppressed = 0
    for start in range(0, len(todo), CHUNK):
        if start and _cancelled(campaign_id=campaign.pk):  # cancelled while this run was writing
            break
        chunk = todo[start : start + CHUNK]
        assigned = [(cid, variant_for(salt=salt, customer_id=cid, variants=variants)) for cid in chunk]
        rows = messages_compose(campaign=campaign, recipients=assigned, now=now)
        with transaction.atomic():
            OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)
        queued += sum(r.status == OutboxMessage.Status.PENDING for r in rows)
        suppressed += sum(r.status == OutboxMessage.Status.SUPPRESSED for r in rows)
    # The outbox is whole. A send asked for after this run started (a later time) stays owed.
    Campaign.objects.filter(pk=campaign.pk, send_pending_since__lte=now).update(send_pending_since=None)
    campaign_finish_if_done(campaign_ids=[campaign.pk], now=now)
    return SendReport(
        campaign_id=campaign.pk,
        audience=len(audience),
        written=len(todo),
        queued=queued,
        suppressed=suppressed,
        already_in_outbox=len(audience) - len(todo),
    )


def _cancelled(*, campaign_id: int) -> bool:
    return Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.CANCELLED).exists()


@transaction.atomic
def _campaign_start_sending(*, campaign: Campaign, now: datetime) -> Campaign:
    campaign = Campaign.objects.select_for_update().select_related("segment").get(pk=campaign.pk)
    if campaign.status == Campaign.Status.SENT:
        raise CampaignStateConflict("The campaign has already been sent.")
    if campaign.status == Campaign.Status.CANCELLED:
        raise CampaignStateConflict("The campaign has been cancelled.")
    if campaign.status != Campaign.Status.SENDING:
        campaign.status = Campaign.Status.SENDING
        campaign.started_at = now
    # Owed from now: a send asked for, or a run starting, counts as the latest progress.
    campaign.send_pending_since = now
    campaign.save(update_fields=["status", "started_at", "send_pending_since"])
    return campaign


def messages_compose(
    *, campaign: Campaign, recipients: Sequence[tuple[str, Variant]], now: datetime, **extra: Any
) -> list[OutboxMessage]:
    """Unsaved outbox rows: suppressed (guard, no e-mail), failed, or pending with content and send time.

    Platform calls: one for the guard, one for everyone's summaries (e-mail, name); per customer
    one analysis, one timing and, for generated variants, one generation call (no batch forms exist).
    """
    held = customers_held_out(customer_ids=[cid for cid, _ in recipients])
    summaries = ingestion.customers_get(customer_ids=[cid for cid, _ in recipients if cid not in held])
    listed = suppressions.suppressed_reasons(emails=[c.email for c in summaries.values() if c and c.email])
    rows = []
    for customer_id, variant in recipients:
        row = OutboxMessage(campaign=campaign, variant=variant, customer_id=customer_id, send_at=now, **extra)
        if customer_id in held:
            row.status, row.suppressed_reason = OutboxMessage.Status.SUPPRESSED, held[customer_id]
        else:
            _fill_message(
                row=row,
                campaign=campaign,
                variant=variant,
                now=now,
                customer=summaries.get(customer_id),
                listed=listed,
            )
        rows.append(row)
    return rows


def _fill_message(
    *,
    row: OutboxMessage,
    campaign: Campaign,
    variant: Variant,
    now: datetime,
    customer,
    listed: dict[str, str],
) -> None:
    if customer is None:  # no such customer (a merged one answers with its survivor)
        row.status, row.suppressed_reason = OutboxMessage.Status.SUPPRESSED, "unknown_customer"
        row.error = f"No live customer {row.customer_id!r}."
        return
    if not customer.email:
        row.status, row.suppressed_reason = OutboxMessage.Status.SUPPRESSED, "no_email"
        return
    row.email = customer.email
    listed_reason = listed.get(suppressions.email_normalize(customer.email))
    if listed_reason:  # unsubscribed, bounced...: no content, no platform calls, never delivered
        row.status, row.suppressed_reason = (
            OutboxMessage.Status.SUPPRESSED,
            suppressions.outbox_reason(reason=listed_reason),
        )
        return
    # One analysis per recipient, shared by timing and generation (each would otherwise ask again).
    who = _profile_or_id(customer_id=row.customer_id)
    try:
        timing = generation.optimize_timing(**who, message_type=campaign.channel)
        row.send_at = max(timing.next_send_at, now)
    except Exception as exc:  # no timing: send now rather than not at all
        logger.warning("timing unavailable for %s: %s", row.customer_id, exc)
    try:
        row.subject, row.body, row.generation_backend = _content(
            campaign=campaign, variant=variant, customer=customer, who=who
        )
    except Exception as exc:
        logger.warning("content failed for %s in campaign %s: %s", row.customer_id, campaign.pk, exc)
        row.status, row.error = OutboxMessage.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]


def _profile_or_id(*, customer_id: str) -> dict[str, Any]:
    try:
        return {"customer_profile": intelligence.analyze_customer(customer_id=customer_id)}
    except Exception as exc:  # model not trained yet, customer not scored: let generation decide
        logger.info("no intelligence for %s: %s", customer_id, exc)
        return {"customer_id": customer_id}


def _content(*, campaign: Campaign, variant: Variant, customer, who: dict[str, Any]) -> tuple[str, str, str]:
    if variant.kind == Variant.Kind.GENERATED:
        context = {"goal": campaign.goal, "channel": campaign.channel, "constraints": {"tone": variant.tone}}
        message = generation.generate_message(**who, context=context)
        return _one_line(message.subject)[:255], message.body, message.backend
    name = _one_line(customer.name)
    values = {
        "name": name or "there",
        "first_name": (name.split() or ["there"])[0],
        "email": customer.email,
        "customer_id": customer.customer_id,
        "shop_name": getattr(settings, "MARKETING_SHOP_NAME", "our shop"),
    }
    subject = _one_line(template_render(text=variant.subject_template, values=values))[:255]
    return subject, template_render(text=variant.body_template, values=values), ""


def _one_line(text: str) -> str:
    # A newline in a subject would be a header injection; Django refuses it anyway.
    return " ".join((text or "").split())


def campaign_finish_if_done(*, campaign_ids: Iterable[int], now: datetime) -> None:
    """Mark sending campaigns as sent once their outbox is whole and nothing in it is waiting.

    A campaign whose send is still owed (outbox not yet written, or only in part) is not done:
    marked sent, it would refuse the send that completes it.
    """
    busy = OutboxMessage.objects.filter(
        campaign_id__in=list(campaign_ids),
        status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.SENDING],
        enrollment__isnull=True,
    ).values("campaign_id")
    Campaign.objects.filter(
        pk__in=list(campaign_ids), status=Campaign.Status.SENDING, send_pending_since__isnull=True
    ).exclude(pk__in=busy).update(status=Campaign.Status.SENT, finished_at=now)


def campaigns_send_due(*, now: datetime | None = None) -> list[int]:
    """Ids of scheduled campaigns whose time has come (the beat task sends each)."""
    now = now or timezone.now()
    return list(
        Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now).values_list(
            "pk", flat=True
        )
    )


def campaigns_send_stalled(*, now: datetime | None = None) -> list[int]:
    """Ids of sending campaigns whose send is owed but whose outbox has not grown for a while.

    Their send task was never queued (the broker was down) or died; campaign_send is retry-safe,
    so the beat task queues it again. The quiet time (MARKETING_SEND_STALL_MINUTES) must exceed
    the time one run takes to write a chunk, or a slow run is doubled (harmless, but wasted).
    """
    now = now or timezone.now()
    quiet_since = now - timedelta(minutes=int(getattr(settings, "MARKETING_SEND_STALL_MINUTES", 30)))
    recent_rows = OutboxMessage.objects.filter(
        campaign=OuterRef("pk"), enrollment__isnull=True, created_at__gte=quiet_since
    )
    with transaction.atomic():
        ids = list(
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(status=Campaign.Status.SENDING, send_pending_since__lt=quiet_since)
            .exclude(Exists(recent_rows))
            .values_list("pk", flat=True)
        )
        # Counted as progress: queued again now, it is not queued again before another quiet time.
        Campaign.objects.filter(pk__in=ids).update(send_pending_since=now)
    return ids
