"""Free slots over the JSON API: GET /api/v1/counselors/{slug}/slots."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from practice import clock
from practice.auth.access import public
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling import service
from practice.scheduling.service import ScheduleInvalid

bp = Blueprint("scheduling_api", __name__, url_prefix="/api/v1")

DEFAULT_DAYS = 14


@bp.get("/counselors/<slug>/slots")
@public
def counselor_slots(slug: str):
    """Free slots of a counselor's service, in the viewer's time zone.
    ---
    get:
      summary: Free slots of one counselor
      description: >
        Start and end times that can be booked right now, for one service, between two dates of the viewer's
        time zone (inclusive; at most 92 days). Without `tz`, the counselor's own zone is used; without `from`,
        today in that zone; without `to`, two weeks from `from`. Without `service`, the counselor's first trial
        service.
      parameters:
        - {in: path, name: slug, required: true, schema: {type: string}}
        - {in: query, name: service, schema: {type: string}, description: service slug}
        - {in: query, name: from, schema: {type: string, format: date}}
        - {in: query, name: to, schema: {type: string, format: date}}
        - {in: query, name: tz, schema: {type: string, example: America/Chicago}, description: IANA time zone}
      responses:
        200:
          description: the free slots
          content:
            application/json:
              schema: SlotList
        404: {description: no active counselor with that slug}
        422:
          description: invalid parameters, with a message per field
          content:
            application/json:
              schema: ValidationErrors
    """
    now = clock.now()
    zone = request.args.get("tz")
    if zone is None:
        zone = db.session.scalar(select(Counselor.timezone).where(Counselor.slug == slug, Counselor.active))
        if zone is None:
            return jsonify(error="not_found"), 404
    try:
        zone = service.parse_zone(zone)
        today = now.astimezone(ZoneInfo(zone)).date()
        start_day = _date_arg("from", today)
        end_day = _date_arg("to", start_day + timedelta(days=DEFAULT_DAYS - 1))
        result = service.slots_for(slug, request.args.get("service"), start_day=start_day, end_day=end_day,
                                   zone=zone, now=now)
    except ScheduleInvalid as exc:
        return jsonify(errors=exc.errors), 422
    if result is None:
        return jsonify(error="not_found"), 404
    tz = ZoneInfo(result.timezone)
    return jsonify(
        timezone=result.timezone,
        counselor=result.counselor.slug,
        service=result.service.slug,
        duration_minutes=result.service.duration_minutes,
        slots=[{"start": s.start.astimezone(tz).isoformat(), "end": s.end.astimezone(tz).isoformat()}
               for s in result.slots],
    )


def _date_arg(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ScheduleInvalid({name: [f"Use a date like 2026-03-08, not {raw!r}."]}) from None
