"""Changing a counselor's availability: weekly hours, date overrides, time off, booking rules, calendar feeds.

Each use case checks its input, raises ScheduleInvalid(errors by field) for anything that breaks a rule, writes
an audit event and commits. Times arrive as the counselor's own wall-clock times; only time off is stored as UTC
instants, converted here with the counselor's zone by the same DST rules the slot engine uses.

Edits of one counselor's schedule are serialized on the counselor's row (see _lock_schedule): the replace-style
writes below (delete then insert) would otherwise leave duplicate, overlapping rows after a double submit, and
the slot engine refuses overlapping ranges.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from practice.audit import service as audit
from practice.core import slots as engine
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling import feeds
from practice.scheduling.fetch import FetchError, normalize_feed_url
from practice.scheduling.models import (CalendarFeed, DateOverride, ExternalBusy, SchedulingPolicy, TimeOff,
                                        WeeklyHours)
from practice.scheduling.service import DEFAULT_POLICY, ScheduleInvalid

TimeRange = tuple[time, time]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_RANGES_PER_DAY = 6
OVERRIDE_MAX_DAYS_AHEAD = 2 * 366  # a typo'd year should be refused, not stored
TIME_OFF_MAX_DAYS = 366
NOTE_MAX = 200
FEED_LABEL_MAX = 80
MAX_FEEDS = 5

# The database's own limits (SchedulingPolicy's check constraints), restated as messages people can act on.
NOTICE_RANGE = (0, 14 * 24 * 60)
HORIZON_RANGE = (1, 365)
STEP_CHOICES = (5, 10, 15, 20, 30, 60)
MAX_PER_DAY_RANGE = (1, 24)


# --- weekly hours ---------------------------------------------------------------------------------------

def set_weekly_hours(counselor: Counselor, ranges_by_weekday: Mapping[int, Sequence[TimeRange]], *,
                     actor) -> bool:
    """Replace the counselor's weekly hours (weekday 0 Monday .. 6 Sunday; missing days are days off).

    Returns False, writing nothing, when the hours were already exactly these.
    """
    errors: dict[str, list[str]] = {}
    wanted: dict[int, list[TimeRange]] = {}
    for weekday, ranges in ranges_by_weekday.items():
        if weekday not in range(7):
            raise ValueError(f"weekday must be 0..6, got {weekday!r}")
        checked, problems = check_ranges(ranges, what=WEEKDAYS[weekday].title())
        if problems:
            errors[WEEKDAYS[weekday]] = problems
        wanted[weekday] = checked
    if errors:
        raise ScheduleInvalid(errors)

    _lock_schedule(counselor)
    current = weekly_hours_of(counselor)
    if all(current.get(w, []) == wanted.get(w, []) for w in range(7)):
        db.session.rollback()  # ends the transaction that holds the lock
        return False
    db.session.execute(delete(WeeklyHours).where(WeeklyHours.counselor_id == counselor.id))
    db.session.add_all(WeeklyHours(counselor_id=counselor.id, weekday=w, start_time=start, end_time=end)
                       for w, ranges in sorted(wanted.items()) for start, end in ranges)
    audit.record("availability.weekly_hours", record_type="counselor", record_id=counselor.id, actor=actor,
                 detail={"hours": {WEEKDAYS[w][:3]: _audit_ranges(r) for w, r in sorted(wanted.items()) if r}})
    db.session.commit()
    return True


def weekly_hours_of(counselor: Counselor) -> dict[int, list[TimeRange]]:
    """The counselor's weekly hours by weekday, each day's ranges sorted by start."""
    hours: dict[int, list[TimeRange]] = {}
    for row in db.session.scalars(select(WeeklyHours).where(WeeklyHours.counselor_id == counselor.id)
                                  .order_by(WeeklyHours.weekday, WeeklyHours.start_time)):
        hours.setdefault(row.weekday, []).append((row.start_time, row.end_time))
    return hours


def check_ranges(ranges: Sequence[TimeRange], *, what: str) -> tuple[list[TimeRange], list[str]]:
    """Ranges of one day, sorted and to the minute, and what is wrong with them (nothing: an empty list)."""
    problems: list[str] = []
    # Seconds are dropped: every range on the pages is to the minute, so two equal-looking ranges compare equal.
    cleaned = sorted((start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0))
                     for start, end in ranges)
    if len(cleaned) > MAX_RANGES_PER_DAY:
        problems.append(f"{what}: use at most {MAX_RANGES_PER_DAY} ranges a day.")
    for start, end in cleaned:
        if not start < end:
            problems.append(f"{what}: {_range_text((start, end))} ends before it starts. A range has to end on "
                            f"the same day, by 11:59 PM.")
    ordered = [r for r in cleaned if r[0] < r[1]]
    for earlier, later in zip(ordered, ordered[1:]):
        if later[0] < earlier[1]:  # touching (12:00-13:00 and 13:00-17:00) is fine
            problems.append(f"{what}: {_range_text(earlier)} and {_range_text(later)} overlap. Join them into one "
                            f"range or change one of them.")
    return cleaned, problems


# --- date overrides -------------------------------------------------------------------------------------

def add_override(counselor: Counselor, day: date, ranges: Sequence[TimeRange] | None, *, actor,
                 now: datetime) -> bool:
    """Set the hours of one local date, replacing that weekday's hours; None means not available that day.

    An override for a date that already has one replaces it. Returns True when one was replaced.
    """
    errors: dict[str, list[str]] = {}
    today = local_today(counselor, now)
    if day < today:
        errors["day"] = ["Choose today or a later date."]
    elif day > today + timedelta(days=OVERRIDE_MAX_DAYS_AHEAD):
        errors["day"] = ["Choose a date within the next two years."]
    checked: list[TimeRange] = []
    if ranges is not None:
        if not ranges:
            errors["ranges"] = ["Enter the hours you'll work that day, or mark the day as not available."]
        checked, problems = check_ranges(ranges, what="That day")
        if problems:
            errors["ranges"] = problems
    if errors:
        raise ScheduleInvalid(errors)

    _lock_schedule(counselor)
    replaced = db.session.execute(
        delete(DateOverride).where(DateOverride.counselor_id == counselor.id, DateOverride.day == day)
    ).rowcount > 0
    if ranges is None:
        db.session.add(DateOverride(counselor_id=counselor.id, day=day, start_time=None, end_time=None))
    else:
        db.session.add_all(DateOverride(counselor_id=counselor.id, day=day, start_time=start, end_time=end)
                           for start, end in checked)
    audit.record("availability.override_set", record_type="counselor", record_id=counselor.id, actor=actor,
                 detail={"day": day.isoformat(), "hours": None if ranges is None else _audit_ranges(checked),
                         "replaced": replaced})
    db.session.commit()
    return replaced


def remove_override(counselor: Counselor, day: date, *, actor) -> bool:
    """Go back to the weekly hours on that date. False when there was no override to remove."""
    _lock_schedule(counselor)
    removed = db.session.execute(
        delete(DateOverride).where(DateOverride.counselor_id == counselor.id, DateOverride.day == day)
    ).rowcount
    if not removed:
        db.session.rollback()
        return False
    audit.record("availability.override_remove", record_type="counselor", record_id=counselor.id, actor=actor,
                 detail={"day": day.isoformat()})
    db.session.commit()
    return True


def overrides_from(counselor: Counselor, first_day: date, last_day: date | None = None
                   ) -> dict[date, list[TimeRange]]:
    """Overrides from a date on (to another, inclusive), by date; an empty list means not available that day."""
    query = select(DateOverride).where(DateOverride.counselor_id == counselor.id, DateOverride.day >= first_day)
    if last_day is not None:
        query = query.where(DateOverride.day <= last_day)
    found: dict[date, list[TimeRange]] = {}
    for row in db.session.scalars(query.order_by(DateOverride.day, DateOverride.start_time)):
        ranges = found.setdefault(row.day, [])
        if row.start_time is not None:
            ranges.append((row.start_time, row.end_time))
    return found


# --- time off -------------------------------------------------------------------------------------------

def add_time_off(counselor: Counselor, start_local: datetime, end_local: datetime, note: str = "", *, actor,
                 now: datetime) -> TimeOff:
    """Time off between two wall-clock readings in the counselor's zone (naive datetimes), stored in UTC."""
    if start_local.tzinfo is not None or end_local.tzinfo is not None:
        raise ValueError("time off is given as the counselor's wall-clock times (naive datetimes)")
    errors: dict[str, list[str]] = {}
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [f"Keep the note to {NOTE_MAX} characters."]
    if start_local.date() < local_today(counselor, now):
        errors["start"] = ["Choose a start from today on."]
    zone = counselor.timezone
    starts_at = local_instant(zone, start_local, boundary="start")
    ends_at = local_instant(zone, end_local, boundary="end")
    if not starts_at < ends_at:
        errors["end"] = ["The end has to be after the start."]
    elif ends_at - starts_at > timedelta(days=TIME_OFF_MAX_DAYS):
        errors["end"] = ["Add time off for at most a year at a time."]
    if errors:
        raise ScheduleInvalid(errors)

    _lock_schedule(counselor)
    time_off = TimeOff(counselor_id=counselor.id, starts_at=starts_at, ends_at=ends_at, note=note)
    db.session.add(time_off)
    db.session.flush()
    # The note is private to staff and may say why (an illness, say): it stays out of the audit log.
    audit.record("availability.time_off_add", record_type="time_off", record_id=time_off.id, actor=actor,
                 detail={"counselor_id": counselor.id, "starts_at": starts_at.isoformat(),
                         "ends_at": ends_at.isoformat()})
    db.session.commit()
    return time_off


