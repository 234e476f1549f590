"""Business-minute arithmetic over a BusinessCalendar (Chatwoot's loop, with holidays).

Intervals are local wall-clock times in the calendar's IANA zone; the answer is
an aware datetime. `None` as calendar means 24/7 (plain minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366  # a calendar with no working time would loop forever


@dataclass(frozen=True)
class CompiledCalendar:
    tz: ZoneInfo
    weekly: tuple[tuple[tuple[int, int], ...], ...]  # per weekday: ((start_min, end_min), ...)
    holidays: frozenset[date]
    country: str
    subdivision: str

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (
            bool(self.country) and day in _country_holidays(self.country, self.subdivision, day.year)
        )

    def intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        if self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]


@lru_cache(maxsize=256)
def _country_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def compile_calendar(
    *,
    timezone: str,
    weekly_hours: dict,
    holidays: list | tuple = (),
    country: str = "",
    subdivision: str = "",
) -> CompiledCalendar:
    weekly = []
    for wd in range(7):
        spans = sorted(
            (_minutes(a), 24 * 60 if b in ("24:00", "00:00") else _minutes(b))
            for a, b in weekly_hours.get(str(wd), weekly_hours.get(wd, []))
        )
        weekly.append(tuple((a, b) for a, b in spans if b > a))
    if not any(weekly):
        raise ValueError("A business calendar needs at least one working interval.")
    return CompiledCalendar(
        tz=ZoneInfo(timezone),
        weekly=tuple(weekly),
        holidays=frozenset(date.fromisoformat(str(d)) for d in holidays),
        country=country.upper(),
        subdivision=subdivision,
    )


def _utc(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall-clock `minute` on `day` (24:00 = next midnight).

    Built with datetime.combine(..., tzinfo=zone) and converted to UTC at once, so all
    arithmetic happens on absolute instants: aware datetimes sharing one tzinfo compare
    and subtract by wall clock, which is off by the DST shift on changeover days. A wall
    time skipped by spring-forward (fold=0) maps to the instant just after the gap.
    """
    if minute >= 24 * 60:
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    else:
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


def _intervals_utc(cal: CompiledCalendar, day: date):
    for a, b in cal.intervals(day):
        open_at, close_at = _utc(day, a, cal.tz), _utc(day, b, cal.tz)
        if close_at > open_at:
            yield open_at, close_at


def add_business_minutes(cal: CompiledCalendar | None, start: datetime, minutes: float) -> datetime:
    """The moment `minutes` working minutes after `start` (start outside hours -> next opening)."""
    if cal is None:
        return (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(start.tzinfo)
    remaining = timedelta(minutes=max(minutes, 0.0))
    now = start.astimezone(UTC)
    day = start.astimezone(cal.tz).date()
    for _ in range(MAX_DAYS):
        for open_at, close_at in _intervals_utc(cal, day):
            if now >= close_at:
                continue
            begin = max(now, open_at)
            if remaining <= close_at - begin:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= close_at - begin
            now = close_at
        day += timedelta(days=1)
    raise ValueError("No working time within three years.")


def business_minutes_between(cal: CompiledCalendar | None, start: datetime, end: datetime) -> float:
    """Working minutes in [start, end), counted on UTC instants."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    if e <= s:
        return 0.0
    if cal is None:
        return (e - s).total_seconds() / 60
    total = timedelta()
    day, last = s.astimezone(cal.tz).date(), e.astimezone(cal.tz).date()
    while day <= last:
        for open_at, close_at in _intervals_utc(cal, day):
            lo, hi = max(s, open_at), min(e, close_at)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 60
