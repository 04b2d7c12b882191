"""Tests for the pure slot engine (practice.core.slots)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practice.core.slots import (
    DateOverride,
    Interval,
    InvalidSchedule,
    WeeklyHours,
    first_free_slot,
    free_slots,
    local_day_bounds,
    local_range_to_utc,
)

UTC = timezone.utc
NY = "America/New_York"
MIN = timedelta(minutes=1)
EPS = timedelta(microseconds=1)
FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
END_OF_DAY = time.max  # latest allowed range end


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """A local wall time as a UTC instant (PEP 495 makes == with folded local times unreliable)."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def span(zone: str, first: date, days: int = 1) -> Interval:
    """The UTC window covering `days` whole local dates starting at `first`."""
    return Interval(
        local_day_bounds(zone, first).start,
        local_day_bounds(zone, first + timedelta(days=days - 1)).end,
    )


def every_day(*ranges: tuple[time, time]) -> dict[int, list[tuple[time, time]]]:
    return {weekday: list(ranges) for weekday in range(7)}


def slots(hours: WeeklyHours, first: date, days: int = 1, **kwargs) -> list[Interval]:
    kwargs.setdefault("now", FAR_PAST)
    kwargs.setdefault("duration", timedelta(minutes=50))
    kwargs.setdefault("step", timedelta(minutes=15))
    return free_slots(hours, window=span(hours.zone, first, days), **kwargs)


def walls(found: list[Interval], zone: str) -> list[datetime]:
    """Slot starts as naive local wall times."""
    tz = ZoneInfo(zone)
    return [s.start.astimezone(tz).replace(tzinfo=None) for s in found]


NINE_TO_FIVE = WeeklyHours(NY, {d: [(time(9), time(17))] for d in range(5)})


# ------------------------------------------------------------------ basic behaviour


def test_nine_to_five_day_has_expected_grid() -> None:
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), duration=timedelta(minutes=50), step=timedelta(minutes=15))
    # 9:00 .. 16:00 is the last start whose 50 minutes end by 17:00.
    assert walls(found, NY)[0] == datetime(2026, 1, 13, 9, 0)
    assert walls(found, NY)[-1] == datetime(2026, 1, 13, 16, 0)
    assert len(found) == 29
    assert all(s.end - s.start == timedelta(minutes=50) for s in found)
    assert all(s.start.tzinfo is UTC for s in found)


def test_weekend_without_hours_has_no_slots() -> None:
    assert slots(NINE_TO_FIVE, date(2026, 1, 17), days=2) == []


def test_several_ranges_a_day_and_slots_do_not_span_the_lunch_break() -> None:
    hours = WeeklyHours(NY, every_day((time(9), time(12)), (time(13), time(15))))
    found = walls(slots(hours, date(2026, 1, 13), duration=timedelta(hours=1), step=timedelta(hours=1)), NY)
    assert [w.hour for w in found] == [9, 10, 11, 13, 14]


def test_slot_starts_are_aligned_to_range_start_not_to_now() -> None:
    hours = WeeklyHours(NY, every_day((time(9, 10), time(12))))
    now = local(NY, 2026, 1, 13, 9, 47)
    found = walls(slots(hours, date(2026, 1, 13), now=now, step=timedelta(minutes=30)), NY)
    assert found[0] == datetime(2026, 1, 13, 10, 10)


def test_window_decides_by_slot_start() -> None:
    window = Interval(local(NY, 2026, 1, 13, 10), local(NY, 2026, 1, 13, 11))
    found = free_slots(
        NINE_TO_FIVE, window=window, now=FAR_PAST, duration=timedelta(minutes=50), step=timedelta(minutes=15)
    )
    # Starts 10:00 .. 10:45 are inside; 10:45 ends after the window and is still offered.
    assert walls(found, NY) == [datetime(2026, 1, 13, 10, m) for m in (0, 15, 30, 45)]


