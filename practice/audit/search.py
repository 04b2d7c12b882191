"""Reading the audit log for admins: the filters of /staff/audit, the query they make, and how events are shown.

Dates are whole days in UTC, like every time stored in the log. Newest first; pages are keyed on the event id
(`before`), so a page deep in a large log costs what the first one does.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, column, or_, select, table

from practice.audit.models import AuditEvent
from practice.core.numbers import whole_number
from practice.core.spreadsheet import safe_cell

PAGE_SIZE = 100
EXPORT_LIMIT = 10_000
DETAIL_VALUE_CAP = 200  # characters of one detail value on the page
FILTER_CAP = 160  # no filter matches text longer than the column it reads

# The staff table by name: practice.auth writes to the audit log, so the log does not import practice.auth.
_staff_user = table("staff_user", column("id"), column("name"))

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FilterInvalid(ValueError):
    """A filter value that cannot be used; the message says which and why, in words for the admin."""


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    record_type: str = ""
    record_id: str = ""
    ip: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive: the whole day
    before: int | None = None

    def used(self) -> dict[str, str]:
        """The filters that were set, as text: for the audit event of the view itself, and for page links."""
        names = {"date_from": "from", "date_to": "to"}
        return {names.get(key, key): (value.isoformat() if isinstance(value, date) else str(value))
                for key, value in asdict(self).items() if value not in ("", None)}


def parse_filters(args: Mapping[str, str]) -> AuditFilters:
    """The filters from a query string; FilterInvalid for a malformed date, an impossible range or a bad page."""
    def text(name: str) -> str:
        value = (args.get(name) or "").strip()
        if len(value) > FILTER_CAP:
            raise FilterInvalid(f"The {name.replace('_', ' ')} filter is too long ({FILTER_CAP} characters at most).")
        return value

    date_from, date_to = _day(args, "from"), _day(args, "to")
    if date_from and date_to and date_from > date_to:
        raise FilterInvalid("The 'from' date is after the 'to' date.")
    before_text = (args.get("before") or "").strip()
    before = whole_number(before_text)
    if before_text and not before:
        raise FilterInvalid("The page link is not valid: 'before' must be an event number.")
    return AuditFilters(actor=text("actor"), action=text("action"), record_type=text("record_type"),
                        record_id=text("record_id"), ip=text("ip"), date_from=date_from, date_to=date_to,
                        before=before)


def _day(args: Mapping[str, str], name: str) -> date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise FilterInvalid(f"The '{name}' date must be a real day written YYYY-MM-DD, such as 2026-12-06.") from None


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def events_query(filters: AuditFilters, *, limit: int) -> Select:
    """The events matching `filters`, newest first, at most `limit`."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if filters.actor:
        pattern = _like(filters.actor)
        named = select(_staff_user.c.id).where(_staff_user.c.name.ilike(pattern, escape="\\"))
        query = query.where(or_(AuditEvent.actor.ilike(pattern, escape="\\"), AuditEvent.actor_id.in_(named)))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.record_type:
        query = query.where(AuditEvent.record_type == filters.record_type)
    if filters.record_id:
        query = query.where(AuditEvent.record_id == filters.record_id)
    if filters.ip:
        query = query.where(AuditEvent.ip == filters.ip)
    if filters.date_from:
        query = query.where(AuditEvent.at >= datetime.combine(filters.date_from, time(), timezone.utc))
    if filters.date_to:
        query = query.where(AuditEvent.at < datetime.combine(filters.date_to + timedelta(days=1), time(),
                                                             timezone.utc))
    if filters.before is not None:
        query = query.where(AuditEvent.id < filters.before)
    return query


def actions_query() -> Select:
    """Every action the log holds, for the filter's list."""
    return select(AuditEvent.action).distinct().order_by(AuditEvent.action)


def _value_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def detail_lines(detail: object, *, cap: int = DETAIL_VALUE_CAP) -> list[tuple[str, str]]:
    """An event's detail as (key, value) text pairs, each value cut to `cap` characters."""
    if not isinstance(detail, dict):
        detail = {"value": detail} if detail not in (None, "") else {}
    lines = []
    for key in sorted(detail, key=str):
        value = _value_text(detail[key])
        lines.append((str(key), value if len(value) <= cap else value[: cap - 1] + "…"))
    return lines


CSV_HEADER = ("id", "at_utc", "actor", "actor_id", "action", "record_type", "record_id", "ip", "detail")


def csv_row(event: AuditEvent) -> list[str]:
    cells = (str(event.id), event.at.astimezone(timezone.utc).isoformat(), event.actor,
             "" if event.actor_id is None else str(event.actor_id), event.action, event.record_type,
             event.record_id, event.ip,
             json.dumps(event.detail or {}, sort_keys=True, ensure_ascii=False, default=str))
    return [safe_cell(cell) for cell in cells]
