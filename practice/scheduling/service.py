"""Use cases for availability: free slots for a counselor and the next free slot across counselors.

Reading slots costs two queries whatever the number of bookings: the counselor with policy and services, then
its whole schedule (weekly hours, overrides, bookings, imported events and time off, as one union).

This is the hot path of the booking pages, so it reads plain rows, never entities, through Core statements built
once at import: building them and their SQLAlchemy cache keys on every request took a third of the endpoint's
time. Their compiled form is kept by SQLAlchemy's compiled cache, and on PostgreSQL their text never changes,
so psycopg prepares them once per connection (prepare_threshold) and PostgreSQL stops planning them.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache, cached_property, lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY, Integer, and_, any_, bindparam, cast, literal_column, null, select, union_all,
)

from practice.core import slots as engine
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from practice.scheduling.booked import NO_BOOKING, booked
from practice.scheduling.models import DateOverride, ExternalBusy, SchedulingPolicy, TimeOff, WeeklyHours

_MINUTE, _DAY = timedelta(minutes=1), timedelta(days=1)  # multiplied rather than made: a hot path


class ScheduleInvalid(ValueError):
    """Input for availability that cannot be used; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class BookingRules:
    """The numbers of a SchedulingPolicy, read as a plain row (the engine needs nothing else of it)."""

    notice_minutes: int
    horizon_days: int
    slot_step_minutes: int
    max_sessions_per_day: int | None


# The rules of a counselor who has saved none.
DEFAULT_POLICY = BookingRules(notice_minutes=24 * 60, horizon_days=60, slot_step_minutes=30, max_sessions_per_day=None)


@dataclass(frozen=True)
class CounselorSchedule:
    """Everything the engine needs for one counselor over one window, loaded from the database."""

    counselor_id: int
    hours: engine.WeeklyHours
    overrides: tuple[engine.DateOverride, ...]
    policy: SchedulingPolicy | BookingRules
    bookings: tuple[tuple[datetime, datetime, datetime], ...]  # start, end, blocked_until
    external_busy: tuple[engine.Interval, ...]
    time_off: tuple[engine.Interval, ...]

    def free_slots(self, service: Service, *, window: engine.Interval, now: datetime,
                   limit: int | None = None) -> list[engine.Interval]:
        """Free slots of `service` (an entity, or any row with its duration_minutes and buffer_minutes)."""
        return engine.free_slots(self.hours, **self._engine_arguments(service, window, now, limit))

    def free_slot_starts(self, service: Service, *, window: engine.Interval, now: datetime,
                         limit: int | None = None) -> list[int]:
        """The same slots as their starts in engine microseconds (see engine.free_slot_starts)."""
        return engine.free_slot_starts(self.hours, **self._engine_arguments(service, window, now, limit))

    def _engine_arguments(self, service: Service, window: engine.Interval, now: datetime,
                          limit: int | None) -> dict:
        buffer = _MINUTE * service.buffer_minutes
        # A booking keeps its own buffer after it (the database guard does the same); the engine adds this
        # service's buffer once. Widen each booking by whatever its own buffer exceeds this one's, so the
        # engine never offers a start the guard would refuse.
        bookings = [engine.Interval(start, end if blocked - end <= buffer else blocked - buffer)
                    for start, end, blocked in self.bookings]
        policy = self.policy
        return dict(
            window=window, now=now,
            duration=_MINUTE * service.duration_minutes,
            step=_MINUTE * policy.slot_step_minutes,
            bookings=bookings, external_busy=self.external_busy, time_off=self.time_off,
            overrides=self.overrides, buffer=buffer,
            notice=_MINUTE * policy.notice_minutes,
            horizon=_DAY * policy.horizon_days,
            max_per_day=policy.max_sessions_per_day, limit=limit,
        )


# --- statements, built once ------------------------------------------------------------------------------

_LO, _HI = bindparam("lo"), bindparam("hi")  # typed by the columns they are compared with


def _no(column):
    """A typed NULL: it gives the union's column its type (PostgreSQL resolves NULLs pairwise, SQLite keeps
    no types of its own)."""
    return cast(null(), column.type)


