"""Pure scheduling slot engine: which session start times can a client book?

No Flask, no database, no clock: everything, including "now", is passed in, so the
engine is deterministic and can be tested (and property-tested) on its own.

Time model
----------
* All instants are timezone-aware datetimes; :class:`Interval` normalises them to UTC.
  Intervals are half-open ``[start, end)``, so two intervals that merely touch
  (10:00-10:50 and 10:50-11:40) do not overlap.
* Working hours are *local wall-clock* times in the counselor's IANA zone, so
  "9:00" stays 9:00 local on both sides of a daylight-saving change.  Zone
  conversion happens once per working range per local date, never per slot.

A working range ``(start, end)`` on local date ``d`` covers exactly the instants
whose wall clock on ``d`` reads a time in ``[start, end)``.  Around DST that means:

* Spring forward (non-existent wall times): a boundary that falls in the gap is
  moved to the first real instant after the gap.  A range 01:00-04:00 on
  2026-03-08 in America/New_York is therefore 2 real hours long, and 02:30-04:00
  starts at 03:00 EDT.
* Fall back (repeated wall times): an ambiguous range start uses the first
  occurrence (fold=0) and an ambiguous range end the second occurrence (fold=1),
  so a range that spans the repeated hour contains it twice (00:00-03:00 on
  2026-11-01 in New York is 4 real hours).  Instants whose wall clock reads outside
  the range in between are left out, so a range with a bound *inside* the repeated
  hour becomes two pieces: 01:00-01:30 on that date is 01:00-01:30 EDT plus
  01:00-01:30 EST, and 01:15-05:00 skips the second pass through 01:00-01:14.
  A slot never straddles such a hole.
* Slot starts are stepped in absolute (UTC) time from the range's first instant,
  so every slot lasts exactly ``duration`` of real elapsed time, starts at a wall
  time that exists, and appears once even when its wall time repeats.

The only assumption about the zone database is that a zone changes its UTC offset
at most once within any ~26 hour span, which holds for every real zone.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from itertools import chain
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "UTC",
    "DateOverride",
    "InvalidSchedule",
    "Interval",
    "TimeRange",
    "WeeklyHours",
    "first_free_slot",
    "free_slot_starts",
    "free_slots",
    "from_micros",
    "local_day_bounds",
    "local_range_to_utc",
    "to_micros",
    "zone_info",
]

UTC = timezone.utc
TimeRange = tuple[time, time]

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_DAY_MICROS = 86_400_000_000


class InvalidSchedule(ValueError):
    """Raised for any invalid engine input (naive datetimes, empty ranges, bad zone...)."""


# --------------------------------------------------------------------------- inputs


def _require_aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidSchedule(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidSchedule(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open range of instants ``[start, end)``; both ends are stored in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = self.start, self.end
        # Fast path for values that are already UTC datetimes (everything read from the database).
        if (type(start) is datetime and type(end) is datetime and start.tzinfo is UTC and end.tzinfo is UTC
                and start < end):
            return
        start = _require_aware("Interval.start", self.start)
        end = _require_aware("Interval.end", self.end)
        # Convert before comparing: Python compares two datetimes sharing a tzinfo
        # by wall time and ignores fold, which is wrong across a fall-back hour.
        if start.tzinfo is not UTC:
            start = start.astimezone(UTC)
            object.__setattr__(self, "start", start)
        if end.tzinfo is not UTC:
            end = end.astimezone(UTC)
            object.__setattr__(self, "end", end)
        if not start < end:
            raise InvalidSchedule(
                f"Interval start must be before end, got {start.isoformat()} >= {end.isoformat()}"
            )

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        """True if the two intervals share at least one instant (touching is not overlapping)."""
        return self.start < other.end and other.start < self.end

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


_set_start, _set_end = Interval.start.__set__, Interval.end.__set__  # set the fields, bypassing frozen


def _trusted_interval(start: datetime, end: datetime) -> Interval:
    # Slots are built from already validated UTC datetimes; skipping __post_init__ and the
    # frozen __setattr__ keeps building ~1000 slots cheap.
    interval = object.__new__(Interval)
    _set_start(interval, start)
    _set_end(interval, end)
    return interval


def zone_info(zone: str | ZoneInfo) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name, raising :class:`InvalidSchedule` if unknown."""
    if isinstance(zone, ZoneInfo):
        return zone
    if not isinstance(zone, str) or not zone:
        raise InvalidSchedule(f"time zone must be a non-empty IANA name, got {zone!r}")
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(f"unknown time zone {zone!r}") from exc


