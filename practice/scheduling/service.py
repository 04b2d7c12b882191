"""Use cases for availability: free slots for a counselor, the next free slot across counselors, and editing
a counselor's hours, overrides, time off and booking rules. The only writer of the scheduling tables.

Reading slots costs three queries whatever the number of bookings: the counselor with service and policy,
the rules (weekly hours and overrides together), and everything busy (bookings, imported events, time off
together).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, literal, null, or_, select, union_all
from sqlalchemy.orm import joinedload

from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus
from practice.core import slots as engine
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from practice.scheduling.models import DateOverride, ExternalBusy, SchedulingPolicy, TimeOff, WeeklyHours

DEFAULT_POLICY = SchedulingPolicy(notice_minutes=24 * 60, horizon_days=60, slot_step_minutes=30,
                                  max_sessions_per_day=None)


class ScheduleInvalid(ValueError):
    """Input for availability that cannot be used; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class CounselorSchedule:
    """Everything the engine needs for one counselor over one window, loaded from the database."""

    counselor_id: int
    hours: engine.WeeklyHours
    overrides: tuple[engine.DateOverride, ...]
    policy: SchedulingPolicy
    bookings: tuple[tuple[datetime, datetime, datetime], ...]  # start, end, blocked_until
    external_busy: tuple[engine.Interval, ...]
    time_off: tuple[engine.Interval, ...]

    def free_slots(self, service: Service, *, window: engine.Interval, now: datetime,
                   limit: int | None = None) -> list[engine.Interval]:
        buffer = timedelta(minutes=service.buffer_minutes)
        # A booking keeps its own buffer after it (the database guard does the same); the engine adds this
        # service's buffer once. Widen each booking by whatever its own buffer exceeds this one's, so the
        # engine never offers a start the guard would refuse.
        bookings = [engine.Interval(start, end + max(timedelta(0), (blocked - end) - buffer))
                    for start, end, blocked in self.bookings]
        policy = self.policy
        return engine.free_slots(
            self.hours, window=window, now=now,
            duration=timedelta(minutes=service.duration_minutes),
            step=timedelta(minutes=policy.slot_step_minutes),
            bookings=bookings, external_busy=self.external_busy, time_off=self.time_off,
            overrides=self.overrides, buffer=buffer,
            notice=timedelta(minutes=policy.notice_minutes),
            horizon=timedelta(days=policy.horizon_days),
            max_per_day=policy.max_sessions_per_day, limit=limit,
        )


def live_booking_filter(now: datetime):
    """Bookings that hold time: live statuses, except holds that have run out."""
    return and_(
        Booking.status.in_(LIVE_STATUSES),
        or_(Booking.status != BookingStatus.held, Booking.hold_expires_at > now),
    )


def load_schedules(counselors: list[Counselor], *, window: engine.Interval, now: datetime,
                   policies: dict[int, SchedulingPolicy]) -> dict[int, CounselorSchedule]:
    """Schedules for many counselors in two queries (rules, busy), for the directory and "first available"."""
    ids = [c.id for c in counselors]
    if not ids:
        return {}
    zones = {c.id: c.timezone for c in counselors}
    # Local dates the window touches in any zone: a day either side covers every offset.
    first_day, last_day = (window.start - timedelta(days=1)).date(), (window.end + timedelta(days=1)).date()

    rules = union_all(
        select(WeeklyHours.counselor_id, literal("w").label("kind"), WeeklyHours.weekday,
               null().label("day"), WeeklyHours.start_time, WeeklyHours.end_time)
        .where(WeeklyHours.counselor_id.in_(ids)),
        select(DateOverride.counselor_id, literal("o"), null(), DateOverride.day,
               DateOverride.start_time, DateOverride.end_time)
        .where(DateOverride.counselor_id.in_(ids), DateOverride.day.between(first_day, last_day)),
    )
    weekly: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    override_ranges: dict[int, dict[date, list]] = defaultdict(lambda: defaultdict(list))
    for counselor_id, kind, weekday, day, start, end in db.session.execute(rules):
        if kind == "w":
            weekly[counselor_id][weekday].append((start, end))
        else:
            if isinstance(day, str):  # SQLite returns UNIONed dates as text
                day = date.fromisoformat(day)
            ranges = override_ranges[counselor_id][day]
            if start is not None:
                ranges.append((_as_time(start), _as_time(end)))

    # Busy rows that can matter: anything ending after the window starts less the longest buffer, and
    # starting before the window ends plus a day (max-per-day counts a whole local day).
    lo, hi = window.start - timedelta(days=1), window.end + timedelta(days=1)
    busy = union_all(
        select(Booking.counselor_id, literal("b").label("kind"), Booking.starts_at, Booking.ends_at,
               Booking.blocked_until)
        .where(Booking.counselor_id.in_(ids), live_booking_filter(now),
               Booking.blocked_until > lo, Booking.starts_at < hi),
        select(ExternalBusy.counselor_id, literal("e"), ExternalBusy.starts_at, ExternalBusy.ends_at,
               ExternalBusy.ends_at)
        .where(ExternalBusy.counselor_id.in_(ids), ExternalBusy.ends_at > lo, ExternalBusy.starts_at < hi),
        select(TimeOff.counselor_id, literal("t"), TimeOff.starts_at, TimeOff.ends_at, TimeOff.ends_at)
        .where(TimeOff.counselor_id.in_(ids), TimeOff.ends_at > lo, TimeOff.starts_at < hi),
    )
    bookings, external, time_off = defaultdict(list), defaultdict(list), defaultdict(list)
    for counselor_id, kind, start, end, blocked in db.session.execute(busy):
        start, end, blocked = _utc(start), _utc(end), _utc(blocked)
        if kind == "b":
            bookings[counselor_id].append((start, end, blocked))
        elif kind == "e":
            external[counselor_id].append(engine.Interval(start, end))
        else:
            time_off[counselor_id].append(engine.Interval(start, end))

    return {
        cid: CounselorSchedule(
            counselor_id=cid,
            hours=engine.WeeklyHours(zone=zones[cid], days={w: tuple(r) for w, r in weekly[cid].items()}),
            overrides=tuple(engine.DateOverride(date=d, ranges=tuple(r)) for d, r in override_ranges[cid].items()),
            policy=policies.get(cid, DEFAULT_POLICY),
            bookings=tuple(bookings[cid]),
            external_busy=tuple(external[cid]),
            time_off=tuple(time_off[cid]),
        )
        for cid in ids
    }


