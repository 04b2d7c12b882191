"""The retention rule: when the practice may delete a client's record (README, RECORD_RETENTION_YEARS).

Nothing may be live (a held, unpaid or confirmed booking). Then either the person never had a session take
place (no booking completed or missed: a prospective client who never came, whose record may go at once when
they ask), or their last session ended more than the retention period ago. Pure: the caller passes the
bookings and the time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Sequence

TOOK_PLACE = ("completed", "no_show")  # a session the practice keeps clinical records of (a no-show is noted)


@dataclass(frozen=True)
class BookingFacts:
    status: str  # booking status value
    starts_at: datetime
    ends_at: datetime
    live: bool  # holds time now (a hold that ran out does not)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str  # a plain sentence for staff: why it may or may not be deleted
    possible_from: datetime | None = None  # when a refused deletion becomes possible, if time alone will do it


def add_years(moment: datetime, years: int) -> datetime:
    """The same day and time `years` later; 29 February becomes 1 March in a year without one."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


def may_erase(bookings: Sequence[BookingFacts], *, now: datetime, years: int,
              zone: tzinfo = timezone.utc) -> Verdict:
    """Whether the rule allows deleting the record of a person with these bookings; dates are named in `zone`."""
    def day(moment: datetime) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d}"

    live = sorted((b for b in bookings if b.live), key=lambda b: b.starts_at)
    if live:
        first, many = live[0], len(live) > 1
        return Verdict(False, f"They have {len(live)} open booking{'s' if many else ''} (the first on "
                              f"{day(first.starts_at)}, {first.status.replace('_', ' ')}). Cancel "
                              f"{'them' if many else 'it'}, or mark attendance, before deleting the record.")
    held = [b.ends_at for b in bookings if b.status in TOOK_PLACE]
    if not held:
        return Verdict(True, "They never had a session with the practice, so their record may be deleted now.")
    last = max(held)
    until = add_years(last, years)
    if now > until:
        return Verdict(True, f"Their last session ended on {day(last)}, more than {years} years ago: the "
                             f"retention period is over.")
    return Verdict(False, f"Their last session ended on {day(last)}. Records are kept for {years} years after the "
                          f"last session, so this one may be deleted from {day(until)}.", possible_from=until)
