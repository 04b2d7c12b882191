"""Session reminders: a worker job that emails each person of a confirmed session before it, once.

When: practice.core.reminders (REMINDER_HOURS_BEFORE before the start, never in the client's QUIET_HOURS).
Once: each reminder is a SessionReminder row for (booking, start), written in the same transaction as its emails
and fresh manage links, so a second run, a restarted worker or a second worker finds the row (or waits for the
first one's commit and then finds it) and queues nothing. A booking moved to a new start gets a reminder for it.
A cancelled booking gets none: its status is read again under the calendar lock that a cancellation also takes.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite

from practice.booking.change import issue_link
from practice.booking.guard import lock_calendar
from practice.booking.links import manage_url
from practice.booking.models import Booking, BookingStatus
from practice.calendar.models import SessionReminder
from practice.core.reminders import QuietHours, reminder_due
from practice.database import begin_write
from practice.extensions import db
from practice.notify.booking_mail import when
from practice.notify.outbox import Email, queue_emails

log = logging.getLogger(__name__)

# Quiet hours move a reminder earlier by less than a day, so bookings this far beyond the reminder time are
# the only ones that can be due.
LOOKAHEAD_SLACK = timedelta(days=1)


def queue_due_reminders(*, now: datetime) -> int:
    """Worker job: queue the reminders that are due now. Returns how many bookings got theirs."""
    before = timedelta(hours=current_app.config["REMINDER_HOURS_BEFORE"])
    quiet = QuietHours.parse(current_app.config["QUIET_HOURS"])
    already = exists().where(SessionReminder.booking_id == Booking.id, SessionReminder.starts_at == Booking.starts_at)
    candidates = db.session.execute(
        select(Booking.id, Booking.starts_at, Booking.client_timezone)
        .where(Booking.status == BookingStatus.confirmed, Booking.starts_at > now,
               Booking.starts_at <= now + before + LOOKAHEAD_SLACK, ~already)
        .order_by(Booking.starts_at)
    ).all()
    db.session.rollback()  # end the read: each reminder is written in a short transaction of its own
    queued = 0
    for booking_id, starts_at, zone in candidates:
        if not reminder_due(starts_at, now=now, before=before, zone=zone or "UTC", quiet=quiet):
            continue
        try:
            queued += _queue_reminder(booking_id, starts_at, now=now)
        except Exception:  # noqa: BLE001 - one booking that can't be reminded must not hold up the others
            log.exception("reminders: could not queue the reminder of booking %s; trying again next round",
                          booking_id)
    return queued


def _queue_reminder(booking_id, starts_at: datetime, *, now: datetime) -> int:
    """Write one booking's reminder, links and emails, committed; 0 when someone else has or it no longer fits."""
    session = db.session
    begin_write(session)
    try:
        counselor_id = session.scalar(select(Booking.counselor_id).where(Booking.id == booking_id))
        if counselor_id is None:
            session.rollback()
            return 0
        lock_calendar(counselor_id)  # a cancellation or move now waits for this commit, or we see it
        booking = session.get(Booking, booking_id, populate_existing=True)
        if booking.status != BookingStatus.confirmed or booking.starts_at != starts_at:
            session.rollback()
            return 0
        if not _claim(booking, now=now):
            session.rollback()
            return 0
        emails = []
        for participant in booking.participants:
            token = issue_link(participant, now=now)  # old links stay valid: only their hashes are kept
            emails.append(_email(booking, participant, manage_url(booking, token)))
        queue_emails(emails, now=now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    log.info("reminders: queued the reminder of booking %s", booking_id)
    return 1


def _claim(booking: Booking, *, now: datetime) -> bool:
    """Insert this start's SessionReminder; False when one is already there (another run was first)."""
    session = db.session
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(SessionReminder)
                 .values(booking_id=booking.id, starts_at=booking.starts_at, queued_at=now)
                 .on_conflict_do_nothing(index_elements=["booking_id", "starts_at"])
                 .returning(SessionReminder.id))
    return session.scalar(statement) is not None


def _email(booking: Booking, participant, link: str) -> Email:
    zone = booking.client_timezone or booking.counselor.timezone
    role = participant.role
    context = {
        "name": participant.client.name,
        "role": role,
        "counselor": booking.counselor.name,
        "service": booking.service.name,
        "duration": booking.service.duration_minutes,
        "when": when(booking.starts_at, zone),
        "manage_url": link,
        "booking_ref": str(booking.id)[:8].upper(),
    }
    return Email(to=participant.client.email, to_name=participant.client.name, template="session_reminder",
                 kind="session_reminder", context=context,
                 dedupe_key=f"reminder:{booking.id}:{booking.starts_at.isoformat()}:{role}")

