"""What calendars need kept: a counselor's private feed, their CalDAV connection and the events pushed there, and
the reminders already queued.

A booking's invite needs nothing stored of its own: its UID is made from the booking id (the same for the
booking's whole life) and its SEQUENCE is the booking's `ics_sequence`, raised on every change.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.booking.models import Booking
from practice.clock import now
from practice.counselors.models import Counselor
from practice.crypto import EncryptedText
from practice.extensions import db


class CounselorFeed(db.Model):
    """A counselor's private calendar feed (GET /calendar/<token>.ics), for their calendar app to subscribe to.

    The token is found by its SHA-256; it is also kept encrypted so that it can be shown again (the counselor's
    page, `flask feed-url`). Rotating replaces both: the old address stops working at once.
    """

    __tablename__ = "counselor_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=now)

    counselor: Mapped[Counselor] = relationship()


class CalDAVConnection(db.Model):
    """A counselor's own CalDAV calendar that the worker keeps up to date with their sessions."""

    __tablename__ = "caldav_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(500))  # the calendar collection's address
    username: Mapped[str] = mapped_column(String(200))
    password: Mapped[str] = mapped_column(EncryptedText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_error: Mapped[str | None] = mapped_column(String(500))  # shown to the counselor; never a password
    last_error_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)

    counselor: Mapped[Counselor] = relationship()


class CalDAVEvent(db.Model):
    """One booking as pushed to one CalDAV calendar: where it is there, and which SEQUENCE it shows."""

    __tablename__ = "caldav_event"
    __table_args__ = (UniqueConstraint("connection_id", "booking_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("caldav_connection.id", ondelete="CASCADE"))
    booking_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    href: Mapped[str | None] = mapped_column(String(500))  # the event's address on the server, once created
    pushed_sequence: Mapped[int] = mapped_column(Integer, default=-1)  # -1: never pushed
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)  # removed there (the booking was cancelled)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))

    connection: Mapped[CalDAVConnection] = relationship()
    booking: Mapped[Booking] = relationship()


class SessionReminder(db.Model):
    """A reminder queued for a booking's start: one per booking and start, so it is never sent twice (a moved
    booking gets one for its new time)."""

    __tablename__ = "session_reminder"
    __table_args__ = (UniqueConstraint("booking_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("booking.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    queued_at: Mapped[datetime]
