"""A counselor's week as their calendar page shows it, in their own zone.

build_week() is pure: it lays UTC rows onto the local days Monday to Sunday, so a DST week has a 23- or 25-hour day
and every time reads as the counselor's wall clock. week_for() loads the rows and calls it.
Bookings carry the service and status only: the calendar never shows anything about the client.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, select

from practice.core import slots as engine
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from practice.scheduling import editing
from practice.scheduling.booked import booked
from practice.scheduling.models import ExternalBusy, TimeOff

STATUS_LABELS = {  # by a booking's status
    "held": "On hold while the client finishes booking",
    "pending_payment": "Waiting for payment",
    "confirmed": "Confirmed",
    "completed": "Completed",
    "no_show": "No-show",
    "cancelled": "Cancelled",
}
BUSY_TITLE = "Busy (from your calendar)"
TIME_OFF_TITLE = "Time off"


@dataclass(frozen=True)
class BookingRow:
    starts_at: datetime  # UTC
    ends_at: datetime
    service_name: str
    status: str


@dataclass(frozen=True)
class Entry:
    kind: str  # "booking", "busy" or "time_off": also the CSS class that colours it (the text says it too)
    when: str  # "9:00 AM – 9:50 AM", "All day", "Until 11:00 AM", "From 2:00 PM"
    title: str
    detail: str
    start: datetime  # local, clipped to the day: for ordering and tests


@dataclass(frozen=True)
class Day:
    day: date
    hours: tuple[str, ...]  # working ranges as text, e.g. ("9:00 AM – 12:00 PM",)
    is_override: bool  # hours come from a date override, not the weekly hours
    entries: tuple[Entry, ...]
    clock_change: str  # e.g. "Clocks go back an hour today (EDT to EST)", or ""
    is_today: bool


@dataclass(frozen=True)
class Week:
    zone: str
    monday: date
    days: tuple[Day, ...]

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def clock_changes(self) -> bool:
        return any(d.clock_change for d in self.days)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(value: str | None, *, today: date) -> tuple[date, bool]:
    """The Monday of the week a YYYY-MM-DD date falls in (any weekday will do), and whether the value was usable."""
    if not value:
        return monday_of(today), True
    try:
        return monday_of(date.fromisoformat(value.strip())), True
    except ValueError:
        return monday_of(today), False


def clock(moment: datetime, *, with_zone: bool = False) -> str:
    """9:00 AM, as a counselor reads their own calendar; with the zone's abbreviation on days the clocks change."""
    text = editing.time_text(moment)
    return f"{text} {moment.tzname()}" if with_zone else text


def clock_range(start: datetime, end: datetime, *, with_zone: bool = False) -> str:
    return f"{clock(start, with_zone=with_zone)} – {clock(end, with_zone=with_zone)}"


def build_week(zone: str, monday: date, *, weekly: Mapping[int, Sequence[tuple[time, time]]],
               overrides: Mapping[date, Sequence[tuple[time, time]]], bookings: Sequence[BookingRow],
               busy: Sequence[engine.Interval], time_off: Sequence[engine.Interval], today: date) -> Week:
    """The seven local days from `monday`, each with its hours and whatever overlaps it, clipped to the day."""
    tz = ZoneInfo(zone)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        bounds = engine.local_day_bounds(tz, day)
        change = _clock_change(tz, bounds)
        with_zone = bool(change)  # on those days 1:30 AM can happen twice: name which one
        ranges = overrides[day] if day in overrides else weekly.get(day.weekday(), ())
        hours = tuple(clock_range(p.start.astimezone(tz), p.end.astimezone(tz), with_zone=with_zone)
                      for start, end in ranges for p in engine.local_range_to_utc(tz, day, start, end))
        entries = [
            *(_entry("booking", b.starts_at, b.ends_at, bounds, tz, b.service_name, STATUS_LABELS[b.status],
                     with_zone) for b in bookings),
            *(_entry("busy", i.start, i.end, bounds, tz, BUSY_TITLE, "", with_zone) for i in busy),
            *(_entry("time_off", i.start, i.end, bounds, tz, TIME_OFF_TITLE, "", with_zone) for i in time_off),
        ]
        entries = sorted((e for e in entries if e is not None), key=lambda e: (e.start, e.kind))
        days.append(Day(day=day, hours=hours, is_override=day in overrides, entries=tuple(entries),
                        clock_change=change, is_today=day == today))
    return Week(zone=zone, monday=monday, days=tuple(days))


