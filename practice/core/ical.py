"""Sessions as iCalendar (RFC 5545), for invites by email (iTIP RFC 5546, iMIP RFC 6047), calendar feeds and
CalDAV. Pure: plain values in, the calendar's bytes out; no Flask, no database, no clock (the stamp is given).

Times are written in the zone given (the counselor's), with a VTIMEZONE for it, so a calendar app shows the
session at the right hour also across a daylight-saving change. What goes in is what the caller puts in: keep it
neutral (a summary such as "Session at <practice>"), never a health word.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

PRODID = "-//practice//sessions//EN"
METHODS = ("REQUEST", "CANCEL", "PUBLISH")


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class SessionEvent:
    uid: str  # the same for the booking's whole life
    sequence: int  # raised on every change, never lowered
    start: datetime  # aware
    end: datetime  # aware
    zone: str  # IANA name the times are written in (the counselor's)
    summary: str
    stamp: datetime  # DTSTAMP: when this copy was made (aware)
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()
    description: str = ""
    location: str = ""
    url: str = ""
    cancelled: bool = False
    alarm_before: timedelta | None = None  # a reminder alarm this long before the start
    # CalDAV: the client (this app) does the scheduling, so the server must send no invites of its own.
    schedule_agent_client: bool = False
    categories: tuple[str, ...] = field(default=())


def itip_content_type(method: str) -> str:
    """The MIME type an iMIP message (RFC 6047) gives an invite: the method inside, said outside too, which is
    what makes mail apps show it as an invite to add."""
    return f"text/calendar; method={method}; charset=utf-8"


def session_calendar(events: list[SessionEvent] | tuple[SessionEvent, ...], *, method: str | None = None,
                     name: str | None = None) -> bytes:
    """A VCALENDAR with these events (and a VTIMEZONE for every zone they use). `method` for iTIP messages:
    REQUEST (a new or changed session), CANCEL (a cancelled one); None for a feed or a CalDAV resource."""
    if method is not None and method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    for item in events:
        cal.add_component(_event(item, method=method))
    if events:  # each zone's rules around these sessions only: a short VTIMEZONE that every app reads
        first = min(item.start for item in events).date().replace(month=1, day=1)
        last = max(item.end for item in events).date().replace(month=12, day=31)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()


def _event(item: SessionEvent, *, method: str | None) -> Event:
    if item.start.tzinfo is None or item.end.tzinfo is None or item.stamp.tzinfo is None:
        raise ValueError("session times must be aware")
    zone = ZoneInfo(item.zone)
    cancelled = item.cancelled or method == "CANCEL"  # a CANCEL message always says STATUS:CANCELLED
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", item.stamp.astimezone(ZoneInfo("UTC")))
    event.add("sequence", item.sequence)
    event.add("dtstart", item.start.astimezone(zone))
    event.add("dtend", item.end.astimezone(zone))
    event.add("summary", item.summary)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if item.description:
        event.add("description", item.description)
    if item.location:
        event.add("location", item.location)
    if item.url:
        event.add("url", item.url)
    if item.categories:
        event.add("categories", list(item.categories))
    if item.organizer:
        event.add("organizer", _address(item.organizer, role=None, agent=item.schedule_agent_client))
    for person in item.attendees:
        event.add("attendee", _address(person, role="REQ-PARTICIPANT", agent=item.schedule_agent_client),
                  encode=0)
    if item.alarm_before and not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", item.summary)
        alarm.add("trigger", -item.alarm_before)
        event.add_component(alarm)
    return event


def _address(person: Person, *, role: str | None, agent: bool) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    if role:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("FALSE")  # an invite to note, not to answer: changes go through the link
    if agent:
        address.params["schedule-agent"] = vText("CLIENT")
    return address


def event_to_json(item: SessionEvent) -> dict:
    """The event as JSON values, for a message that makes its invite when it is delivered (event_from_json)."""
    def person(p: Person | None):
        return None if p is None else {"name": p.name, "email": p.email}

    return {
        "uid": item.uid, "sequence": item.sequence, "start": item.start.isoformat(), "end": item.end.isoformat(),
        "zone": item.zone, "summary": item.summary, "stamp": item.stamp.isoformat(),
        "organizer": person(item.organizer), "attendees": [person(p) for p in item.attendees],
        "description": item.description, "location": item.location, "url": item.url, "cancelled": item.cancelled,
        "alarm_before_seconds": None if item.alarm_before is None else item.alarm_before.total_seconds(),
        "schedule_agent_client": item.schedule_agent_client, "categories": list(item.categories),
    }


def event_from_json(data: dict) -> SessionEvent:
    seconds = data["alarm_before_seconds"]
    organizer = data["organizer"]
    return SessionEvent(
        uid=data["uid"], sequence=data["sequence"], start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]), zone=data["zone"], summary=data["summary"],
        stamp=datetime.fromisoformat(data["stamp"]),
        organizer=None if organizer is None else Person(organizer["name"], organizer["email"]),
        attendees=tuple(Person(p["name"], p["email"]) for p in data["attendees"]),
        description=data["description"], location=data["location"], url=data["url"], cancelled=data["cancelled"],
        alarm_before=None if seconds is None else timedelta(seconds=seconds),
        schedule_agent_client=data["schedule_agent_client"], categories=tuple(data["categories"]),
    )
