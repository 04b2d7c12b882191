"""How the booking pages say times and zones: always in the reader's zone, with the zone named.

Pure functions (no Flask, no database), so the pages, and their tests, read times the same way.
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# Plain names for the zones most visitors are in; any other IANA zone is named by its abbreviation.
ZONE_NAMES: dict[str, str] = {
    "America/New_York": "Eastern Time",
    "America/Chicago": "Central Time",
    "America/Denver": "Mountain Time",
    "America/Phoenix": "Mountain Time, no daylight saving",
    "America/Los_Angeles": "Pacific Time",
    "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time",
    "America/Puerto_Rico": "Atlantic Time",
    "Europe/London": "UK time",
    "UTC": "Coordinated Universal Time",
}


def valid_zone(name: str | None) -> str | None:
    """The IANA name if it is one this machine knows, else None."""
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None
    return name


def zone_label(zone: str, at: datetime | None = None) -> str:
    """'America/Chicago (Central Time)'; 'Europe/Berlin (CET)' for zones without a plain name here."""
    plain = ZONE_NAMES.get(zone)
    if plain is None:
        moment = (at or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone))
        plain = moment.tzname() or zone
        if plain == zone:
            return zone
    return f"{zone} ({plain})"


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def clock(moment: datetime) -> str:
    """10:00 AM"""
    return moment.strftime("%I:%M %p").lstrip("0")


def long_date(day: date, *, year: bool = False) -> str:
    """Monday, December 7 (with ', 2026' when asked)."""
    text = f"{day:%A, %B} {day.day}"
    return f"{text}, {day.year}" if year else text


def when(moment: datetime, zone: str, *, year: bool = True) -> str:
    """'Monday, December 7, 2026 at 10:00 AM CST' in `zone`."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{long_date(local.date(), year=year)} at {clock(local)} {local.tzname()}"


def span(start: datetime, end: datetime, zone: str) -> str:
    """'Monday, December 7, 2026, 10:00 AM – 10:30 AM CST' in `zone`."""
    tz = ZoneInfo(zone)
    a, b = start.astimezone(tz), end.astimezone(tz)
    return f"{long_date(a.date(), year=True)}, {clock(a)} – {clock(b)} {b.tzname()}"


def url_start(moment: datetime) -> str:
    """A start as it travels in URLs and forms: UTC to the minute, '2026-12-07T15:00Z'."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def parse_start(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 with an offset (or Z), else None."""
    if not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            return None
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: a time near year 1 or 9999 has no UTC equivalent
        return None


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def days_with_slots(starts: list[datetime], zone: str, first_day: date, days: int = 7) -> OrderedDict:
    """Local day -> [local start, ...] for `days` days from `first_day`, days without times included."""
    tz = ZoneInfo(zone)
    grouped: OrderedDict[date, list[datetime]] = OrderedDict(
        (first_day + timedelta(days=n), []) for n in range(days))
    for start in starts:
        local = start.astimezone(tz)
        if local.date() in grouped:
            grouped[local.date()].append(local)
    return grouped