def _entry(kind: str, start: datetime, end: datetime, bounds: engine.Interval, tz: ZoneInfo, title: str,
           detail: str, with_zone: bool) -> Entry | None:
    if not (start < bounds.end and bounds.start < end):
        return None
    from_before, into_after = start <= bounds.start, end >= bounds.end
    local_start, local_end = max(start, bounds.start).astimezone(tz), min(end, bounds.end).astimezone(tz)
    if from_before and into_after:
        when = "All day"
    elif from_before:
        when = f"Until {clock(local_end, with_zone=with_zone)}"
    elif into_after:
        when = f"From {clock(local_start, with_zone=with_zone)}"
    else:
        when = clock_range(local_start, local_end, with_zone=with_zone)
    return Entry(kind=kind, when=when, title=title, detail=detail, start=local_start)


def _clock_change(tz: ZoneInfo, bounds: engine.Interval) -> str:
    before = bounds.start.astimezone(tz)
    after = (bounds.end - timedelta(microseconds=1)).astimezone(tz)
    if before.utcoffset() == after.utcoffset():
        return ""
    shift = after.utcoffset() - before.utcoffset()
    minutes = abs(int(shift.total_seconds() // 60))
    amount = "an hour" if minutes == 60 else f"{minutes} minutes"
    direction = "forward" if shift > timedelta(0) else "back"
    return f"Clocks go {direction} {amount} today ({before.tzname()} to {after.tzname()})."


def week_for(counselor: Counselor, monday: date, *, now: datetime) -> Week:
    """Load the counselor's week and lay it out in their zone."""
    zone = counselor.timezone
    window = engine.Interval(engine.local_day_bounds(zone, monday).start,
                             engine.local_day_bounds(zone, monday + timedelta(days=6)).end)
    booked_time = booked()
    Booking = booked_time.model
    bookings = [
        BookingRow(*row)
        for row in db.session.execute(
            # Only these columns: nothing about the client can reach the page by accident.
            select(Booking.starts_at, Booking.ends_at, Service.name, cast(Booking.status, String))
            .join(Service, Service.id == Booking.service_id)
            .where(Booking.counselor_id == counselor.id, Booking.starts_at < window.end,
                   Booking.ends_at > window.start, booked_time.on_calendar(now))
            .order_by(Booking.starts_at))
    ]
    busy, time_off = [], []
    for model, found in ((ExternalBusy, busy), (TimeOff, time_off)):
        for start, end in db.session.execute(
            select(model.starts_at, model.ends_at)
            .where(and_(model.counselor_id == counselor.id, model.starts_at < window.end,
                        model.ends_at > window.start))
        ):
            found.append(engine.Interval(start, end))
    overrides = editing.overrides_from(counselor, monday, monday + timedelta(days=6))
    return build_week(zone, monday, weekly=editing.weekly_hours_of(counselor), overrides=overrides,
                      bookings=bookings, busy=busy, time_off=time_off,
                      today=editing.local_today(counselor, now))


def span_text(starts_at: datetime, ends_at: datetime, zone: str) -> str:
    """A stretch of time off as the counselor would say it, in their zone: whole days read as dates only."""
    tz = ZoneInfo(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if start.time() == time(0) and end.time() == time(0):
        last = end.date() - timedelta(days=1)
        if last == start.date():
            return f"{_long_date(start.date())} (whole day)"
        return f"{_long_date(start.date(), year=start.year != last.year)} – {_long_date(last)} (whole days)"
    if start.date() == end.date():
        return f"{_long_date(start.date())}, {clock_range(start, end)}"
    return (f"{_long_date(start.date(), year=start.year != end.year)}, {clock(start)} – "
            f"{_long_date(end.date())}, {clock(end)}")


def _long_date(day: date, *, year: bool = True) -> str:
    text = f"{day:%A, %B} {day.day}"
    return f"{text}, {day.year}" if year else text


def live_bookings_between(counselor: Counselor, start: datetime, end: datetime, *, now: datetime) -> int:
    """How many sessions that still hold time fall (partly) between two instants: time off doesn't cancel them."""
    bookings = booked()
    Booking = bookings.model
    return db.session.scalar(
        select(func.count()).select_from(Booking)
        .where(Booking.counselor_id == counselor.id, bookings.holds_time(now),
               Booking.starts_at < end, Booking.ends_at > start)
    ) or 0


def moment_text(moment: datetime, zone: str) -> str:
    """An instant in the counselor's zone: Tuesday, November 3 at 2:05 PM."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{_long_date(local.date())} at {clock(local)}"
