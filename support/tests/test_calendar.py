from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from support.services.calendar import add_business_minutes, business_minutes_between, compile_calendar

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = {str(d): [["09:00", "17:00"]] for d in range(5)}


@pytest.fixture
def cal():
    return compile_calendar(timezone="Europe/Berlin", weekly_hours=WEEK)


def test_friday_evening_is_due_monday(cal):
    start = datetime(2026, 11, 20, 18, 0, tzinfo=BERLIN)  # Friday after closing
    assert add_business_minutes(cal, start, 60) == datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)


def test_spills_over_closing_into_next_day(cal):
    start = datetime(2026, 11, 19, 16, 30, tzinfo=BERLIN)  # Thursday
    assert add_business_minutes(cal, start, 90) == datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)


def test_utc_input_gives_utc_output(cal):
    start = datetime(2026, 11, 20, 15, 30, tzinfo=ZoneInfo("UTC"))  # 16:30 Berlin Friday
    due = add_business_minutes(cal, start, 60)
    assert due == datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN)
    assert due.tzinfo == ZoneInfo("UTC")


def test_explicit_holiday_is_closed():
    cal = compile_calendar(timezone="Europe/Berlin", weekly_hours=WEEK, holidays=["2026-11-23"])
    start = datetime(2026, 11, 20, 18, 0, tzinfo=BERLIN)
    assert add_business_minutes(cal, start, 60) == datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)


def test_country_holidays_from_the_holidays_package():
    cal = compile_calendar(timezone="Europe/Berlin", weekly_hours=WEEK, country="DE")
    start = datetime(2026, 12, 24, 16, 30, tzinfo=BERLIN)  # Thursday; Friday 25th is Christmas Day
    assert add_business_minutes(cal, start, 60) == datetime(2026, 12, 28, 9, 30, tzinfo=BERLIN)


def test_split_intervals_and_lunch_break():
    cal = compile_calendar(
        timezone="America/New_York", weekly_hours={"0": [["13:00", "17:00"], ["09:00", "12:00"]]}
    )
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 23, 11, 0, tzinfo=ny)  # Monday
    assert add_business_minutes(cal, start, 120) == datetime(2026, 11, 23, 14, 0, tzinfo=ny)


def test_business_minutes_between_skips_weekend(cal):
    a = datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN)
    b = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    assert business_minutes_between(cal, a, b) == 120
    assert business_minutes_between(None, a, b) == (b - a).total_seconds() / 60


def test_calendar_without_working_time_is_rejected():
    with pytest.raises(ValueError):
        compile_calendar(timezone="UTC", weekly_hours={})


# --- Daylight-saving changeovers: minutes are consumed on UTC instants -------------------------

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
ALWAYS = {str(d): [["00:00", "24:00"]] for d in range(7)}


def test_friday_before_spring_forward_is_due_monday_in_summer_time(cal):
    # Europe/Berlin springs forward on Sunday 2026-03-29 (02:00 CET -> 03:00 CEST).
    start = datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN)  # Friday 15:00 UTC
    due = add_business_minutes(cal, start, 120)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC_ZONE)  # Monday 10:00 CEST
    assert due.astimezone(BERLIN).hour == 10
    assert business_minutes_between(cal, start, due) == 120


def test_friday_before_fall_back_is_due_monday_in_standard_time(cal):
    # Europe/Berlin falls back on Sunday 2026-10-25 (03:00 CEST -> 02:00 CET).
    start = datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN)  # Friday 14:00 UTC
    due = add_business_minutes(cal, start, 120)
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC_ZONE)  # Monday 10:00 CET
    assert business_minutes_between(cal, start, due) == 120


def test_24h_of_business_minutes_across_spring_forward_night_is_24_real_hours():
    cal = compile_calendar(timezone="Europe/Berlin", weekly_hours=ALWAYS)
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)  # Saturday 11:00 UTC
    due = add_business_minutes(cal, start, 24 * 60)
    assert due == datetime(2026, 3, 29, 11, 0, tzinfo=UTC_ZONE)  # Sunday 13:00 CEST, the wall clock moved
    assert due.astimezone(BERLIN) == datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN)
    assert business_minutes_between(cal, start, due) == 24 * 60
    # the local calendar day of the change has only 23 hours
    assert (
        business_minutes_between(
            cal, datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN), datetime(2026, 3, 30, 0, 0, tzinfo=BERLIN)
        )
        == 23 * 60
    )


def test_24h_of_business_minutes_across_fall_back_night_is_24_real_hours():
    cal = compile_calendar(timezone="America/New_York", weekly_hours=ALWAYS)
    # New York falls back on Sunday 2026-11-01 (02:00 EDT -> 01:00 EST).
    start = datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK)  # Saturday 16:00 UTC
    due = add_business_minutes(cal, start, 24 * 60)
    assert due == datetime(2026, 11, 1, 16, 0, tzinfo=UTC_ZONE)  # Sunday 11:00 EST
    assert due.astimezone(NEW_YORK).hour == 11
    assert business_minutes_between(cal, start, due) == 24 * 60
    assert (
        business_minutes_between(
            cal, datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK), datetime(2026, 11, 2, 0, 0, tzinfo=NEW_YORK)
        )
        == 25 * 60
    )


def test_night_shift_spanning_the_spring_forward_gap_new_york():
    # Sunday 00:00-06:00 in New York on 2026-03-08 (02:00 EST -> 03:00 EDT) is 5 real hours.
    cal = compile_calendar(timezone="America/New_York", weekly_hours={"6": [["00:00", "06:00"]]})
    start = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)  # 05:00 UTC
    assert business_minutes_between(cal, start, datetime(2026, 3, 9, tzinfo=NEW_YORK)) == 5 * 60
    assert add_business_minutes(cal, start, 4 * 60) == datetime(
        2026, 3, 8, 9, 0, tzinfo=UTC_ZONE
    )  # 05:00 EDT
    assert add_business_minutes(cal, start, 5 * 60) == datetime(2026, 3, 8, 10, 0, tzinfo=UTC_ZONE)  # closing