def remove_time_off(counselor: Counselor, time_off_id: int, *, actor) -> TimeOff | None:
    """Remove one of the counselor's time off entries; None when it isn't theirs or doesn't exist."""
    time_off = db.session.scalar(select(TimeOff).where(TimeOff.id == time_off_id,
                                                       TimeOff.counselor_id == counselor.id))
    if time_off is None:
        return None
    db.session.delete(time_off)
    audit.record("availability.time_off_remove", record_type="time_off", record_id=time_off_id, actor=actor,
                 detail={"counselor_id": counselor.id, "starts_at": time_off.starts_at.isoformat(),
                         "ends_at": time_off.ends_at.isoformat()})
    db.session.commit()
    return time_off


def upcoming_time_off(counselor: Counselor, *, now: datetime) -> list[TimeOff]:
    return list(db.session.scalars(select(TimeOff).where(TimeOff.counselor_id == counselor.id,
                                                         TimeOff.ends_at > now).order_by(TimeOff.starts_at)))


def local_instant(zone: str | ZoneInfo, wall: datetime, *, boundary: str) -> datetime:
    """The UTC instant a wall-clock reading in `zone` names, read as the `boundary` ("start" or "end") of a range.

    Uses the slot engine's reading of wall-clock ranges, so time off and working hours agree on DST days: a
    reading that doesn't exist (spring forward) moves to the first instant after the gap; a repeated one (fall
    back) is its first occurrence as a start and its second as an end, so the range covers the whole repeated hour.
    """
    day, clock = wall.date(), wall.time().replace(second=0, microsecond=0)
    if clock == time(0):
        return engine.local_day_bounds(zone, day).start
    if boundary == "start":
        pieces = engine.local_range_to_utc(zone, day, clock, time.max)
        return pieces[0].start if pieces else engine.local_day_bounds(zone, day).end
    if boundary == "end":
        pieces = engine.local_range_to_utc(zone, day, time(0), clock)
        return pieces[-1].end if pieces else engine.local_day_bounds(zone, day).start
    raise ValueError(f"boundary must be 'start' or 'end', got {boundary!r}")


