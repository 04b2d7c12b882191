"""Free slots over the JSON API: GET /api/v1/counselors/{slug}/slots."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import bindparam, select

from practice import clock
from practice.access import public
from practice.core import slots as engine
from practice.counselors.models import Counselor
from practice.database import read_only_connection
from practice.scheduling import service
from practice.scheduling.service import ScheduleInvalid

bp = Blueprint("scheduling_api", __name__, url_prefix="/api/v1")

DEFAULT_DAYS = 14
# The longest IANA name is 32 characters. Past a file name's length ZoneInfo raises OSError rather than saying
# the zone is unknown, so a longer `tz` is refused before it is looked up (as booking.display.valid_zone does).
MAX_ZONE_LENGTH = 64
# Dates further than this from today hold no slot (no counselor books that far ahead), and near year 1 or 9999
# the window's days cannot be turned into instants at all: such dates are refused rather than overflowing.
MAX_DAYS_AWAY = 3660
_COUNSELOR_ZONE = select(Counselor.timezone).where(Counselor.slug == bindparam("slug"), Counselor.active)


@bp.get("/counselors/<slug>/slots")
@public
def counselor_slots(slug: str):
    """Free slots of a counselor's service, in the viewer's time zone.
    ---
    get:
      operationId: listSlots
      tags: [Scheduling]
      summary: Free slots of one counselor
      description: >
        Start and end times that can be booked right now, for one service, between two dates of the viewer's
        time zone (inclusive; at most 92 days). Without `tz`, the counselor's own zone is used; without `from`,
        today in that zone; without `to`, two weeks from `from`. Without `service`, the counselor's first trial
        service.
      parameters:
        - {in: path, name: slug, required: true, schema: {type: string}}
        - {in: query, name: service, schema: {type: string, minLength: 1}, description: service slug}
        - {in: query, name: from, schema: {type: string, format: date}, description: within ten years of today}
        - {in: query, name: to, schema: {type: string, format: date}, description: within ten years of today}
        - in: query
          name: tz
          schema: {type: string, minLength: 1, maxLength: 64, example: America/Chicago}
          description: IANA time zone
      responses:
        200:
          description: the free slots
          content:
            application/json:
              schema: SlotList
          links:
            book:
              operationId: createBooking
              description: Book the first free start.
              requestBody:
                counselor: $request.path.slug
                service: '$response.body#/service'
                start: '$response.body#/slots/0/start'
                timezone: '$response.body#/timezone'
        404:
          description: 'No active counselor with that slug: `{"error": "not_found"}`.'
          content:
            application/json:
              schema: Error
        422:
          description: invalid parameters, with a message per field
          content:
            application/json:
              schema: ValidationError
    """
    now = clock.now()
    zone = request.args.get("tz")
    with read_only_connection() as connection:
        if zone is None:
            zone = connection.execute(_COUNSELOR_ZONE, {"slug": slug}).scalar()
            if zone is None:
                return jsonify(error="not_found"), 404
        try:
            if len(zone) > MAX_ZONE_LENGTH:
                raise ScheduleInvalid({"tz": ["Unknown time zone. Use an IANA name such as America/New_York."]})
            zone = service.parse_zone(zone)
            today = now.astimezone(ZoneInfo(zone)).date()
            start_day = _date_arg("from", today, today=today)
            end_day = _date_arg("to", start_day + timedelta(days=DEFAULT_DAYS - 1), today=today)
            result = service.slots_for(slug, request.args.get("service"), start_day=start_day, end_day=end_day,
                                       zone=zone, now=now, connection=connection)
        except ScheduleInvalid as exc:
            return jsonify(errors=exc.errors), 422
    if result is None:
        return jsonify(error="not_found"), 404
    about = current_app.json.dumps(
        {"timezone": result.timezone, "counselor": result.counselor_slug, "service": result.service_slug,
         "duration_minutes": result.duration // timedelta(minutes=1)},
        separators=(",", ":"),
    )
    # The slot list is nearly all of the body, so it is written directly (see slots_json) and spliced in front
    # of the rest: the same JSON jsonify() would make (keys in another order), in a fraction of the time.
    slots = slots_json(result.starts, result.duration // _MICROSECOND, ZoneInfo(result.timezone))
    return current_app.response_class(f'{{"slots":{slots},{about[1:]}\n', mimetype="application/json")


def _date_arg(name: str, default: date, *, today: date) -> date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ScheduleInvalid({name: [f"Use a date like 2026-03-08, not {raw!r}."]}) from None
    if abs((day - today).days) > MAX_DAYS_AWAY:
        raise ScheduleInvalid({name: ["Ask for dates within ten years of today."]})
    return day


# --- slots as JSON ---------------------------------------------------------------------------------------

_MICROSECOND = timedelta(microseconds=1)
_DAY = 86_400_000_000  # in microseconds, the engine's unit
_MINUTE = 60_000_000
_CLOCK = [f"{hour:02}:{minute:02}:00" for hour in range(24) for minute in range(60)]  # each whole minute of a day
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def slots_json(starts: list[int], duration: int, zone: ZoneInfo) -> str:
    """The JSON array ``[{"start": ..., "end": ...}]`` of slots given as engine instants and a duration.

    Each time reads ``instant.astimezone(zone).isoformat()``. A month of slots is a thousand such strings, and
    astimezone(), isoformat() and json.dumps() for each were a quarter of the endpoint's time. Instead, for each
    UTC day the slots fall on, the zone's offset is found once (a zone changes offset at most once in ~26 hours,
    as the engine assumes, so the same offset at both ends of the day holds all day), and a string is the date
    plus the wall clock's minute. ISO-8601 strings hold nothing JSON escapes, so they are written as they are.
    A day with a change, or a time off the whole minute, takes the exact way.
    """
    items = []
    append = items.append
    minutes, part_minute = divmod(duration, _MINUTE)
    day_start = day_end = 0  # the UTC day [day_start, day_end) of the last slot
    steady: _SteadyDay | None = None
    for start in starts:
        if not day_start <= start < day_end:
            day_start = start - start % _DAY
            day_end = day_start + _DAY
            steady = _steady_day(day_start, zone)
            if steady is not None:
                midnight, dates, offset = steady
        end = start + duration
        if steady is not None and end <= day_end and not part_minute:
            since = start - midnight
            if not since % _MINUTE:
                since //= _MINUTE  # minutes since local midnight, at most two days
                until = since + minutes
                append(f'{{"start":"{dates[since // 1440]}{_CLOCK[since % 1440]}{offset}",'
                       f'"end":"{dates[until // 1440]}{_CLOCK[until % 1440]}{offset}"}}')
                continue
        append(f'{{"start":"{_exact(start, zone)}","end":"{_exact(end, zone)}"}}')
    return f"[{','.join(items)}]"


class _SteadyDay(NamedTuple):
    midnight: int  # the instant of local midnight at the start of the UTC day's first local date
    dates: tuple[str, str, str]  # "YYYY-MM-DDT" of that local date and the two after it
    offset: str  # "+HH:MM" as isoformat() writes it


@lru_cache(maxsize=4096)  # a pure function of its arguments, asked again by every request for those days
def _steady_day(day_start: int, zone: ZoneInfo) -> _SteadyDay | None:
    """What every instant of the UTC day ``[day_start, day_start + 1 day]`` shares, or None if the offset changes."""
    first, last = (engine.from_micros(day_start).astimezone(zone),
                   engine.from_micros(day_start + _DAY).astimezone(zone))
    offset = first.utcoffset()
    if offset != last.utcoffset():
        return None
    local_day = (day_start + offset // _MICROSECOND) // _DAY  # days since the epoch, by the local calendar
    return _SteadyDay(
        midnight=local_day * _DAY - offset // _MICROSECOND,
        dates=tuple(date.fromordinal(local_day + n + _EPOCH_ORDINAL).isoformat() + "T" for n in range(3)),
        offset=first.isoformat()[19:],  # what follows YYYY-MM-DDTHH:MM:SS
    )


def _exact(instant: int, zone: ZoneInfo) -> str:
    return engine.from_micros(instant).astimezone(zone).isoformat()