def _schedule(of_counselors):
    """Everything about the counselors' time over a window, in one round trip.

    Busy rows (between lo and hi): bookings with the end of their own buffer ('b'), imported events ('e'),
    time off ('t'). Rules: weekly hours ('w') and the overrides of the window's dates ('o'; one with no times
    is a day off). The first SELECT names and types the columns; each kind fills its own. exclude_booking is a
    booking whose time does not count (one being moved), or NO_BOOKING. `of_counselors(column)` is the
    condition on each table's counselor_id.
    """
    bookings = booked()
    Booking = bookings.model
    return union_all(
        select(Booking.counselor_id, literal_column("'b'").label("kind"),
               Booking.starts_at, Booking.ends_at, Booking.blocked_until,
               _no(WeeklyHours.weekday).label("weekday"), _no(DateOverride.day).label("day"),
               _no(WeeklyHours.start_time).label("start_time"), _no(WeeklyHours.end_time).label("end_time"))
        .where(of_counselors(Booking.counselor_id), bookings.holds_time(bindparam("now")),
               Booking.blocked_until > _LO, Booking.starts_at < _HI, Booking.id != bindparam("exclude_booking")),
        select(ExternalBusy.counselor_id, literal_column("'e'"), ExternalBusy.starts_at, ExternalBusy.ends_at,
               null(), null(), null(), null(), null())
        .where(of_counselors(ExternalBusy.counselor_id), ExternalBusy.ends_at > _LO, ExternalBusy.starts_at < _HI),
        select(TimeOff.counselor_id, literal_column("'t'"), TimeOff.starts_at, TimeOff.ends_at,
               null(), null(), null(), null(), null())
        .where(of_counselors(TimeOff.counselor_id), TimeOff.ends_at > _LO, TimeOff.starts_at < _HI),
        select(WeeklyHours.counselor_id, literal_column("'w'"), null(), null(), null(),
               WeeklyHours.weekday, null(), WeeklyHours.start_time, WeeklyHours.end_time)
        .where(of_counselors(WeeklyHours.counselor_id)),
        select(DateOverride.counselor_id, literal_column("'o'"), null(), null(), null(),
               null(), DateOverride.day, DateOverride.start_time, DateOverride.end_time)
        .where(of_counselors(DateOverride.counselor_id),
               DateOverride.day.between(bindparam("first_day"), bindparam("last_day"))),
    )


# `ids` (a list) is an expanding IN on SQLite and one array parameter on PostgreSQL, so that there the text
# never changes with the number of counselors and psycopg can prepare it.
_IDS = bindparam("ids", expanding=True)


@cache
def schedule_statement(dialect: str, *, one: bool = False):
    """The schedule of one counselor (`id`) or of many (`ids`), built on first use (bookings must be known:
    practice.scheduling.booked). One counselor's has its own statement: PostgreSQL keeps one generic plan for
    `= $1`, where for `= ANY($1)` it plans every execution afresh (about 0.15 ms of its CPU)."""
    if one:
        return _schedule(lambda column: column == bindparam("id", type_=Integer))
    if dialect == "postgresql":
        return _schedule(lambda column: column == any_(bindparam("ids", type_=ARRAY(Integer))))
    return _schedule(lambda column: column.in_(_IDS))

# The order of Counselor.services, with the id to break ties the same way every time.
_SERVICE_ORDER = (Service.is_trial.desc(), Service.format, Service.duration_minutes, Service.id)

# An active counselor by slug with its policy (NULLs when it has none) and active services, one row per service
# (one row with NULL service columns when it has none).
_COUNSELOR = (
    select(Counselor.id, Counselor.slug, Counselor.timezone, Counselor.accepts_individual, Counselor.accepts_couples,
           SchedulingPolicy.notice_minutes, SchedulingPolicy.horizon_days, SchedulingPolicy.slot_step_minutes,
           SchedulingPolicy.max_sessions_per_day,
           Service.id.label("service_id"), Service.slug.label("service_slug"), Service.format, Service.is_trial,
           Service.duration_minutes, Service.buffer_minutes)
    .outerjoin(SchedulingPolicy, SchedulingPolicy.counselor_id == Counselor.id)
    .outerjoin(Service, and_(Service.counselor_id == Counselor.id, Service.active))
    .where(Counselor.slug == bindparam("slug"), Counselor.active)
    .order_by(*_SERVICE_ORDER)
)

# The active trial services of a format of many counselors, each with its counselor's policy (NULLs for none).
_TRIAL_SERVICES = (
    select(Service, SchedulingPolicy.notice_minutes, SchedulingPolicy.horizon_days,
           SchedulingPolicy.slot_step_minutes, SchedulingPolicy.max_sessions_per_day)
    .outerjoin(SchedulingPolicy, SchedulingPolicy.counselor_id == Service.counselor_id)
    .where(Service.counselor_id.in_(_IDS), Service.active, Service.is_trial, Service.format == bindparam("format"))
    .order_by(*_SERVICE_ORDER)
)


