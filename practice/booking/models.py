"""Bookings of a counselor's time.

A live booking (held, pending_payment, confirmed) never overlaps another live booking of the same counselor,
the service's buffer after it included. The database refuses it by itself (see migration 0002): on PostgreSQL
an exclusion constraint over (counselor, [starts_at, blocked_until)); on SQLite the booking service takes the
write lock (BEGIN IMMEDIATE) before it checks. A check in Python alone is not enough.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint, Enum, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid, and_, literal, or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.clock import now
from practice.crypto import EncryptedText
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from practice.scheduling.booked import BookedTime, provide


class BookingStatus(str, enum.Enum):
    held = "held"  # slot reserved while the client finishes; expires at hold_expires_at
    pending_payment = "pending_payment"
    confirmed = "confirmed"
    completed = "completed"
    no_show = "no_show"
    cancelled = "cancelled"


LIVE_STATUSES = (BookingStatus.held, BookingStatus.pending_payment, BookingStatus.confirmed)
HOLD_EXPIRED = "hold expired"  # the cancel_reason of a hold the system released because it ran out


class Booking(db.Model):
    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at AND ends_at <= blocked_until", name="range"),
        Index("ix_booking_counselor_live", "counselor_id", "blocked_until", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # ends_at plus the service's buffer: the time this booking keeps from others.
    blocked_until: Mapped[datetime]
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, name="booking_status", native_enum=False, length=20,
             values_callable=lambda e: [m.value for m in e], validate_strings=True)
    )
    hold_expires_at: Mapped[datetime | None]
    client_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Bumped on every change a calendar app must see (reschedule, cancel): iCalendar SEQUENCE.
    ics_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    confirmed_at: Mapped[datetime | None]
    policies_accepted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(10))  # client, staff, system
    # Encrypted: a person's own words about why, or staff's (each form caps its length; a split's is the longest).
    cancel_reason: Mapped[str | None] = mapped_column(EncryptedText)
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    # Asked when a paid session is booked: None (not asked: free sessions), True, or False (self-pay, who are
    # given a good-faith estimate).
    uses_insurance: Mapped[bool | None]
    # A session staff made from a couple booking they split into individual sessions (INTAKE.md: when safety
    # requires it); the couple booking is cancelled by that change and its intakes stay with it.
    converted_from_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("booking.id", ondelete="SET NULL"), index=True)

    counselor: Mapped[Counselor] = relationship()
    service: Mapped[Service] = relationship()
    participants: Mapped[list[Participant]] = relationship(back_populates="booking", cascade="all, delete-orphan",
                                                           order_by="Participant.role")

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def participant(self, role: str) -> Participant | None:
        return next((p for p in self.participants if p.role == role), None)


def on_counselors_calendar(now):
    """Bookings a counselor's calendar shows: all but the cancelled and holds that ran out (the client never
    finished)."""
    return and_(Booking.status != BookingStatus.cancelled,
                or_(Booking.status != BookingStatus.held, Booking.hold_expires_at > now))


def live_booking_filter(now):
    """Bookings that hold time: live statuses, except holds that have run out. `now` may be a bindparam."""
    # The statuses as separate literals, not one expanding parameter: the statement's text is then complete
    # when compiled, and psycopg can prepare it once per connection.
    return and_(
        Booking.status.in_([literal(status.value, Booking.status.type) for status in LIVE_STATUSES]),
        or_(Booking.status != BookingStatus.held, Booking.hold_expires_at > now),
    )


class Client(db.Model):
    """A person who booked, or was invited as a partner. No account: they act through signed links."""

    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower-case; not unique: a new row per booking
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str | None] = mapped_column(String(2))  # state of residence (licensure)
    created_at: Mapped[datetime] = mapped_column(default=now)
    # The record was deleted under the retention rule: name, email and phone are blanked, intakes are gone;
    # the row stays so that bookings and payments still add up.
    erased_at: Mapped[datetime | None]


class Participant(db.Model):
    """A person's place on a booking: the client who booked, or the partner of a couple booking."""

    __tablename__ = "booking_participant"
    __table_args__ = (
        UniqueConstraint("booking_id", "role"),
        CheckConstraint("role IN ('client', 'partner')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(10))

    booking: Mapped[Booking] = relationship(back_populates="participants")
    client: Mapped[Client] = relationship()
    tokens: Mapped[list[ManageToken]] = relationship(back_populates="participant", cascade="all, delete-orphan")


class ManageToken(db.Model):
    """A link's secret: random, 192 bits, stored only as its SHA-256. Revoked on cancel or when re-issued."""

    __tablename__ = "manage_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("booking_participant.id", ondelete="CASCADE"),
                                                index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(20))  # cancelled, reissued

    participant: Mapped[Participant] = relationship(back_populates="tokens")


class LinkRequest(db.Model):
    """Someone asked for fresh links to be sent to this address ("resend my link").

    The request only writes this row, the same work whether or not the address has bookings, so that its
    answer and its time tell nobody who booked. A deliverer (`booking.service.process_link_request`) looks
    the bookings up after the response, sends any links, and deletes the row: nothing about the address stays.
    """

    __tablename__ = "link_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(index=True)


# Scheduling reads the time bookings hold (free slots, the counselor's week) without importing booking.
provide(BookedTime(model=Booking, holds_time=live_booking_filter, on_calendar=on_counselors_calendar))
