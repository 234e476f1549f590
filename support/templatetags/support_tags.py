from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def sla_class(due: datetime | None) -> str:
    """Badge colour for a due time: bad when past, warn within an hour."""
    if due is None:
        return ""
    left = (due - timezone.now()).total_seconds()
    return "bad" if left <= 0 else "warn" if left < 3600 else "ok"


@register.filter
def sla_left(due: datetime | None) -> str:
    """'in 1h 05m' / 'overdue 12m' (the badge script keeps it counting)."""
    if due is None:
        return "—"
    seconds = int((due - timezone.now()).total_seconds())
    sign, seconds = ("overdue " if seconds < 0 else "in "), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{sign}{days}d {hours}h" if days else f"{sign}{hours}h {minutes:02d}m"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"