def _normalise_ranges(ranges: Iterable[TimeRange], where: str) -> tuple[TimeRange, ...]:
    """Validate local time ranges and return them sorted by start."""
    checked: list[TimeRange] = []
    for item in ranges:
        try:
            start, end = item
        except (TypeError, ValueError) as exc:
            raise InvalidSchedule(f"{where}: a range must be a (start, end) pair, got {item!r}") from exc
        for value in (start, end):
            if not isinstance(value, time):
                raise InvalidSchedule(f"{where}: range bounds must be datetime.time, got {value!r}")
            if value.tzinfo is not None:
                # The zone comes from WeeklyHours; a second zone on the time would be ambiguous.
                raise InvalidSchedule(f"{where}: range bounds must be naive local times, got {value!r}")
        if not start < end:
            raise InvalidSchedule(
                f"{where}: range start must be before end within the day, got {start}-{end}"
            )
        checked.append((start, end))
    checked.sort()
    for (_, previous_end), (next_start, _) in zip(checked, checked[1:]):
        if next_start < previous_end:
            raise InvalidSchedule(f"{where}: ranges overlap at {next_start}")
    return tuple(checked)


@dataclass(frozen=True)
class WeeklyHours:
    """A counselor's recurring working hours in their own time zone.

    ``days`` maps weekday (0=Monday .. 6=Sunday) to local ``(start, end)`` time
    ranges.  It may be given as a mapping (missing weekdays are days off) or as a
    sequence of exactly seven range lists; it is stored as a 7-tuple of sorted
    tuples.  Each range needs ``start < end`` on the same day (so the latest
    possible end is ``time(23, 59, 59, 999999)``); ranges may touch but not overlap.
    """

    zone: str
    days: tuple[tuple[TimeRange, ...], ...] = ((),) * 7
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone_info(self.zone))
        raw = self.days
        if isinstance(raw, Mapping):
            for weekday in raw:
                if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
                    raise InvalidSchedule(f"weekday must be an int 0 (Monday) .. 6 (Sunday), got {weekday!r}")
            raw = [raw.get(weekday, ()) for weekday in range(7)]
        else:
            raw = list(raw)
            if len(raw) != 7:
                raise InvalidSchedule(f"days needs one entry per weekday (7), got {len(raw)}")
        days = tuple(
            _normalise_ranges(ranges, f"weekday {weekday}") for weekday, ranges in enumerate(raw)
        )
        object.__setattr__(self, "days", days)

    def ranges_on(self, day: date, overrides: Mapping[date, DateOverride] | None = None) -> tuple[TimeRange, ...]:
        """Local ranges worked on ``day``: the override's if there is one, else the weekday's."""
        if overrides and day in overrides:
            return overrides[day].ranges
        return self.days[day.weekday()]


@dataclass(frozen=True)
class DateOverride:
    """Working hours for one local date, replacing the weekly hours of that date.

    Empty ``ranges`` means unavailable all day.
    """

    date: date
    ranges: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.date, date) or isinstance(self.date, datetime):
            raise InvalidSchedule(f"DateOverride.date must be a datetime.date, got {self.date!r}")
        object.__setattr__(self, "ranges", _normalise_ranges(self.ranges, f"override {self.date}"))


def _overrides_by_date(overrides: Iterable[DateOverride]) -> dict[date, DateOverride]:
    by_date: dict[date, DateOverride] = {}
    for override in overrides:
        if override.date in by_date:
            raise InvalidSchedule(f"two overrides for {override.date}")
        by_date[override.date] = override
    return by_date


# ------------------------------------------------------------------ zone arithmetic