def test_results_are_sorted_and_unique() -> None:
    found = slots(NINE_TO_FIVE, date(2026, 1, 5), days=14)
    starts = [s.start for s in found]
    assert starts == sorted(set(starts))


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize(
    ("day", "expected_first_utc"),
    [
        (date(2026, 3, 8), utc(2026, 3, 8, 17, 0)),  # 13:00 EDT
        (date(2026, 11, 1), utc(2026, 11, 1, 18, 0)),  # 13:00 EST
    ],
)
def test_afternoon_hours_not_shifted_on_dst_change_date(day: date, expected_first_utc: datetime) -> None:
    hours = WeeklyHours(NY, every_day((time(13), time(17))))
    found = slots(hours, day, duration=timedelta(minutes=60), step=timedelta(minutes=60))
    assert found[0].start == expected_first_utc
    assert [w.time() for w in walls(found, NY)] == [time(13), time(14), time(15), time(16)]
    assert found[-1].end.astimezone(ZoneInfo(NY)).time() == time(17)


def test_slots_in_right_zone_after_dst_change() -> None:
    week_before = slots(NINE_TO_FIVE, date(2026, 3, 2), days=5)
    week_after = slots(NINE_TO_FIVE, date(2026, 3, 9), days=5)
    assert {w.time() for w in walls(week_before, NY)} == {w.time() for w in walls(week_after, NY)}
    assert min(w.time() for w in walls(week_after, NY)) == time(9)
    # Same wall time, one hour earlier in UTC once EDT applies.
    assert week_before[0].start == utc(2026, 3, 2, 14, 0)
    assert week_after[0].start == utc(2026, 3, 9, 13, 0)
    after_fall_back = slots(NINE_TO_FIVE, date(2026, 11, 2), days=5)
    assert after_fall_back[0].start == utc(2026, 11, 2, 14, 0)
    assert min(w.time() for w in walls(after_fall_back, NY)) == time(9)


def test_london_counselor_keeps_local_hours_across_bst() -> None:
    zone = "Europe/London"
    hours = WeeklyHours(zone, {d: [(time(9), time(17))] for d in range(5)})
    friday = slots(hours, date(2026, 3, 27))  # GMT
    monday = slots(hours, date(2026, 3, 30))  # BST since 2026-03-29
    assert friday[0].start == utc(2026, 3, 27, 9, 0)
    assert monday[0].start == utc(2026, 3, 30, 8, 0)
    assert walls(friday, zone)[0].time() == walls(monday, zone)[0].time() == time(9)
    # London's gap is 01:00-02:00 local: 00:30-02:30 is only one real hour.
    night = local_range_to_utc(zone, date(2026, 3, 29), time(0, 30), time(2, 30))
    assert night == [Interval(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))]


def test_sydney_counselor_southern_hemisphere_dst() -> None:
    zone = "Australia/Sydney"
    hours = WeeklyHours(zone, {d: [(time(9), time(17))] for d in range(5)})
    # DST ends Sunday 2026-04-05 (AEDT +11 -> AEST +10) and starts Sunday 2026-10-04.
    assert slots(hours, date(2026, 4, 3))[0].start == utc(2026, 4, 2, 22, 0)  # Fri 9:00 AEDT
    assert slots(hours, date(2026, 4, 6))[0].start == utc(2026, 4, 5, 23, 0)  # Mon 9:00 AEST
    assert slots(hours, date(2026, 10, 2))[0].start == utc(2026, 10, 1, 23, 0)  # Fri 9:00 AEST
    assert slots(hours, date(2026, 10, 5))[0].start == utc(2026, 10, 4, 22, 0)  # Mon 9:00 AEDT
    assert local_day_bounds(zone, date(2026, 4, 5)).duration == timedelta(hours=25)
    assert local_day_bounds(zone, date(2026, 10, 4)).duration == timedelta(hours=23)


def test_23_hour_day() -> None:
    hours = WeeklyHours(NY, every_day((time(0), END_OF_DAY)))
    half_hours = {"duration": timedelta(minutes=30), "step": timedelta(minutes=30)}
    assert local_day_bounds(NY, date(2026, 3, 8)).duration == timedelta(hours=23)
    assert len(slots(hours, date(2026, 3, 7), **half_hours)) == 47  # 00:00 .. 23:00
    spring = slots(hours, date(2026, 3, 8), **half_hours)
    assert len(spring) == 45
    assert not any(time(2) <= w.time() < time(3) for w in walls(spring, NY))


