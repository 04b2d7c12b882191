"""When a counselor can be booked: weekly hours in their own zone, date overrides, time off, imported busy times."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.clock import now
from practice.counselors.models import Counselor
from practice.crypto import EncryptedText
from practice.extensions import db


class SchedulingPolicy(db.Model):
    """A counselor's booking rules. Service buffers live on the service; these apply to every service."""

    __tablename__ = "scheduling_policy"
    __table_args__ = (
        CheckConstraint("notice_minutes BETWEEN 0 AND 20160", name="notice"),
        CheckConstraint("horizon_days BETWEEN 1 AND 365", name="horizon"),
        CheckConstraint("slot_step_minutes IN (5, 10, 15, 20, 30, 60)", name="step"),
        CheckConstraint("max_sessions_per_day IS NULL OR max_sessions_per_day BETWEEN 1 AND 24", name="max_per_day"),
    )

    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), primary_key=True)
    notice_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    horizon_days: Mapped[int] = mapped_column(Integer, default=60)
    slot_step_minutes: Mapped[int] = mapped_column(Integer, default=30)
    max_sessions_per_day: Mapped[int | None] = mapped_column(Integer)


class WeeklyHours(db.Model):
    """One working range on one weekday, in the counselor's own zone (so 9:00 stays 9:00 across DST)."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_time < end_time", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday .. 6 Sunday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class DateOverride(db.Model):
    """Hours for one local date that replace the weekly hours; a row with no times means the day is off."""

    __tablename__ = "date_override"
    __table_args__ = (
        CheckConstraint("(start_time IS NULL AND end_time IS NULL) OR start_time < end_time", name="range"),
        Index("ix_date_override_counselor_day", "counselor_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time | None] = mapped_column(Time)
    end_time: Mapped[time | None] = mapped_column(Time)


class TimeOff(db.Model):
    """Any range of unavailability, from an hour to weeks, in UTC."""

    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range"),
        Index("ix_time_off_counselor_ends", "counselor_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200), default="")  # private to staff


class CalendarFeed(db.Model):
    """A counselor's own calendar, by its private iCalendar address; its events block availability."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="My calendar")
    url: Mapped[str] = mapped_column(EncryptedText)  # a private address is a secret: encrypted at rest
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_attempt_at: Mapped[datetime | None]
    refresh_requested_at: Mapped[datetime | None]  # "Refresh now": the worker takes it on its next round
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # shown to the counselor; the last good copy is kept
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))

    busy: Mapped[list[ExternalBusy]] = relationship(back_populates="feed", cascade="all, delete-orphan",
                                                    passive_deletes=True)
    counselor: Mapped[Counselor] = relationship()


class ExternalBusy(db.Model):
    """A busy time imported from a feed: only when, never what (no titles or attendees are kept)."""

    __tablename__ = "external_busy"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range"),
        Index("ix_external_busy_counselor_ends", "counselor_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("calendar_feed.id", ondelete="CASCADE"), index=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]

    feed: Mapped[CalendarFeed] = relationship(back_populates="busy")