# --- booking rules --------------------------------------------------------------------------------------

def policy_of(counselor: Counselor) -> SchedulingPolicy:
    """The counselor's booking rules, or the defaults when they have never saved any (not added to the session)."""
    policy = db.session.get(SchedulingPolicy, counselor.id)
    if policy is not None:
        return policy
    return SchedulingPolicy(counselor_id=counselor.id, notice_minutes=DEFAULT_POLICY.notice_minutes,
                            horizon_days=DEFAULT_POLICY.horizon_days,
                            slot_step_minutes=DEFAULT_POLICY.slot_step_minutes,
                            max_sessions_per_day=DEFAULT_POLICY.max_sessions_per_day)


def update_policy(counselor: Counselor, *, notice_minutes: int, horizon_days: int, slot_step_minutes: int,
                  max_sessions_per_day: int | None, actor) -> bool:
    """Save the counselor's booking rules (the row is made on first save). False when nothing changed."""
    errors: dict[str, list[str]] = {}
    if not NOTICE_RANGE[0] <= notice_minutes <= NOTICE_RANGE[1]:
        errors["notice"] = ["Choose a notice from none to 14 days."]
    if not HORIZON_RANGE[0] <= horizon_days <= HORIZON_RANGE[1]:
        errors["horizon_days"] = [f"Choose from {HORIZON_RANGE[0]} to {HORIZON_RANGE[1]} days."]
    elif "notice" not in errors and notice_minutes >= horizon_days * 24 * 60:
        # Every start would be both too soon and too far ahead: nobody could ever book.
        errors["horizon_days"] = ["Let clients book further ahead than the notice you need, or nobody can book."]
    if slot_step_minutes not in STEP_CHOICES:
        errors["slot_step_minutes"] = [f"Choose one of {', '.join(map(str, STEP_CHOICES))} minutes."]
    if max_sessions_per_day is not None and not MAX_PER_DAY_RANGE[0] <= max_sessions_per_day <= MAX_PER_DAY_RANGE[1]:
        errors["max_sessions_per_day"] = [f"Choose from {MAX_PER_DAY_RANGE[0]} to {MAX_PER_DAY_RANGE[1]}, or leave "
                                          f"it empty for no limit."]
    if errors:
        raise ScheduleInvalid(errors)

    _lock_schedule(counselor)
    wanted = {"notice_minutes": notice_minutes, "horizon_days": horizon_days,
              "slot_step_minutes": slot_step_minutes, "max_sessions_per_day": max_sessions_per_day}
    policy = db.session.get(SchedulingPolicy, counselor.id)
    if policy is None:  # first save: the row is made now, even when the values equal the defaults
        policy = SchedulingPolicy(counselor_id=counselor.id)
        db.session.add(policy)
        changed = wanted
    else:
        changed = {name: value for name, value in wanted.items() if getattr(policy, name) != value}
        if not changed:
            db.session.rollback()
            return False
    for name, value in wanted.items():
        setattr(policy, name, value)
    audit.record("availability.policy", record_type="counselor", record_id=counselor.id, actor=actor,
                 detail=changed)
    db.session.commit()
    return True