def test_25_hour_day() -> None:
    hours = WeeklyHours(NY, every_day((time(0), END_OF_DAY)))
    assert local_day_bounds(NY, date(2026, 11, 1)).duration == timedelta(hours=25)
    fall = slots(hours, date(2026, 11, 1), duration=timedelta(minutes=30), step=timedelta(minutes=30))
    assert len(fall) == 49
    assert len({s.start for s in fall}) == 49
    assert walls(fall, NY).count(datetime(2026, 11, 1, 1, 30)) == 2  # EDT and EST


def test_range_across_spring_forward_gap_gives_real_hours() -> None:
    hours = WeeklyHours(NY, every_day((time(1), time(4))))
    found = slots(hours, date(2026, 3, 8), duration=timedelta(minutes=15), step=timedelta(minutes=15))
    assert len(found) == 8  # 2 real hours, not 3
    assert found[0].start == utc(2026, 3, 8, 6, 0)  # 01:00 EST
    assert found[-1].end == utc(2026, 3, 8, 8, 0)  # 04:00 EDT
    assert not any(time(2) <= w.time() < time(3) for w in walls(found, NY))


def test_slot_may_span_the_gap_with_real_duration() -> None:
    hours = WeeklyHours(NY, every_day((time(1), time(4))))
    found = slots(hours, date(2026, 3, 8), duration=timedelta(minutes=90), step=timedelta(minutes=30))
    assert [s.start for s in found] == [utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 6, 30)]
    assert all(s.duration == timedelta(minutes=90) for s in found)


def test_range_boundary_in_gap_moves_to_end_of_gap() -> None:
    assert local_range_to_utc(NY, date(2026, 3, 8), time(2, 30), time(4)) == [
        Interval(utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 8, 0))  # 03:00-04:00 EDT
    ]
    assert local_range_to_utc(NY, date(2026, 3, 8), time(1), time(2, 30)) == [
        Interval(utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0))  # 01:00 EST-03:00 EDT
    ]
    assert local_range_to_utc(NY, date(2026, 3, 8), time(2, 0), time(2, 45)) == []


def test_range_covering_repeated_hour_contains_it_twice() -> None:
    assert local_range_to_utc(NY, date(2026, 11, 1), time(0), time(3)) == [
        Interval(utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 8, 0))  # 4 real hours
    ]
    # Ambiguous start: first occurrence; the second pass through 01:00-01:14 is excluded.
    assert local_range_to_utc(NY, date(2026, 11, 1), time(1, 15), time(5)) == [
        Interval(local(NY, 2026, 11, 1, 1, 15, fold=0), local(NY, 2026, 11, 1, 1, 0, fold=1)),
        Interval(local(NY, 2026, 11, 1, 1, 15, fold=1), local(NY, 2026, 11, 1, 5)),
    ]
    # Ambiguous end: second occurrence.
    assert local_range_to_utc(NY, date(2026, 11, 1), time(0), time(1, 45))[-1].end == local(
        NY, 2026, 11, 1, 1, 45, fold=1
    )


def test_range_inside_repeated_hour_occurs_twice_without_the_jump() -> None:
    pieces = local_range_to_utc(NY, date(2026, 11, 1), time(1), time(1, 30))
    assert pieces == [
        Interval(utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30)),  # 01:00-01:30 EDT
        Interval(utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 6, 30)),  # 01:00-01:30 EST
    ]
    hours = WeeklyHours(NY, every_day((time(1), time(1, 30))))
    found = slots(hours, date(2026, 11, 1), duration=timedelta(minutes=30), step=timedelta(minutes=30))
    assert [s.start for s in found] == [utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 6, 0)]
    # 50 minutes never fit: the wall clock would read 01:30-01:59 EDT, outside the range.
    assert slots(hours, date(2026, 11, 1)) == []


def test_no_duplicate_slots_in_repeated_hour() -> None:
    hours = WeeklyHours(NY, every_day((time(0), time(3))))
    found = slots(hours, date(2026, 11, 1), duration=timedelta(minutes=15), step=timedelta(minutes=15))
    assert len(found) == 16
    assert len({s.start for s in found}) == 16