def load_schedules(counselors, *, window: engine.Interval, now: datetime,
                   policies: dict[int, SchedulingPolicy | BookingRules],
                   exclude_booking: uuid.UUID | None = None, connection=None) -> dict[int, CounselorSchedule]:
    """Schedules for many counselors in one query, for the slots of one and for "first available".

    `counselors` are entities or rows: only their `id` and `timezone` are read. The time of `exclude_booking`
    (a booking being moved) is left free. Read on `connection` if given, else on the session's.
    """
    zones = {c.id: c.timezone for c in counselors}
    ids = list(zones)
    if not ids:
        return {}
    # Local dates the window touches in any zone: a day either side covers every offset.
    first_day, last_day = (window.start - timedelta(days=1)).date(), (window.end + timedelta(days=1)).date()

    # Busy rows that can matter: anything ending after the window starts less the longest buffer, and
    # starting before the window ends plus a day (max-per-day counts a whole local day).
    params = {"ids": ids, "id": ids[0], "now": now, "lo": window.start - timedelta(days=1),
              "hi": window.end + timedelta(days=1), "first_day": first_day, "last_day": last_day,
              "exclude_booking": exclude_booking or NO_BOOKING}
    reader = connection or db.session  # the session flushes its pending changes first, so they are seen
    statement = schedule_statement((connection or db.session.get_bind()).dialect.name, one=len(ids) == 1)
    bookings, external, time_off = defaultdict(list), defaultdict(list), defaultdict(list)
    weekly: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    override_ranges: dict[int, dict[date, list]] = defaultdict(lambda: defaultdict(list))
    rows = reader.execute(statement, params).all()
    for counselor_id, kind, start, end, blocked, weekday, day, start_time, end_time in rows:
        if kind == "b":
            bookings[counselor_id].append((start, end, blocked))
        elif kind == "e":
            external[counselor_id].append(engine.Interval(start, end))
        elif kind == "t":
            time_off[counselor_id].append(engine.Interval(start, end))
        elif kind == "w":
            weekly[counselor_id][weekday].append((start_time, end_time))
        else:
            ranges = override_ranges[counselor_id][day]
            if start_time is not None:
                ranges.append((start_time, end_time))

    return {
        cid: CounselorSchedule(
            counselor_id=cid,
            hours=_weekly_hours(zones[cid], tuple(tuple(weekly[cid][weekday]) for weekday in range(7))),
            overrides=tuple(engine.DateOverride(date=d, ranges=tuple(r)) for d, r in override_ranges[cid].items()),
            policy=policies.get(cid, DEFAULT_POLICY),
            bookings=tuple(bookings[cid]),
            external_busy=tuple(external[cid]),
            time_off=tuple(time_off[cid]),
        )
        for cid in ids
    }


@lru_cache(maxsize=1024)
def _weekly_hours(zone: str, days: tuple[tuple[engine.TimeRange, ...], ...]) -> engine.WeeklyHours:
    """WeeklyHours checks its ranges when made; being immutable, one made from the same rows can be shared."""
    return engine.WeeklyHours(zone=zone, days=days)


# --- the use cases ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotsResult:
    """Free slots of one counselor's service in the viewer's zone.

    `starts` are the engine's own answer (microseconds since the epoch, UTC; each slot lasts `duration`): the
    JSON endpoint formats them directly. `slots` (as Intervals), `counselor` and `service` (the entities) are
    made on first use, so the endpoint never pays for them.
    """

    counselor_id: int
    counselor_slug: str
    service_id: int
    service_slug: str
    duration: timedelta
    timezone: str
    starts: list[int]

    @cached_property
    def slots(self) -> list[engine.Interval]:
        return [engine.Interval(start, start + self.duration) for start in map(engine.from_micros, self.starts)]

    @cached_property
    def counselor(self) -> Counselor:
        return db.session.get(Counselor, self.counselor_id)

    @cached_property
    def service(self) -> Service:
        return db.session.get(Service, self.service_id)


def parse_zone(name: str | None, field: str = "tz") -> str:
    try:
        ZoneInfo(name or "")
    except (ValueError, KeyError, OSError, engine.InvalidSchedule) as exc:  # not found: KeyError; too long a name: OSError
        raise ScheduleInvalid({field: [f"Unknown time zone {name!r}. Use an IANA name such as America/New_York."]}) \
            from exc
    return name


