"""When a session reminder goes out: a day before, earlier when that falls in the client's night, across DST."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practice.core.reminders import QuietHours, reminder_due, reminder_time

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
DAY = timedelta(hours=24)
NIGHT = QuietHours(time(21), time(8))


def at(zone: ZoneInfo, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


def remind(starts_at, *, zone="America/New_York", before=DAY, quiet=NIGHT):
    return reminder_time(starts_at, before=before, zone=zone, quiet_start=quiet.start, quiet_end=quiet.end)


def test_a_daytime_session_is_reminded_exactly_a_day_before():
    assert remind(at(NY, 2026, 12, 8, 10, 0)) == at(NY, 2026, 12, 7, 10, 0)


def test_an_early_morning_session_is_reminded_the_evening_before_the_night():
    # 24 h before 07:00 is 07:00, still night: the reminder goes out at 21:00 two evenings before, not later.
    assert remind(at(NY, 2026, 12, 8, 7, 0)) == at(NY, 2026, 12, 6, 21, 0)


def test_a_late_evening_session_is_reminded_at_the_start_of_that_evenings_quiet_hours():
    assert remind(at(NY, 2026, 12, 8, 22, 30)) == at(NY, 2026, 12, 7, 21, 0)


def test_the_ends_of_quiet_hours_are_not_quiet():
    assert remind(at(NY, 2026, 12, 8, 21, 0)) == at(NY, 2026, 12, 7, 21, 0)
    assert remind(at(NY, 2026, 12, 8, 8, 0)) == at(NY, 2026, 12, 7, 8, 0)


def test_quiet_hours_are_the_clients_own_not_utc():
    # 15:00 UTC is 10:00 in New York (fine) but 00:00 in Tokyo (night): Tokyo's reminder moves to 21:00 there.
    start = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    assert remind(start, zone="America/New_York") == start - DAY
    tokyo = ZoneInfo("Asia/Tokyo")
    assert remind(start, zone="Asia/Tokyo") == at(tokyo, 2026, 12, 7, 21, 0)


def test_quiet_hours_within_one_day():
    lunch = QuietHours(time(12), time(14))
    assert remind(at(NY, 2026, 12, 8, 13, 0), quiet=lunch) == at(NY, 2026, 12, 7, 12, 0)
    assert remind(at(NY, 2026, 12, 8, 15, 0), quiet=lunch) == at(NY, 2026, 12, 7, 15, 0)


def test_on_the_day_clocks_go_back_a_day_before_is_24_real_hours():
    # New York leaves daylight time on 2026-11-01 at 02:00. A session at 10:00 EST on Nov 1 (15:00 UTC) is
    # reminded 24 real hours before: 11:00 EDT on Oct 31, which is daytime.
    start = at(NY, 2026, 11, 1, 10, 0)
    assert remind(start) == datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    assert remind(start).astimezone(NY).hour == 11


def test_a_night_reminder_across_the_spring_change_goes_out_at_nine_local():
    # Clocks jump forward on 2026-03-08 at 02:00: 24 real hours before 06:30 EDT on Mar 9 is 06:30 EDT on Mar 8,
    # still night, so the reminder moves to 21:00 EST on Mar 7.
    assert remind(at(NY, 2026, 3, 9, 6, 30)) == at(NY, 2026, 3, 7, 21, 0)


def test_a_quiet_start_the_clock_skips_is_taken_as_the_earlier_moment():
    # Quiet hours from 02:30 to 06:00; on 2026-03-08 New York's clocks go from 02:00 straight to 03:00.
    quiet = QuietHours(time(2, 30), time(6))
    reminder = remind(at(NY, 2026, 3, 9, 4, 0), quiet=quiet)  # 24 h before: 04:00 EDT on Mar 8, quiet
    assert reminder == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST, before the skipped 02:30
    assert not quiet.contains(reminder.astimezone(NY).time())


def test_due_once_its_time_has_come_and_not_before():
    start = at(NY, 2026, 12, 8, 10, 0)
    args = dict(before=DAY, zone="America/New_York", quiet=NIGHT)
    assert not reminder_due(start, now=at(NY, 2026, 12, 7, 9, 59), **args)
    assert reminder_due(start, now=at(NY, 2026, 12, 7, 10, 0), **args)
    assert reminder_due(start, now=at(NY, 2026, 12, 7, 16, 0), **args)  # a worker that was down catches up


def test_booked_after_its_reminder_time_it_is_sent_at_once_unless_the_session_is_close():
    start = at(NY, 2026, 12, 8, 16, 0)
    args = dict(before=DAY, zone="America/New_York", quiet=NIGHT)
    assert reminder_due(start, now=at(NY, 2026, 12, 8, 9, 0), **args)
    assert reminder_due(start, now=at(NY, 2026, 12, 8, 14, 0), **args)  # exactly two hours before
    assert not reminder_due(start, now=at(NY, 2026, 12, 8, 14, 1), **args)


def test_a_reminder_moved_to_the_start_of_the_night_goes_out_on_the_next_round_of_the_worker():
    start = at(NY, 2026, 12, 8, 22, 30)  # planned for 21:00 the evening before (24 h before is quiet)
    args = dict(before=DAY, zone="America/New_York", quiet=NIGHT)
    assert not reminder_due(start, now=at(NY, 2026, 12, 7, 20, 59, 59), **args)
    for seconds in (0, 1, 30, 600):  # whenever the worker's round comes, just after 21:00
        assert reminder_due(start, now=at(NY, 2026, 12, 7, 21, 0) + timedelta(seconds=seconds), **args)
    # A short lead: a 07:00 session with a 2-hour reminder is reminded at 21:00, not left to after 08:00.
    early = at(NY, 2026, 12, 8, 7, 0)
    assert reminder_due(early, now=at(NY, 2026, 12, 7, 21, 0, 5), before=timedelta(hours=2),
                        zone="America/New_York", quiet=NIGHT)


def test_a_late_reminder_waits_for_the_end_of_the_clients_night():
    start = at(NY, 2026, 12, 8, 11, 0)
    args = dict(before=DAY, zone="America/New_York", quiet=NIGHT)
    assert not reminder_due(start, now=at(NY, 2026, 12, 7, 23, 0), **args)
    assert reminder_due(start, now=at(NY, 2026, 12, 8, 8, 0), **args)


@pytest.mark.parametrize("text", ["", "21-08", "21:00", "25:00-08:00", "21:00-08:60", "08:00-08:00", "nine-ish"])
def test_quiet_hours_that_make_no_sense_are_refused(text):
    with pytest.raises(ValueError, match="quiet hours"):
        QuietHours.parse(text)


def test_quiet_hours_are_read_as_written():
    assert QuietHours.parse(" 21:00 - 8:00 ") == NIGHT
    assert str(QuietHours.parse("7:05-9:30")) == "07:05-09:30"


ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago",
         "Pacific/Chatham", "UTC"]


@settings(max_examples=400, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                          timezones=st.just(UTC)),
       zone=st.sampled_from(ZONES),
       hours=st.integers(min_value=1, max_value=72),
       quiet_start=st.times(), quiet_end=st.times())
def test_reminder_is_never_in_quiet_hours_and_never_later_than_asked(start, zone, hours, quiet_start, quiet_end):
    quiet_start, quiet_end = quiet_start.replace(microsecond=0), quiet_end.replace(microsecond=0)
    before = timedelta(hours=hours)
    reminder = reminder_time(start, before=before, zone=zone, quiet_start=quiet_start, quiet_end=quiet_end)
    quiet = QuietHours(quiet_start, quiet_end)
    assert reminder <= start - before
    assert start - before - reminder < timedelta(days=1)  # the job's look-ahead covers every reminder
    assert not quiet.contains(reminder.astimezone(ZoneInfo(zone)).time())
    assert reminder.tzinfo == UTC