# ----------------------------------------------------------- busy, buffer, time off


def test_external_busy_blocks_availability() -> None:
    busy = [Interval(local(NY, 2026, 1, 13, 10), local(NY, 2026, 1, 13, 12))]
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), external_busy=busy, step=timedelta(minutes=10))
    assert not any(s.overlaps(busy[0]) for s in found)
    starts = walls(found, NY)
    assert datetime(2026, 1, 13, 9, 10) in starts  # ends 10:00 exactly
    assert datetime(2026, 1, 13, 9, 20) not in starts
    assert datetime(2026, 1, 13, 12, 0) in starts


def test_external_busy_does_not_count_toward_max_per_day() -> None:
    busy = [Interval(local(NY, 2026, 1, 13, h), local(NY, 2026, 1, 13, h, 50)) for h in (9, 10)]
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), external_busy=busy, max_per_day=2)
    assert found


def test_partial_day_time_off_blocks_only_that_range() -> None:
    off = [Interval(local(NY, 2026, 1, 13, 14), local(NY, 2026, 1, 13, 15, 30))]
    found = slots(NINE_TO_FIVE, date(2026, 1, 12), days=3, time_off=off, buffer=timedelta(minutes=10))
    assert not any(s.overlaps(off[0]) for s in found)
    starts = walls(found, NY)
    assert datetime(2026, 1, 13, 13, 0) in starts
    assert datetime(2026, 1, 13, 13, 15) not in starts
    # Time off takes no buffer: a slot may start the moment it ends.
    assert datetime(2026, 1, 13, 15, 30) in starts
    assert datetime(2026, 1, 13, 9, 0) in starts
    # The other days are untouched.
    assert sum(w.date() == date(2026, 1, 12) for w in starts) == 29
    assert sum(w.date() == date(2026, 1, 14) for w in starts) == 29


def test_multi_day_time_off() -> None:
    off = [Interval(local(NY, 2026, 1, 13, 12), local(NY, 2026, 1, 15, 12))]
    found = walls(slots(NINE_TO_FIVE, date(2026, 1, 12), days=5, time_off=off), NY)
    assert {w.date() for w in found} == {date(2026, 1, d) for d in (12, 13, 15, 16)}
    assert max(w for w in found if w.date() == date(2026, 1, 13)).time() == time(11, 0)
    assert min(w for w in found if w.date() == date(2026, 1, 15)).time() == time(12, 0)


def test_buffer_around_booking() -> None:
    booking = [Interval(local(NY, 2026, 1, 13, 10), local(NY, 2026, 1, 13, 10, 50))]
    found = walls(
        slots(NINE_TO_FIVE, date(2026, 1, 13), bookings=booking, buffer=timedelta(minutes=10),
              step=timedelta(minutes=10)),
        NY,
    )
    at = lambda h, m: datetime(2026, 1, 13, h, m)  # noqa: E731
    assert at(11, 0) in found  # occupies [10:50, 12:00): touches the booking's end only
    assert at(10, 50) not in found
    assert at(9, 0) in found  # occupies [8:50, 10:00): touches the booking's start only
    assert at(9, 10) not in found


def test_buffer_applies_to_external_busy_too() -> None:
    busy = [Interval(local(NY, 2026, 1, 13, 12), local(NY, 2026, 1, 13, 13))]
    found = walls(
        slots(NINE_TO_FIVE, date(2026, 1, 13), external_busy=busy, buffer=timedelta(minutes=15),
              step=timedelta(minutes=15)),
        NY,
    )
    at = lambda h, m: datetime(2026, 1, 13, h, m)  # noqa: E731
    assert at(10, 45) in found  # 10:45 + 50 + 15 buffer = 12:00
    assert at(11, 0) not in found
    assert at(13, 0) not in found
    assert at(13, 15) in found  # 13:15 - 15 buffer = 13:00