MAX_RANGE_DAYS = 92


def slots_for(counselor_slug: str, service_slug: str | None, *, start_day: date, end_day: date, zone: str,
              now: datetime, exclude_booking: uuid.UUID | None = None, connection=None) -> SlotsResult | None:
    """Free slots of one counselor's service between two dates of the viewer's zone (inclusive).

    The time of `exclude_booking` (a booking being moved) counts as free. Read on `connection` if given (a
    read-only one: practice.database.read_only_connection), else on the session's.
    """
    errors: dict[str, list[str]] = {}
    if end_day < start_day:
        errors["to"] = ["The end date is before the start date."]
    elif (end_day - start_day).days + 1 > MAX_RANGE_DAYS:
        errors["to"] = [f"Ask for at most {MAX_RANGE_DAYS} days at a time."]
    if errors:
        raise ScheduleInvalid(errors)
    rows = (connection or db.session).execute(_COUNSELOR, {"slug": counselor_slug}).all()
    if not rows:
        return None
    counselor = rows[0]
    # Counselor.active_services: active (the query's join) and of a format the counselor accepts.
    formats = {f for f, ok in (("individual", counselor.accepts_individual), ("couple", counselor.accepts_couples))
               if ok}
    services = {row.service_slug: row for row in rows if row.service_id is not None and row.format in formats}
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
    window = _local_days(start_day, end_day, ZoneInfo(zone))
    policies = {}
    if counselor.notice_minutes is not None:  # NULL: no policy row (the columns are NOT NULL otherwise)
        policies[counselor.id] = BookingRules(counselor.notice_minutes, counselor.horizon_days,
                                              counselor.slot_step_minutes, counselor.max_sessions_per_day)
    schedule = load_schedules([counselor], window=window, now=now, policies=policies,
                              exclude_booking=exclude_booking, connection=connection)[counselor.id]
    return SlotsResult(counselor_id=counselor.id, counselor_slug=counselor.slug, service_id=service.service_id,
                       service_slug=service.service_slug, duration=timedelta(minutes=service.duration_minutes),
                       timezone=zone, starts=schedule.free_slot_starts(service, window=window, now=now))


def _local_days(start_day: date, end_day: date, tz: ZoneInfo) -> engine.Interval:
    """From the start of `start_day` to the end of `end_day` in zone `tz`."""
    return engine.Interval(datetime.combine(start_day, time(0), tzinfo=tz).astimezone(timezone.utc),
                           datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc))


def is_free(counselor: Counselor, service: Service, start: datetime, *, now: datetime,
            policy: SchedulingPolicy | BookingRules | None, exclude_booking: uuid.UUID | None = None) -> bool:
    """Whether `start` is one of the slots slots_for offers right now for the counselor's local day of it.

    For a booking about to be written, from the counselor, service and policy (None: the defaults) it has
    already loaded: one query. As slots_for, nothing is free with a counselor who is no longer active or a
    service they no longer offer (inactive, or of a format they stopped accepting).
    """
    if not (counselor.active and service.active and service.format in counselor.formats):
        return False
    day = start.astimezone(ZoneInfo(counselor.timezone)).date()
    window = _local_days(day, day, ZoneInfo(counselor.timezone))
    schedule = load_schedules([counselor], window=window, now=now,
                              policies={counselor.id: policy} if policy is not None else {},
                              exclude_booking=exclude_booking)[counselor.id]
    return engine.to_micros(start) in schedule.free_slot_starts(service, window=window, now=now)


def next_available(counselors: list[Counselor], *, format: str, now: datetime,
                   days: int = 60) -> list[tuple[Counselor, Service, engine.Interval]]:
    """The earliest free trial slot of each counselor (of that format) who has one, earliest first.

    Looks a few days ahead first and widens only for counselors still without a slot, so the usual case
    reads a few days of busy rows rather than two months of them.
    """
    ids = [c.id for c in counselors]
    if not ids:
        return []
    # Every counselor's trial services and policy in one query: c.active_services would load the services one
    # counselor at a time.
    trials: dict[int, list[Service]] = defaultdict(list)
    policies: dict[int, BookingRules] = {}
    for service, *rules in db.session.execute(_TRIAL_SERVICES, {"ids": ids, "format": format}):
        trials[service.counselor_id].append(service)
        if rules[0] is not None:
            policies[service.counselor_id] = BookingRules(*rules)
    candidates = [(c, s) for c in counselors if format in c.formats for s in trials[c.id]]
    if not candidates:
        return []
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
