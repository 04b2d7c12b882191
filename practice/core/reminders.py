"""When a session reminder goes out: a set time before the session, never in the client's night.

Pure: times are passed in, zones are IANA names. Quiet hours are local times in the client's zone, such as
21:00-08:00 (spanning midnight) or 13:00-14:00; a reminder falling inside them is moved earlier, to the moment
they begin that evening, never later (a later one could come too close to the session, or after it). Their two
ends are not quiet: 21:00 sharp is still the evening, 08:00 sharp is the morning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

# A reminder that could only go out this close to the session is left out: the client has just booked or is
# about to leave, and a message now only adds noise.
MIN_NOTICE = timedelta(hours=2)

_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'21:00-08:00' -> QuietHours(21:00, 08:00). ValueError, saying what is expected, for anything else."""
        match = _RANGE.fullmatch(text or "")
        if not match:
            raise ValueError(f"expected quiet hours as HH:MM-HH:MM, such as 21:00-08:00, got {text!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"quiet hours need times of day from 00:00 to 23:59, got {text!r}")
        if (h1, m1) == (h2, m2):
            raise ValueError(f"quiet hours must begin and end at different times, got {text!r}")
        return cls(time(h1, m1), time(h2, m2))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def spans_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, local: time) -> bool:
        """Whether a local time of day is inside the quiet hours (their two ends are not)."""
        local = local.replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.spans_midnight:
            return local > self.start or local < self.end
        return self.start < local < self.end


# A round of the worker within this long after a reminder's planned moment sends it as planned, also when the
# moment was moved to the very start of the quiet hours; a later one (the worker was down, or the session was
# booked after its reminder time) waits until the client's quiet hours are over.
ON_TIME = timedelta(minutes=30)


def reminder_time(starts_at: datetime, *, before: timedelta, zone: str, quiet_start: time,
                  quiet_end: time) -> datetime:
    """When the reminder of a session starting at `starts_at` should go out, in UTC.

    `before` ahead of the start; if that is in quiet hours in `zone`, the moment those quiet hours began instead
    (e.g. 21:00 the evening before), so it is never later than `starts_at - before`. On a daylight-saving day
    the wall-clock time is taken in the zone as it is that day; a quiet start that does not exist that evening
    (a clock jumping over it) is taken as the earlier real moment.
    """
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be an aware datetime")
    quiet = QuietHours(quiet_start, quiet_end)
    # In UTC first: Python subtracts from a zoned datetime on the wall clock, and "a day before" is 24 real hours.
    due = starts_at.astimezone(timezone.utc) - before
    tz = ZoneInfo(zone)
    local = due.astimezone(tz)
    if not quiet.contains(local.time()):
        return due
    evening = local.date()
    if quiet.spans_midnight and local.time() < quiet.start:  # after midnight: the quiet hours began yesterday
        evening -= timedelta(days=1)
    wall = datetime.combine(evening, quiet.start)
    # fold 0 and 1 are the same moment except around a clock change; the earlier one is never in quiet hours.
    return min(wall.replace(tzinfo=tz, fold=fold).astimezone(timezone.utc) for fold in (0, 1))


def reminder_due(starts_at: datetime, *, now: datetime, before: timedelta, zone: str, quiet: QuietHours,
                 min_notice: timedelta = MIN_NOTICE) -> bool:
    """Whether the reminder of this session should be sent at `now`.

    Yes once its reminder_time has come, provided the session is still at least `min_notice` away and it is not
    the client's night now: a session booked after its reminder time gets its reminder at once, or when the
    client's quiet hours end, or (too close to the session by then) none at all.
    """
    if starts_at - now < min_notice:
        return False
    planned = reminder_time(starts_at, before=before, zone=zone, quiet_start=quiet.start, quiet_end=quiet.end)
    if now < planned:
        return False
    if now - planned <= ON_TIME:  # the worker's first round after the planned moment (which may be quiet_start)
        return True
    return not quiet.contains(now.astimezone(ZoneInfo(zone)).time())