def test_overlapping_and_unsorted_busy_intervals() -> None:
    busy = [
        Interval(local(NY, 2026, 1, 13, 15), local(NY, 2026, 1, 13, 16)),
        Interval(local(NY, 2026, 1, 13, 9), local(NY, 2026, 1, 13, 11)),
        Interval(local(NY, 2026, 1, 13, 10), local(NY, 2026, 1, 13, 12)),
    ]
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), external_busy=busy)
    assert walls(found, NY)[0] == datetime(2026, 1, 13, 12, 0)
    assert not any(s.overlaps(b) for s in found for b in busy)


# ------------------------------------------------------ notice, horizon, max per day


def test_minimum_notice() -> None:
    now = local(NY, 2026, 1, 13, 8, 0)
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), days=2, now=now, notice=timedelta(hours=24))
    assert walls(found, NY)[0] == datetime(2026, 1, 14, 9, 0)
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), now=now, notice=timedelta(hours=3, minutes=5))
    assert walls(found, NY)[0] == datetime(2026, 1, 13, 11, 15)


def test_past_slots_are_never_offered() -> None:
    now = local(NY, 2026, 1, 13, 12, 1)
    assert all(s.start >= now for s in slots(NINE_TO_FIVE, date(2026, 1, 13), now=now))


def test_horizon_is_inclusive() -> None:
    now = local(NY, 2026, 1, 12, 9, 0)
    found = slots(NINE_TO_FIVE, date(2026, 1, 12), days=10, now=now, horizon=timedelta(days=2))
    assert found[-1].start == local(NY, 2026, 1, 14, 9, 0)
    assert slots(NINE_TO_FIVE, date(2026, 1, 12), now=now, horizon=timedelta(0))[-1].start == now


def test_max_per_day_hides_full_days_only() -> None:
    bookings = [
        Interval(local(NY, 2026, 1, 13, 9), local(NY, 2026, 1, 13, 9, 50)),
        Interval(local(NY, 2026, 1, 13, 14), local(NY, 2026, 1, 13, 14, 50)),
        Interval(local(NY, 2026, 1, 14, 9), local(NY, 2026, 1, 14, 9, 50)),
    ]
    found = walls(slots(NINE_TO_FIVE, date(2026, 1, 13), days=2, bookings=bookings, max_per_day=2), NY)
    assert {w.date() for w in found} == {date(2026, 1, 14)}
    found = walls(slots(NINE_TO_FIVE, date(2026, 1, 13), days=2, bookings=bookings, max_per_day=3), NY)
    assert {w.date() for w in found} == {date(2026, 1, 13), date(2026, 1, 14)}
    assert slots(NINE_TO_FIVE, date(2026, 1, 13), max_per_day=0) == []


def test_max_per_day_counts_by_local_date() -> None:
    # 23:30 local on the 13th is already the 14th in UTC; it counts for the 13th.
    late = [Interval(local(NY, 2026, 1, 13, 23, 30), local(NY, 2026, 1, 14, 0, 20))]
    found = walls(slots(NINE_TO_FIVE, date(2026, 1, 13), days=2, bookings=late, max_per_day=1), NY)
    assert {w.date() for w in found} == {date(2026, 1, 14)}


# ---------------------------------------------------------------------- overrides


def test_override_adds_saturday_hours() -> None:
    saturday = date(2026, 1, 17)
    extra = [DateOverride(saturday, ((time(10), time(12)),))]
    found = slots(NINE_TO_FIVE, saturday, duration=timedelta(hours=1), step=timedelta(hours=1), overrides=extra)
    assert [w.time() for w in walls(found, NY)] == [time(10), time(11)]


def test_override_blocks_a_day() -> None:
    blocked = [DateOverride(date(2026, 1, 13))]
    found = walls(slots(NINE_TO_FIVE, date(2026, 1, 12), days=3, overrides=blocked), NY)
    assert {w.date() for w in found} == {date(2026, 1, 12), date(2026, 1, 14)}


def test_override_replaces_weekly_hours() -> None:
    changed = [DateOverride(date(2026, 1, 13), ((time(7), time(8)), (time(18), time(19))))]
    found = slots(NINE_TO_FIVE, date(2026, 1, 13), duration=timedelta(hours=1), step=timedelta(hours=1),
                  overrides=changed)
    assert [w.time() for w in walls(found, NY)] == [time(7), time(18)]