# --- calendar feeds -------------------------------------------------------------------------------------

def feeds_of(counselor: Counselor) -> list[CalendarFeed]:
    return list(db.session.scalars(select(CalendarFeed).where(CalendarFeed.counselor_id == counselor.id)
                                   .order_by(CalendarFeed.created_at, CalendarFeed.id)))


def add_feed(counselor: Counselor, url: str, label: str, *, actor) -> CalendarFeed:
    """Connect a calendar by its private address. The worker fetches it on its next round."""
    errors: dict[str, list[str]] = {}
    label = (label or "").strip() or "My calendar"
    if len(label) > FEED_LABEL_MAX:
        errors["label"] = [f"Keep the name to {FEED_LABEL_MAX} characters."]
    try:
        url = normalize_feed_url(url or "")
    except FetchError as exc:
        errors["url"] = [str(exc)]
    existing = feeds_of(counselor)
    if "url" not in errors and any(feed.url == url for feed in existing):  # encrypted: compared here, not in SQL
        errors["url"] = ["This calendar is already connected."]
    elif len(existing) >= MAX_FEEDS:
        errors["url"] = [f"Connect at most {MAX_FEEDS} calendars. Remove one you no longer use first."]
    if errors:
        raise ScheduleInvalid(errors)

    feed = CalendarFeed(counselor_id=counselor.id, label=label, url=url, active=True)
    db.session.add(feed)
    db.session.flush()
    # The address is a secret that lets anyone read the calendar: never in the audit log.
    audit.record("availability.feed_add", record_type="calendar_feed", record_id=feed.id, actor=actor,
                 detail={"counselor_id": counselor.id, "label": label})
    db.session.commit()
    return feed


def remove_feed(counselor: Counselor, feed_id: int, *, actor) -> CalendarFeed | None:
    """Disconnect a calendar and forget its busy times; None when it isn't the counselor's."""
    feed = _feed_of(counselor, feed_id)
    if feed is None:
        return None
    # SQLite runs without foreign-key enforcement, so ON DELETE CASCADE can't be relied on to drop these.
    db.session.execute(delete(ExternalBusy).where(ExternalBusy.feed_id == feed.id))
    db.session.delete(feed)
    audit.record("availability.feed_remove", record_type="calendar_feed", record_id=feed_id, actor=actor,
                 detail={"counselor_id": counselor.id, "label": feed.label})
    db.session.commit()
    return feed


def refresh_feed_now(counselor: Counselor, feed_id: int, *, actor, now: datetime) -> CalendarFeed | None:
    """Ask the worker to fetch this calendar on its next round; None when it isn't the counselor's."""
    feed = _feed_of(counselor, feed_id)
    if feed is None:
        return None
    audit.record("availability.feed_refresh", record_type="calendar_feed", record_id=feed_id, actor=actor,
                 detail={"counselor_id": counselor.id})
    feeds.request_refresh(feed, now=now)  # commits, with the audit event
    return feed


def _feed_of(counselor: Counselor, feed_id: int) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.id == feed_id,
                                                        CalendarFeed.counselor_id == counselor.id))


# --- shared ---------------------------------------------------------------------------------------------

def local_today(counselor: Counselor, now: datetime) -> date:
    """Today's date where the counselor is: "not in the past" means their past, not the server's."""
    return now.astimezone(ZoneInfo(counselor.timezone)).date()


def _lock_schedule(counselor: Counselor) -> None:
    """Serialize edits of one counselor's schedule: a row lock on PostgreSQL; SQLite's writes are serial already."""
    db.session.execute(select(Counselor.id).where(Counselor.id == counselor.id).with_for_update())


def time_text(moment: time | datetime) -> str:
    """9:00 AM: how every availability page and message writes a wall-clock time."""
    return moment.strftime("%I:%M %p").lstrip("0")


def _range_text(r: TimeRange) -> str:
    return f"{time_text(r[0])} to {time_text(r[1])}"


def _audit_ranges(ranges: Sequence[TimeRange]) -> list[str]:
    return [f"{start:%H:%M}-{end:%H:%M}" for start, end in ranges]