def _utc(value: datetime | str) -> datetime:
    """UNIONed columns lose their column type on SQLite: parse what comes back as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _as_time(value: time | str) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


# --- the use cases ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotsResult:
    counselor: Counselor
    service: Service
    timezone: str
    slots: list[engine.Interval]


def parse_zone(name: str | None, field: str = "tz") -> str:
    try:
        ZoneInfo(name or "")
    except (ValueError, KeyError, engine.InvalidSchedule) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ScheduleInvalid({field: [f"Unknown time zone {name!r}. Use an IANA name such as America/New_York."]}) \
            from exc
    return name


MAX_RANGE_DAYS = 92


def slots_for(counselor_slug: str, service_slug: str | None, *, start_day: date, end_day: date, zone: str,
              now: datetime) -> SlotsResult | None:
    """Free slots of one counselor's service between two dates of the viewer's zone (inclusive)."""
    errors: dict[str, list[str]] = {}
    if end_day < start_day:
        errors["to"] = ["The end date is before the start date."]
    elif (end_day - start_day).days + 1 > MAX_RANGE_DAYS:
        errors["to"] = [f"Ask for at most {MAX_RANGE_DAYS} days at a time."]
    if errors:
        raise ScheduleInvalid(errors)
    row = db.session.execute(
        select(Counselor, SchedulingPolicy)
        .outerjoin(SchedulingPolicy, SchedulingPolicy.counselor_id == Counselor.id)
        .where(Counselor.slug == counselor_slug, Counselor.active)
        .options(joinedload(Counselor.services))  # same query: a handful of rows
    ).unique().first()
    if row is None:
        return None
    counselor, policy = row
    services = {s.slug: s for s in counselor.active_services}
    if service_slug is None:
        trials = [s for s in services.values() if s.is_trial]
        service = (trials or list(services.values()) or [None])[0]
        if service is None:
            raise ScheduleInvalid({"service": ["This counselor has no bookable services."]})
    elif service_slug not in services:
        raise ScheduleInvalid({"service": [f"Unknown service {service_slug!r} for this counselor. Choose one of: "
                                           f"{', '.join(sorted(services)) or 'none'}."]})
    else:
        service = services[service_slug]
    tz = ZoneInfo(zone)
    window = engine.Interval(datetime.combine(start_day, time(0), tzinfo=tz).astimezone(timezone.utc),
                             datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc))
    schedule = load_schedules([counselor], window=window, now=now,
                              policies={counselor.id: policy} if policy else {})[counselor.id]
    return SlotsResult(counselor, service, zone, schedule.free_slots(service, window=window, now=now))


def next_available(counselors: list[Counselor], *, format: str, now: datetime,
                   days: int = 60) -> list[tuple[Counselor, Service, engine.Interval]]:
    """The earliest free trial slot of each counselor (of that format) who has one, earliest first.

    Looks a few days ahead first and widens only for counselors still without a slot, so the usual case
    reads a few days of busy rows rather than two months of them.
    """
    candidates = [(c, s) for c in counselors for s in c.active_services if s.format == format and s.is_trial]
    if not candidates:
        return []
    ids = sorted({c.id for c, _ in candidates})
    policies = {p.counselor_id: p for p in db.session.scalars(
        select(SchedulingPolicy).where(SchedulingPolicy.counselor_id.in_(ids)))}
    found: list[tuple[Counselor, Service, engine.Interval]] = []
    searched_until = now
    for reach in (3, 14, days):
        if not candidates or searched_until >= now + timedelta(days=days):
            break
        window = engine.Interval(searched_until, now + timedelta(days=reach))
        schedules = load_schedules([c for c, _ in candidates], window=window, now=now, policies=policies)
        remaining = []
        for counselor, service in candidates:
            first = schedules[counselor.id].free_slots(service, window=window, now=now, limit=1)
            if first:
                found.append((counselor, service, first[0]))
            else:
                remaining.append((counselor, service))
        candidates, searched_until = remaining, window.end
    found.sort(key=lambda item: item[2].start)
    return found