# ------------------------------------------------------------------ limit / first


def test_limit_and_first_free_slot_return_the_earliest() -> None:
    now = local(NY, 2026, 1, 9, 16, 30)  # Friday afternoon
    kwargs = {
        "window": Interval(now, now + timedelta(days=30)),
        "now": now,
        "duration": timedelta(minutes=50),
        "step": timedelta(minutes=15),
        "notice": timedelta(hours=2),
    }
    everything = free_slots(NINE_TO_FIVE, **kwargs)
    assert free_slots(NINE_TO_FIVE, limit=3, **kwargs) == everything[:3]
    assert first_free_slot(NINE_TO_FIVE, **kwargs) == everything[0]
    assert everything[0].start == local(NY, 2026, 1, 12, 9, 0)  # Monday
    assert first_free_slot(WeeklyHours(NY), **kwargs) is None


# --------------------------------------------------------------------- validation


def test_interval_validation_and_utc_normalisation() -> None:
    with pytest.raises(InvalidSchedule, match="timezone-aware"):
        Interval(datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(InvalidSchedule, match="before end"):
        Interval(utc(2026, 1, 2), utc(2026, 1, 2))
    interval = Interval(local(NY, 2026, 1, 1, 9), local(NY, 2026, 1, 1, 10))
    assert interval.start == utc(2026, 1, 1, 14) and interval.start.tzinfo is UTC
    assert issubclass(InvalidSchedule, ValueError)


@pytest.mark.parametrize(
    ("zone", "days", "message"),
    [
        ("Mars/Olympus_Mons", {}, "unknown time zone"),
        ("", {}, "time zone"),
        (NY, {7: [(time(9), time(10))]}, "weekday"),
        (NY, {0: [(time(10), time(9))]}, "before end"),
        (NY, {0: [(time(9), time(9))]}, "before end"),
        (NY, {0: [(time(9), time(12)), (time(11), time(13))]}, "overlap"),
        (NY, {0: [(time(9, tzinfo=UTC), time(12))]}, "naive"),
        (NY, {0: [("09:00", "12:00")]}, "datetime.time"),
        (NY, [()] * 6, "7"),
    ],
)
def test_weekly_hours_validation(zone: str, days: object, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        WeeklyHours(zone, days)  # type: ignore[arg-type]


def test_weekly_hours_accepts_touching_ranges_and_sorts() -> None:
    hours = WeeklyHours(NY, {2: [(time(13), time(17)), (time(9), time(13))]})
    assert hours.days[2] == ((time(9), time(13)), (time(13), time(17)))
    assert hours.days[0] == ()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"duration": timedelta(0)}, "duration must be positive"),
        ({"step": timedelta(minutes=-5)}, "step must be positive"),
        ({"buffer": timedelta(minutes=-1)}, "buffer"),
        ({"notice": timedelta(minutes=-1)}, "notice"),
        ({"horizon": timedelta(minutes=-1)}, "horizon"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"max_per_day": -1}, "max_per_day"),
        ({"limit": -1}, "limit"),
        ({"bookings": [(utc(2026, 1, 1), utc(2026, 1, 2))]}, "Interval"),
        ({"overrides": [DateOverride(date(2026, 1, 1)), DateOverride(date(2026, 1, 1))]}, "two overrides"),
    ],
)
def test_free_slots_validation(override: dict, message: str) -> None:
    kwargs = {
        "window": span(NY, date(2026, 1, 13)),
        "now": FAR_PAST,
        "duration": timedelta(minutes=50),
        "step": timedelta(minutes=15),
    } | override
    with pytest.raises(InvalidSchedule, match=message):
        free_slots(NINE_TO_FIVE, **kwargs)


def test_date_override_rejects_datetime() -> None:
    with pytest.raises(InvalidSchedule, match="datetime.date"):
        DateOverride(datetime(2026, 1, 1, 9))  # type: ignore[arg-type]


# ------------------------------------------------------------------ property tests

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
]


