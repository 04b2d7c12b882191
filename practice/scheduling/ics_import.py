"""Busy times from a counselor's own iCalendar feed. Pure: bytes and a window in, UTC intervals out.

What blocks time: every event instance in the window that is not cancelled and not marked free
(TRANSP:TRANSPARENT). Recurrences, their exceptions (moved or cancelled instances, EXDATE) are expanded by
recurring_ical_events. All-day events block the whole local day in the counselor's zone; floating times are
read in that zone too. Nothing but the times is kept: no titles, places or attendees.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

MAX_INSTANCES = 5000  # a feed that expands to more in the window is cut here rather than exhausting memory


class FeedInvalid(ValueError):
    """The response is not an iCalendar feed we can read; the message is shown to the counselor."""


def busy_intervals(data: bytes, *, window_start: datetime, window_end: datetime,
                   zone: str) -> list[tuple[datetime, datetime]]:
    """Merged, sorted busy intervals in UTC that intersect [window_start, window_end)."""
    tz = ZoneInfo(zone)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise FeedInvalid(f"This address did not return a calendar we can read ({exc.__class__.__name__}).") from None
    if calendar.name != "VCALENDAR":
        raise FeedInvalid("This address did not return an iCalendar (.ics) calendar.")
    try:
        instances = recurring_ical_events.of(calendar, skip_bad_series=True).between(window_start, window_end)
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds for malformed feeds
        raise FeedInvalid(f"This calendar has events we can't read ({exc.__class__.__name__}).") from None

    intervals: list[tuple[datetime, datetime]] = []
    for event in instances[:MAX_INSTANCES]:
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        start, end = _event_bounds(event, tz)
        if start is None or end <= start:
            continue
        start, end = max(start, window_start), min(end, window_end)
        if start < end:
            intervals.append((start, end))
    return merge(intervals)


def _event_bounds(event, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    dtstart = event.get("DTSTART")
    if dtstart is None:
        return None, None
    start = dtstart.dt
    if "DTEND" in event:
        end = event["DTEND"].dt
    elif "DURATION" in event:
        end = start + event["DURATION"].dt
    else:  # RFC 5545: a date lasts one day; a date-time with neither lasts no time
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    return _to_utc(start, tz), _to_utc(end, tz)


def _to_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # all-day: local midnight in the counselor's zone
        value = datetime.combine(value, time(0), tzinfo=tz)
    elif value.tzinfo is None:  # floating time: the counselor's wall clock
        value = value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
