"""Reporting: first-response / resolution medians and SLA compliance per team and agent."""

from __future__ import annotations

from datetime import datetime
from statistics import median

from django.db.models import Q

from support.models import SLATimer


def sla_report(*, since: datetime, until: datetime, team_ids: list[int] | None = None, agent=None) -> dict:
    """Medians in business and calendar minutes; compliance = fulfilled or running without breach."""
    timers = SLATimer.objects.filter(started_at__gte=since, started_at__lt=until).values(
        "metric",
        "fulfilled_at",
        "breached_at",
        "elapsed_business_minutes",
        "elapsed_calendar_minutes",
        "ticket__team__name",
        "ticket__team_id",
        "ticket__assignee__user__username",
    )
    if team_ids is not None:
        timers = timers.filter(Q(ticket__team_id__in=team_ids))
    if agent is not None:
        timers = timers.filter(ticket__assignee=agent)
    rows = list(timers)
    out: dict = {"medians": {}, "teams": {}, "agents": {}, "total": len(rows)}
    out["met"] = sum(r["breached_at"] is None for r in rows)
    out["compliance"] = round(100 * out["met"] / len(rows), 1) if rows else None
    for metric in ("first_response", "resolution"):
        done = [r for r in rows if r["metric"] == metric and r["fulfilled_at"]]
        out["medians"][metric] = {
            "business_minutes": round(median(r["elapsed_business_minutes"] for r in done), 1)
            if done
            else None,
            "calendar_minutes": round(median(r["elapsed_calendar_minutes"] for r in done), 1)
            if done
            else None,
            "count": len(done),
        }
    for group, key in (("teams", "ticket__team__name"), ("agents", "ticket__assignee__user__username")):
        buckets: dict[str, list[bool]] = {}
        for r in rows:
            buckets.setdefault(r[key] or "(none)", []).append(r["breached_at"] is None)
        out[group] = {
            name: {"total": len(v), "met": sum(v), "compliance": round(100 * sum(v) / len(v), 1)}
            for name, v in sorted(buckets.items())
        }
    return out