def _transition_dates(zone: str) -> list[date]:
    """Local dates in 2025-2027 on which the UTC offset changes (all such changes are at night)."""
    tz = ZoneInfo(zone)
    found = []
    day = date(2025, 1, 1)
    while day.year < 2028:
        morning = datetime.combine(day, time(0, 30), tzinfo=tz).utcoffset()
        if datetime.combine(day, time(23, 30), tzinfo=tz).utcoffset() != morning:
            found.append(day)
        day += timedelta(days=1)
    return found


TRANSITIONS = {zone: _transition_dates(zone) for zone in ZONES}


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def _containing_date(slot: Interval, tz: ZoneInfo, hours: WeeklyHours, overrides: dict) -> date | None:
    """The local date whose working range wholly contains the slot, judged by wall clock.

    The wall clock is continuous between offset changes, so it is enough to check the
    slot's first and last instant and the instants on both sides of any change inside.
    (Transitions of the tested zones fall on whole minutes, as do all slot starts.)
    """
    points = [slot.start, slot.end - EPS]
    if _offset(slot.start, tz) != _offset(slot.end - EPS, tz):
        change = slot.start
        while _offset(change, tz) == _offset(slot.start, tz):
            change += MIN
        points += [change - EPS, change]
    local_points = [p.astimezone(tz).replace(tzinfo=None) for p in points]
    day = local_points[0].date()
    if any(p.date() != day for p in local_points):
        return None
    ranges = overrides[day].ranges if day in overrides else hours.days[day.weekday()]
    for start, end in ranges:
        if all(start <= p.time() < end for p in local_points):
            return day
    return None


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


