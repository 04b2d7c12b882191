"""Test data for availability: weekly hours and bookings written straight to the tables."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from practice.scheduling.models import SchedulingPolicy, WeeklyHours


def give_hours(counselor, ranges_by_weekday: dict[int, list[tuple[str, str]]], *, notice_minutes=0,
               horizon_days=90, step=30, max_per_day=None) -> None:
    for weekday, ranges in ranges_by_weekday.items():
        for start, end in ranges:
            db.session.add(WeeklyHours(counselor_id=counselor.id, weekday=weekday,
                                       start_time=time.fromisoformat(start), end_time=time.fromisoformat(end)))
    db.session.add(SchedulingPolicy(counselor_id=counselor.id, notice_minutes=notice_minutes,
                                    horizon_days=horizon_days, slot_step_minutes=step,
                                    max_sessions_per_day=max_per_day))
    db.session.commit()


def add_booking(counselor, service, start: datetime, *, status=BookingStatus.confirmed, hold_expires_at=None):
    end = start + timedelta(minutes=service.duration_minutes)
    booking = Booking(counselor_id=counselor.id, service_id=service.id, starts_at=start, ends_at=end,
                      blocked_until=end + timedelta(minutes=service.buffer_minutes), status=status,
                      hold_expires_at=hold_expires_at)
    db.session.add(booking)
    db.session.commit()
    return booking