def _offset_at(tz: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # nosec B101  # for the type checker: ZoneInfo always knows its offset
    return offset


def _fold_offsets(tz: ZoneInfo, day: date, wall: time) -> tuple[timedelta, timedelta]:
    """UTC offsets of a wall time read as first (fold=0) and second (fold=1) occurrence.

    Equal for ordinary times.  For a repeated time fold=0 has the larger offset; for a
    non-existent time (PEP 495) fold=0 has the pre-transition, i.e. smaller, offset.
    """
    local = datetime.combine(day, wall, tzinfo=tz)
    first, second = local.utcoffset(), local.replace(fold=1).utcoffset()
    assert first is not None and second is not None  # nosec B101  # for the type checker, as above
    return first, second


def _transition(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """First instant in ``(low, high]`` whose UTC offset differs from the one at ``low``.

    Precondition: the offsets at ``low`` and ``high`` differ (exactly one transition).
    Bisects on whole microseconds; only runs on the two DST dates a year.
    """
    before = _offset_at(tz, low)
    below, above = 0, (high - low) // _EPSILON
    while above - below > 1:
        middle = (below + above) // 2
        if _offset_at(tz, low + timedelta(microseconds=middle)) == before:
            below = middle
        else:
            above = middle
    return low + timedelta(microseconds=above)


def _first_instant_at(tz: ZoneInfo, day: date, wall: time) -> datetime:
    """Earliest instant whose wall clock reads ``day wall`` or later (UTC)."""
    first, second = _fold_offsets(tz, day, wall)
    as_if_utc = datetime.combine(day, wall, tzinfo=UTC)
    if first >= second:  # ordinary, or repeated: the first occurrence comes first
        return as_if_utc - first
    # In a gap: read with the later offset the wall time lies before the transition,
    # read with the earlier one after it; the transition itself is what we want.
    return _transition(tz, as_if_utc - second, as_if_utc - first)


def _wall_range_pieces(tz: ZoneInfo, day: date, start: time, end: time) -> list[tuple[datetime, datetime]]:
    """UTC pieces holding exactly the instants whose wall clock on ``day`` is in ``[start, end)``.

    Usually one piece.  Two pieces only when the range lies partly inside a repeated
    (fall-back) hour without covering all of it.  Pieces are sorted and disjoint.
    """
    start_offsets = _fold_offsets(tz, day, start)
    end_offsets = _fold_offsets(tz, day, end)
    wall_start = datetime.combine(day, start, tzinfo=UTC)  # wall time labelled UTC for arithmetic
    wall_end = datetime.combine(day, end, tzinfo=UTC)
    offsets = {*start_offsets, *end_offsets}
    if len(offsets) == 1:  # the common case: no DST change anywhere near the range
        (offset,) = offsets
        return [(wall_start - offset, wall_end - offset)]

    # A transition is near.  Every instant of the range lies in [low, high); on each
    # side of the transition the wall clock is wall = utc + offset-of-that-side.
    low, high = wall_start - max(offsets), wall_end - min(offsets)
    before, after = _offset_at(tz, low), _offset_at(tz, high - _EPSILON)
    if before == after:  # e.g. the range ends exactly where a gap begins
        return [(wall_start - before, wall_end - before)]
    change = _transition(tz, low, high - _EPSILON)
    pieces: list[tuple[datetime, datetime]] = []
    first = (wall_start - before, min(wall_end - before, change))
    second = (max(wall_start - after, change), wall_end - after)
    for piece_start, piece_end in (first, second):
        if piece_start < piece_end:
            if pieces and pieces[-1][1] == piece_start:  # contiguous across the change
                pieces[-1] = (pieces[-1][0], piece_end)
            else:
                pieces.append((piece_start, piece_end))
    return pieces


def local_day_bounds(zone: str | ZoneInfo, day: date) -> Interval:
    """The UTC interval of local date ``day`` in ``zone``: 23 h, 24 h or 25 h long.

    Starts at the first instant whose wall clock reads ``day`` 00:00 or later (after
    the gap if midnight does not exist) and ends where the next date starts.
    """
    tz = zone_info(zone)
    return Interval(_first_instant_at(tz, day, time(0)), _first_instant_at(tz, day + _ONE_DAY, time(0)))


def local_range_to_utc(zone: str | ZoneInfo, day: date, start: time, end: time) -> list[Interval]:
    """The UTC intervals covered by local wall-clock range ``[start, end)`` on ``day``.

    See the module docstring for the DST rules; usually returns one interval, two
    when the range lies partly inside a repeated hour, none if it lies wholly in a gap.
    """
    (start, end), = _normalise_ranges([(start, end)], "range")
    return [_trusted_interval(s, e) for s, e in _wall_range_pieces(zone_info(zone), day, start, end)]


# --------------------------------------------------------------------------- engine
#
# The engine works on one integer time line, microseconds since the Unix epoch (UTC): exact (a datetime has
# microsecond resolution), and an order of magnitude cheaper than datetime arithmetic in the per-slot loop.
# Datetimes are turned into integers on the way in and back on the way out.


def to_micros(instant: datetime) -> int:
    """An aware instant as integer microseconds since the Unix epoch."""
    return (instant - _EPOCH) // _EPSILON


def from_micros(micros: int) -> datetime:
    """The UTC datetime of integer microseconds since the Unix epoch (inverse of :func:`to_micros`)."""
    return _EPOCH + timedelta(microseconds=micros)


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching ``(start, end)`` pairs."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _check_duration(name: str, value: object, *, allow_zero: bool) -> None:
    if not isinstance(value, timedelta):
        raise InvalidSchedule(f"{name} must be a timedelta, got {type(value).__name__}")
    if value < _ZERO or (value == _ZERO and not allow_zero):
        raise InvalidSchedule(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")


def _check_count(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InvalidSchedule(f"{name} must be None or a non-negative int, got {value!r}")


def free_slots(
    hours: WeeklyHours,
    *,
    window: Interval,
    now: datetime,
    duration: timedelta,
    step: timedelta,
    bookings: Sequence[Interval] = (),
    external_busy: Sequence[Interval] = (),
    time_off: Sequence[Interval] = (),
    overrides: Sequence[DateOverride] = (),
    buffer: timedelta = _ZERO,
    notice: timedelta = _ZERO,
    horizon: timedelta | None = None,
    max_per_day: int | None = None,
    limit: int | None = None,
) -> list[Interval]:
    """Bookable slots ``[start, start + duration)``, sorted by start, as UTC Intervals.

    A slot is returned when all of these hold:

    * it lies wholly inside one working range of one local date (the date's
      override if any, else its weekday's hours; see the module docstring for DST);
    * its start is on that range's grid: range start + k * ``step`` in real time;
    * ``window.start <= start < window.end`` (the start decides, so adjacent windows
      partition the slots; a slot may end after ``window.end``);
    * ``now + notice <= start`` and, if ``horizon`` is given, ``start <= now + horizon``;
    * ``[start - buffer, start + duration + buffer)`` overlaps no booking and no
      external busy interval.  Pass bookings *without* their buffer: the buffer is
      the gap required between any two sessions/events, applied once here.
      Half-open, so touching is fine: with a 10-minute buffer a booking 10:00-10:50
      still allows a slot at 11:00 (and one ending at 09:50);
    * ``[start, start + duration)`` overlaps no ``time_off`` interval (no buffer:
      time off is not a session);
    * if ``max_per_day`` is given, the local date has fewer than ``max_per_day``
      bookings, counted by the local date of each booking's start.  Only
      ``bookings`` count, not ``external_busy``; pass every booking on the local
      days the window touches.

    ``limit`` stops after that many slots (the earliest ones); ``limit=1`` makes
    "next available" cheap.  Raises :class:`InvalidSchedule` for invalid input.
    """
    starts = free_slot_starts(
        hours, window=window, now=now, duration=duration, step=step, bookings=bookings,
        external_busy=external_busy, time_off=time_off, overrides=overrides, buffer=buffer,
        notice=notice, horizon=horizon, max_per_day=max_per_day, limit=limit,
    )
    slots = []
    step_micros, previous, start = step // _EPSILON, None, _EPOCH
    for micros in starts:
        # Most starts are one step after the last: adding a timedelta is cheaper than making a datetime.
        start = start + step if previous is not None and micros - previous == step_micros else from_micros(micros)
        slots.append(_trusted_interval(start, start + duration))
        previous = micros
    return slots


def free_slot_starts(
    hours: WeeklyHours,
    *,
    window: Interval,
    now: datetime,
    duration: timedelta,
    step: timedelta,
    bookings: Sequence[Interval] = (),
    external_busy: Sequence[Interval] = (),
    time_off: Sequence[Interval] = (),
    overrides: Sequence[DateOverride] = (),
    buffer: timedelta = _ZERO,
    notice: timedelta = _ZERO,
    horizon: timedelta | None = None,
    max_per_day: int | None = None,
    limit: int | None = None,
) -> list[int]:
    """The starts of the slots :func:`free_slots` returns, as :func:`to_micros` integers.

    Same arguments, rules and errors; for callers that format many slots and would
    only take the Intervals apart again (each slot ends ``duration`` after its start).
    """
    if not isinstance(hours, WeeklyHours):
        raise InvalidSchedule(f"hours must be WeeklyHours, got {type(hours).__name__}")
    if not isinstance(window, Interval):
        raise InvalidSchedule(f"window must be an Interval, got {type(window).__name__}")
    _require_aware("now", now)
    _check_duration("duration", duration, allow_zero=False)
    _check_duration("step", step, allow_zero=False)
    _check_duration("buffer", buffer, allow_zero=True)
    _check_duration("notice", notice, allow_zero=True)
    if horizon is not None:
        _check_duration("horizon", horizon, allow_zero=True)
    _check_count("max_per_day", max_per_day)
    _check_count("limit", limit)
    for name, intervals in (("bookings", bookings), ("external_busy", external_busy), ("time_off", time_off)):
        for interval in intervals:
            if not isinstance(interval, Interval):
                raise InvalidSchedule(f"{name} must contain Interval objects, got {type(interval).__name__}")
    overrides_by_date = _overrides_by_date(overrides)

    earliest = max(window.start, (now + notice).astimezone(UTC))
    latest = window.end - _EPSILON  # latest allowed start, inclusive
    if horizon is not None:
        latest = min(latest, (now + horizon).astimezone(UTC))
    if earliest > latest or limit == 0 or max_per_day == 0:
        return []

    # Everything that blocks a slot, expressed as ranges the slot itself must avoid:
    # widening busy intervals by the buffer is the same as widening the slot.
    pad = buffer // _EPSILON
    blocked = _merge(
        chain(
            ((to_micros(b.start) - pad, to_micros(b.end) + pad) for b in chain(bookings, external_busy)),
            ((to_micros(t.start), to_micros(t.end)) for t in time_off),
        )
    )
    grid = _Grid(
        blocked=blocked, blocked_ends=[end for _, end in blocked],
        earliest=to_micros(earliest), latest=to_micros(latest),
        duration=duration // _EPSILON, step=step // _EPSILON,
    )

    tz = hours.tz
    per_day: Counter[date] | None = None
    if max_per_day is not None:
        per_day = Counter(b.start.astimezone(tz).date() for b in bookings)

    starts: list[int] = []
    # One local date of margin on each side: cheap, and robust to zones whose wall
    # date is not monotonic around a transition near midnight.
    day = earliest.astimezone(tz).date() - _ONE_DAY
    last_day = latest.astimezone(tz).date() + _ONE_DAY
    while day <= last_day:
        ranges = hours.ranges_on(day, overrides_by_date)
        if ranges and (per_day is None or per_day[day] < max_per_day):  # type: ignore[operator]
            starts.extend(grid.day_starts(tz, day, ranges))
            if limit is not None and len(starts) >= limit:
                break
        day += _ONE_DAY
    if limit is not None:
        del starts[limit:]
    return starts


@dataclass(slots=True)  # not frozen: made once per call, and frozen dataclasses are slow to make
class _Grid:
    """One query's fixed inputs, in microseconds: what is blocked and which starts are allowed."""

    blocked: list[tuple[int, int]]  # sorted and merged
    blocked_ends: list[int]  # the ends of `blocked`, for bisecting
    earliest: int  # earliest allowed start
    latest: int  # latest allowed start, inclusive
    duration: int
    step: int

    def day_starts(self, tz: ZoneInfo, day: date, ranges: tuple[TimeRange, ...]) -> list[int]:
        """Sorted slot starts for one local date."""
        starts: list[int] = []
        offset = _steady_offset(tz, day)
        if offset is not None:  # the usual day: one offset throughout, so plain arithmetic
            midnight = (day.toordinal() - _EPOCH_ORDINAL) * _DAY_MICROS - offset
            for range_start, range_end in _ranges_micros(ranges):
                start = midnight + range_start
                self._add_starts(starts, start, start, midnight + range_end)
            return starts  # sorted: the ranges are, and one offset keeps their order
        for range_start, range_end in ranges:  # a change nearby: the general rules of the module docstring
            pieces = _wall_range_pieces(tz, day, range_start, range_end)
            if pieces:
                anchor = to_micros(pieces[0][0])  # the grid of this range starts at its first real instant
                for piece_start, piece_end in pieces:
                    self._add_starts(starts, anchor, to_micros(piece_start), to_micros(piece_end))
        # Only partly repeated (fall-back) hours can make the pieces of two ranges interleave.
        starts.sort()
        return starts

    def _add_starts(self, starts: list[int], anchor: int, start: int, end: int) -> None:
        """Append the free grid points ``anchor + k * step`` of ``[start, end)``."""
        if end <= self.earliest or start > self.latest:
            return
        for free_start, free_end in self._free_parts(start, end):
            low = max(free_start, self.earliest)
            high = min(free_end - self.duration, self.latest)
            if low <= high:
                first = anchor + -((anchor - low) // self.step) * self.step  # first grid point >= low
                starts.extend(range(first, high + 1, self.step))

    def _free_parts(self, start: int, end: int) -> Iterable[tuple[int, int]]:
        """``[start, end)`` minus the blocked ranges."""
        blocked = self.blocked
        index = bisect.bisect_right(self.blocked_ends, start)  # first blocked range ending after `start`
        cursor = start
        while index < len(blocked) and blocked[index][0] < end:
            blocked_start, blocked_end = blocked[index]
            if blocked_start > cursor:
                yield cursor, blocked_start
            cursor = max(cursor, blocked_end)
            index += 1
        if cursor < end:
            yield cursor, end


# The two helpers below are pure functions of a zone and a date, or of wall times, asked the same questions
# for every request; remembering the answers takes them off the per-day path.

@lru_cache(maxsize=8192)
def _steady_offset(tz: ZoneInfo, day: date) -> int | None:
    """The UTC offset in microseconds that holds for every wall time of ``day``, or None.

    None when the offset changes during the date or its midnight is skipped or repeated.
    If the offsets at both midnights agree there was no change in between: a zone
    changes at most once within ~26 hours (see the module docstring).
    """
    offset, second = _fold_offsets(tz, day, time(0))
    if offset == second and _fold_offsets(tz, day + _ONE_DAY, time(0)) == (offset, offset):
        return offset // _EPSILON
    return None


@lru_cache(maxsize=1024)
def _ranges_micros(ranges: tuple[TimeRange, ...]) -> tuple[tuple[int, int], ...]:
    """Wall-clock ranges as microseconds since midnight."""
    return tuple((_time_micros(start), _time_micros(end)) for start, end in ranges)


def _time_micros(wall: time) -> int:
    return ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1_000_000 + wall.microsecond


def first_free_slot(hours: WeeklyHours, **kwargs: object) -> Interval | None:
    """The earliest slot :func:`free_slots` would return for the same arguments, or None."""
    kwargs["limit"] = 1
    slots = free_slots(hours, **kwargs)  # type: ignore[arg-type]
    return slots[0] if slots else None