@st.composite
def _day_ranges(draw: st.DrawFn, unit: int, until_hour: int = 24) -> tuple[tuple[time, time], ...]:
    """Non-overlapping ranges before `until_hour` whose bounds are multiples of `unit`
    minutes (an end at 24:00 becomes time.max)."""
    per_day = 24 * 60 // unit
    bounds = sorted(set(draw(st.lists(st.integers(0, until_hour * 60 // unit), max_size=6))))
    if len(bounds) % 2:
        bounds.pop()

    def as_time(n: int) -> time:
        return END_OF_DAY if n == per_day else time(n * unit // 60, n * unit % 60)

    return tuple((as_time(a), as_time(b)) for a, b in zip(bounds[::2], bounds[1::2]))


@st.composite
def _intervals(draw: st.DrawFn, around: Interval, max_minutes: int, max_size: int) -> list[Interval]:
    result = []
    total = int((around.end - around.start) / MIN)
    for _ in range(draw(st.integers(0, max_size))):
        offset = draw(st.integers(-24 * 60, total + 24 * 60))
        length = draw(st.integers(1, max_minutes))
        start = around.start + _minutes(offset)
        result.append(Interval(start, start + _minutes(length)))
    return result


@st.composite
def scenarios(draw: st.DrawFn, aligned: bool) -> dict:
    """A random counselor and query; `aligned` keeps every slot start on a global UTC grid."""
    zone = draw(st.sampled_from(ZONES))
    unit = 30 if aligned else 5
    night_override = []
    if TRANSITIONS[zone] and draw(st.booleans()):
        change = draw(st.sampled_from(TRANSITIONS[zone]))
        first = change - timedelta(days=draw(st.integers(0, 2)))
        if draw(st.booleans()):
            # Range bounds in or next to the gap / repeated hour (all at 01:00-03:00 here).
            night_override = [DateOverride(change, draw(_day_ranges(unit, until_hour=4)))]
    else:
        first = draw(st.dates(date(2024, 1, 1), date(2028, 12, 31)))
    days = draw(st.integers(1, 4))
    window_start = local_day_bounds(zone, first).start + _minutes(draw(st.integers(-12 * 60, 12 * 60)))
    window = Interval(window_start, window_start + timedelta(days=days) + _minutes(draw(st.integers(-600, 600))))
    # A few day patterns shared by the weekdays: as varied, and much cheaper to draw.
    patterns = [draw(_day_ranges(unit)) for _ in range(3)]
    weekdays = draw(st.lists(st.integers(0, 2), min_size=7, max_size=7))
    hours = WeeklyHours(zone, [patterns[n] for n in weekdays])
    override_dates = draw(st.sets(st.integers(-1, days + 1), max_size=3))
    overrides = night_override + [
        DateOverride(first + timedelta(days=n), draw(_day_ranges(unit)))
        for n in sorted(override_dates)
        if not night_override or first + timedelta(days=n) != night_override[0].date
    ]
    step = _minutes(draw(st.sampled_from([15, 30]) if aligned else st.integers(1, 12).map(lambda n: n * 5)))
    horizon = draw(st.none() | st.integers(0, 5 * 24 * 60).map(_minutes))
    return {
        "hours": hours,
        "window": window,
        "now": window.start + _minutes(draw(st.integers(-3 * 24 * 60, 2 * 24 * 60))),
        "duration": _minutes(5 * draw(st.integers(1, 24))),
        "step": step,
        "bookings": draw(_intervals(window, 120, 8)),
        "external_busy": draw(_intervals(window, 300, 6)),
        "time_off": draw(_intervals(window, 3 * 24 * 60, 3)),
        "overrides": overrides,
        "buffer": _minutes(5 * draw(st.integers(0, 6))),
        "notice": _minutes(draw(st.integers(0, 48 * 60))),
        "horizon": horizon,
        "max_per_day": draw(st.none() | st.integers(0, 4)),
    }


def _violations(slot: Interval, case: dict, booked_per_day: dict, *, first_only: bool = False) -> list[str]:
    """The rules the slot breaks, cheapest checks first (empty list = bookable).

    With ``first_only`` it stops at the first broken rule (for the brute-force scan).
    """
    broken: list[str] = []

    def fails(rule: str, condition: bool) -> bool:
        if condition:
            broken.append(rule)
        return condition and first_only

    if fails("duration", slot.end - slot.start != case["duration"]):
        return broken
    if fails("window", not case["window"].start <= slot.start < case["window"].end):
        return broken
    if fails("notice", slot.start < case["now"] + case["notice"]):
        return broken
    if fails("horizon", case["horizon"] is not None and slot.start > case["now"] + case["horizon"]):
        return broken
    occupied = Interval(slot.start - case["buffer"], slot.end + case["buffer"])
    if fails("busy", any(occupied.overlaps(b) for b in case["bookings"] + case["external_busy"])):
        return broken
    if fails("time off", any(slot.overlaps(t) for t in case["time_off"])):
        return broken
    hours = case["hours"]
    day = _containing_date(slot, hours.tz, hours, {o.date: o for o in case["overrides"]})
    if fails("working hours", day is None):
        return broken
    limit = case["max_per_day"]
    fails("max per day", day is not None and limit is not None and booked_per_day.get(day, 0) >= limit)
    return broken


def _booked_per_day(case: dict) -> dict[date, int]:
    counts: dict[date, int] = {}
    for booking in case["bookings"]:
        day = booking.start.astimezone(case["hours"].tz).date()
        counts[day] = counts.get(day, 0) + 1
    return counts


def _run(case: dict, **extra) -> list[Interval]:
    kwargs = {k: v for k, v in case.items() if k != "hours"} | extra
    return free_slots(case["hours"], **kwargs)


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios(aligned=False))
def test_property_every_slot_is_bookable(case: dict) -> None:
    found = _run(case)
    booked = _booked_per_day(case)
    for slot in found:
        assert _violations(slot, case, booked) == [], slot
    starts = [s.start for s in found]
    assert starts == sorted(set(starts)), "slots must be sorted and unique"
    assert _run(case, limit=3) == found[:3]


@PROPERTY_SETTINGS
@given(scenarios(aligned=True))
def test_property_matches_brute_force_on_a_grid(case: dict) -> None:
    """With range starts, offsets and transitions on the step grid, the engine must
    return exactly the grid points a brute-force check accepts: nothing missing."""
    step = case["step"]
    window = case["window"]
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    candidate = epoch + -((epoch - window.start) // step) * step
    booked = _booked_per_day(case)
    expected = []
    while candidate < window.end:
        slot = Interval(candidate, candidate + case["duration"])
        if not _violations(slot, case, booked, first_only=True):
            expected.append(slot)
        candidate += step
    assert _run(case) == expected
