"""The practice dashboard's figures, week by week: plain rows in, plain series out. No Flask, no database.

Weeks start on Monday in the practice's zone. Every row carries a UTC datetime; the week it falls in is decided in
that zone. Rows outside the window are ignored.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MIN_WEEKS, MAX_WEEKS = 4, 52


@dataclass(frozen=True)
class BookingRow:
    created_at: datetime  # UTC
    is_trial: bool
    format: str  # individual | couple
    status: str  # held, pending_payment, confirmed, completed, no_show, cancelled
    client_email: str


@dataclass(frozen=True)
class RoutingRow:
    decided_at: datetime  # UTC
    track: str  # the track in force: the override when staff overrode, else the recommendation
    urgent: bool
    flag_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaymentRow:
    succeeded_at: datetime  # UTC
    amount: int  # minor units


@dataclass(frozen=True)
class RefundRow:
    completed_at: datetime  # UTC
    amount: int  # minor units


@dataclass(frozen=True)
class Week:
    start: date  # the Monday, in the practice's zone
    trial_bookings: int = 0
    trials_completed: int = 0
    trials_converted: int = 0  # of trials_completed: the client later booked a non-trial session
    completed: int = 0
    no_shows: int = 0
    urgent: int = 0
    payments: int = 0  # minor units
    refunds: int = 0  # minor units
    tracks: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def conversion(self) -> float | None:
        """Share of completed trials that led to an ongoing booking; None when no trial was completed."""
        return self.trials_converted / self.trials_completed if self.trials_completed else None

    @property
    def no_show_rate(self) -> float | None:
        attended_or_not = self.completed + self.no_shows
        return self.no_shows / attended_or_not if attended_or_not else None

    @property
    def revenue(self) -> int:
        return self.payments - self.refunds


def week_start(moment: datetime, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def weekly_figures(*, bookings: list[BookingRow], routings: list[RoutingRow], payments: list[PaymentRow],
                   refunds: list[RefundRow], now: datetime, weeks: int, zone: ZoneInfo) -> list[Week]:
    """The last `weeks` weeks up to and including the one holding `now`, oldest first."""
    if not MIN_WEEKS <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between {MIN_WEEKS} and {MAX_WEEKS}")
    last = week_start(now, zone)
    starts = [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    tally: dict[date, Counter] = {s: Counter() for s in starts}
    tracks: dict[date, Counter] = {s: Counter() for s in starts}
    flags: dict[date, Counter] = {s: Counter() for s in starts}

    def bucket(moment: datetime) -> date | None:
        start = week_start(moment, zone)
        return start if start in tally else None

    ongoing_by_client: dict[str, list[datetime]] = {}
    for b in bookings:
        if not b.is_trial and b.status != "cancelled":
            ongoing_by_client.setdefault(b.client_email.lower(), []).append(b.created_at)

    for b in bookings:
        week = bucket(b.created_at)
        if week is None:
            continue
        if b.status == "completed":
            tally[week]["completed"] += 1
        elif b.status == "no_show":
            tally[week]["no_shows"] += 1
        if not b.is_trial:
            continue
        tally[week]["trial_bookings"] += 1
        if b.status == "completed":
            tally[week]["trials_completed"] += 1
            later = ongoing_by_client.get(b.client_email.lower(), ())
            if any(at > b.created_at for at in later):
                tally[week]["trials_converted"] += 1

    for r in routings:
        week = bucket(r.decided_at)
        if week is None:
            continue
        tracks[week][r.track] += 1
        tally[week]["urgent"] += int(r.urgent)
        flags[week].update(r.flag_codes)

    for p in payments:
        week = bucket(p.succeeded_at)
        if week is not None:
            tally[week]["payments"] += p.amount
    for r in refunds:
        week = bucket(r.completed_at)
        if week is not None:
            tally[week]["refunds"] += r.amount

    return [Week(start=s, tracks=dict(sorted(tracks[s].items())), flags=dict(sorted(flags[s].items())),
                 **tally[s]) for s in starts]


def as_rows(weeks: list[Week]) -> list[tuple[str, str, str]]:
    """One (week, metric, value) row per week per figure: what the CSV export holds. Money is in minor units;
    a rate with nothing to divide is left empty."""
    rows: list[tuple[str, str, str]] = []
    for w in weeks:
        start = w.start.isoformat()
        rows += [
            (start, "trial_bookings", str(w.trial_bookings)),
            (start, "trials_completed", str(w.trials_completed)),
            (start, "trials_converted", str(w.trials_converted)),
            (start, "conversion_rate", _rate(w.conversion)),
            (start, "completed_sessions", str(w.completed)),
            (start, "no_shows", str(w.no_shows)),
            (start, "no_show_rate", _rate(w.no_show_rate)),
            (start, "urgent_intakes", str(w.urgent)),
            (start, "payments_cents", str(w.payments)),
            (start, "refunds_cents", str(w.refunds)),
            (start, "revenue_cents", str(w.revenue)),
        ]
        rows += [(start, f"track:{track}", str(n)) for track, n in w.tracks.items()]
        rows += [(start, f"flag:{code}", str(n)) for code, n in w.flags.items()]
    return rows


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


