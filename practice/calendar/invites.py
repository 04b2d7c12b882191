"""Each person's calendar invite for a booking (iTIP REQUEST or CANCEL, RFC 5546), by email or as invite.ics.

One UID for the booking's whole life (its id on the practice's domain) and its `ics_sequence` as SEQUENCE, so a
calendar app replaces the event it has on a reschedule and removes it on a cancellation. The times are written
in the counselor's zone, with its VTIMEZONE.

Private by design: the summary is "Session at <practice>", with no service, specialty or anything from an
intake; each person's invite names only that person and the counselor, so one partner's address never lands in
the other's calendar; and no manage link goes in (calendar data is synced to other services, and the link is a
key to the booking).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, select

from practice.auth.models import DEFAULT_PRACTICE_NAME, PracticeSettings, User
from practice.booking.models import Booking, BookingStatus, Participant
from practice.calendar.identity import event_uid
from practice.core.ical import Person, SessionEvent, itip_content_type, session_calendar
from practice.extensions import db

FILENAME = "invite.ics"
# A booking is put in a calendar once it is confirmed; a hold that may still run out is not.
INVITED_STATUSES = (BookingStatus.confirmed, BookingStatus.completed, BookingStatus.no_show, BookingStatus.cancelled)


@dataclass(frozen=True)
class Invite:
    method: str  # REQUEST or CANCEL
    content: bytes  # the VCALENDAR

    @property
    def content_type(self) -> str:
        return itip_content_type(self.method)


def has_invite(booking: Booking) -> bool:
    # A hold that ran out (or was cancelled) before it was paid was never in anyone's calendar: nothing to cancel.
    return booking.status in INVITED_STATUSES and (booking.status != BookingStatus.cancelled
                                                   or booking.confirmed_at is not None)


def invites(booking: Booking, *, now: datetime) -> dict[str, Invite]:
    """Each person's invite as the booking stands (by role): CANCEL once it is cancelled, else REQUEST."""
    method = invite_method(booking)
    return {role: Invite(method, session_calendar([event], method=method))
            for role, event in invite_events(booking, now=now).items()}


def invite_method(booking: Booking) -> str:
    return "CANCEL" if booking.status == BookingStatus.cancelled else "REQUEST"


def invite_events(booking: Booking, *, now: datetime) -> dict[str, SessionEvent]:
    """Each person's event as the booking stands (by role), for an invite made later (an email's, when it is
    delivered) or now (invites)."""
    known = _known(booking.counselor_id)
    return {participant.role: session_event(booking, participant, known, now=now)
            for participant in booking.participants}


def session_event(booking: Booking, participant: Participant, known: Known, *, now: datetime) -> SessionEvent:
    """The booking as one person's calendar event: that person and the counselor, nobody else."""
    counselor = booking.counselor
    attendees = [Person(participant.client.name, participant.client.email)]
    if known.counselor_email:  # no address on file: the counselor is named in the description only
        attendees.append(Person(counselor.name, known.counselor_email))
    minutes = current_app.config["INVITE_ALARM_MINUTES"]
    return SessionEvent(
        uid=event_uid(booking, current_app.config),
        sequence=booking.ics_sequence,
        start=booking.starts_at,
        end=booking.ends_at,
        zone=counselor.timezone,
        summary=f"Session at {known.practice_name}",
        stamp=now,
        organizer=Person(known.practice_name, parseaddr(current_app.config["MAIL_FROM"])[1]),
        attendees=tuple(attendees),
        description=_description(booking, booking.client_timezone or counselor.timezone),
        location=counselor.telehealth_url or known.address,
        cancelled=booking.status == BookingStatus.cancelled,
        alarm_before=timedelta(minutes=minutes) if minutes > 0 else None,
    )


@dataclass(frozen=True)
class Known:
    """What an invite says that the booking does not hold."""

    practice_name: str
    address: str
    counselor_email: str | None  # the counselor's own sign-in address, when they have an active account


# Built once: making the statement (and its cache key) each time cost more than running it.
_SETTINGS = select(PracticeSettings.practice_name, PracticeSettings.address).where(PracticeSettings.id == 1)
_KNOWN = select(
    _SETTINGS.with_only_columns(PracticeSettings.practice_name).scalar_subquery(),
    _SETTINGS.with_only_columns(PracticeSettings.address).scalar_subquery(),
    select(User.email).where(User.counselor_id == bindparam("known_counselor"), User.active.is_(True)).limit(1)
    .scalar_subquery(),
)


def _known(counselor_id: int) -> Known:
    """Read in one statement: invites are made inside the booking's transaction, where every round trip counts
    (tests/booking/test_writes.py)."""
    with db.session.no_autoflush:  # nothing pending matters here; a flush now would split the caller's batches
        name, address, email = db.session.execute(_KNOWN, {"known_counselor": counselor_id}).one()
    return Known(name or DEFAULT_PRACTICE_NAME, address or "", email or None)


def invite_url(booking: Booking, token: str) -> str:
    """A person's invite.ics, built from BASE_URL like every link that leaves the app."""
    return f"{current_app.config['BASE_URL']}/bookings/{booking.id}/invite.ics?token={token}"


def _description(booking: Booking, zone: str) -> str:
    local = booking.starts_at.astimezone(ZoneInfo(zone))
    when = local.strftime("%A, %B %-d, %Y at %-I:%M %p ") + (local.tzname() or zone)
    minutes = round((booking.ends_at - booking.starts_at).total_seconds() / 60)
    if booking.status == BookingStatus.cancelled:
        return f"This session with {booking.counselor.name} on {when} was cancelled."
    return (f"Your {minutes}-minute session with {booking.counselor.name}, {when}.\n"
            "To change or cancel it, use the link in your email.")
