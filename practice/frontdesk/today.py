"""The practice's day and week (/staff/today): every counselor's sessions in the practice's zone, for front desk
and admins; a counselor sees their own only. Each row says who, what, where the booking stands, whether it is
paid and how far each person's intake is (progress only: no answers are read). Every look is audited, as it
shows clients' names.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from practice import clock
from practice.access import staff
from practice.audit import service as audit
from practice.booking import display
from practice.booking.models import Booking, BookingStatus, Participant, on_counselors_calendar
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.intake.models import Intake
from practice.intake.service import load_items
from practice.payments.models import Payment, PaymentStatus
from practice.web.filters import money

bp = Blueprint("frontdesk_today", __name__)

VIEWS = ("day", "week")
STATUS_LABELS = {
    BookingStatus.held: "Held, not yet paid",
    BookingStatus.pending_payment: "Waiting for payment",
    BookingStatus.confirmed: "Confirmed",
    BookingStatus.completed: "Completed",
    BookingStatus.no_show: "No-show",
    BookingStatus.cancelled: "Cancelled",
}
PAYMENT_LABELS = {
    PaymentStatus.awaiting: "Waiting for payment",
    PaymentStatus.failed: "Card declined",
    PaymentStatus.refunded: "Refunded",
    PaymentStatus.partially_refunded: "Partly refunded",
}


def counselor_scope(user) -> int | None:
    """The counselor whose sessions only this user may see, or None for all (front desk, admins)."""
    return user.counselor_id if user.role == "counselor" else None


def may_see(user, booking: Booking) -> bool:
    return user.office_or_counselor(booking.counselor_id)


# --- what a row shows -------------------------------------------------------------------------------------

def payment_label(booking: Booking, payment: Payment | None) -> str:
    if payment is None:
        return "Free" if booking.service.price == 0 else "Not paid"
    if payment.status == PaymentStatus.succeeded:
        return f"Paid {money(payment.amount, payment.currency)}"
    return PAYMENT_LABELS[payment.status]


@dataclass(frozen=True)
class IntakeProgress:
    role: str
    done: int
    total: int
    submitted: bool

    @property
    def text(self) -> str:
        if self.submitted:
            return "sent"
        if self.done:
            return f"{self.done} of {self.total} parts"
        return "not started"


def intake_progress(participants: list[Participant]) -> dict[int, IntakeProgress]:
    """Participant id -> how far their intake is. Reads the parts done and the time sent, never the answers
    (they are not even loaded)."""
    if not participants:
        return {}
    total = len(load_items().sections)
    rows = db.session.scalars(select(Intake).where(Intake.participant_id.in_([p.id for p in participants]))
                              .options(load_only(Intake.participant_id, Intake.sections_done, Intake.submitted_at)))
    found = {i.participant_id: i for i in rows}
    progress = {}
    for participant in participants:
        intake = found.get(participant.id)
        progress[participant.id] = IntakeProgress(
            participant.role, len(intake.sections_done or ()) if intake else 0, total,
            intake is not None and intake.submitted_at is not None)
    return progress


def payments_of(bookings: list[Booking]) -> dict:
    if not bookings:
        return {}
    return {p.booking_id: p for p in db.session.scalars(
        select(Payment).where(Payment.booking_id.in_([b.id for b in bookings])))}


@dataclass(frozen=True)
class SessionRow:
    booking: Booking
    starts: datetime  # in the practice's zone
    ends: datetime
    clients: tuple[str, ...]
    status: str
    payment: str
    intakes: tuple[IntakeProgress, ...]


# --- the day or week --------------------------------------------------------------------------------------

class PeriodInvalid(ValueError):
    """A date or view the page can't show; the message says which and why (422)."""


@dataclass(frozen=True)
class Period:
    view: str
    first: date
    days: int

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)

    @property
    def previous(self) -> date:
        return self.first - timedelta(days=self.days)

    @property
    def next(self) -> date:
        return self.first + timedelta(days=self.days)


def period_asked(date_text: str | None, view: str | None, *, today: date) -> Period:
    view = (view or "day").strip()
    if view not in VIEWS:
        raise PeriodInvalid(f"“{view[:20]}” is not a view this page has: choose day or week.")
    day = today
    if date_text:
        day = display.parse_day(date_text.strip()) if len(date_text) <= 10 else None
        if day is None:
            raise PeriodInvalid(f"“{date_text[:20]}” is not a date. Write it as year-month-day, for example "
                                f"{today.isoformat()}.")
        if abs((day - today).days) > 3660:
            raise PeriodInvalid("Choose a date within ten years of today.")
    if view == "week":
        return Period("week", day - timedelta(days=day.weekday()), 7)  # weeks start on Monday
    return Period("day", day, 1)


def sessions(period: Period, zone: str, *, viewer, now: datetime) -> list[SessionRow]:
    """The sessions starting in the period (the practice's local days), earliest first: all but the cancelled
    and holds that ran out. Audited with the count shown; the caller commits."""
    tz = ZoneInfo(zone)
    start = datetime.combine(period.first, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(period.next, time(0), tzinfo=tz).astimezone(timezone.utc)
    query = (select(Booking).where(Booking.starts_at >= start, Booking.starts_at < end, on_counselors_calendar(now))
             .options(selectinload(Booking.counselor), selectinload(Booking.service),
                      selectinload(Booking.participants).selectinload(Participant.client))
             .order_by(Booking.starts_at, Booking.id))
    scope = counselor_scope(viewer)
    if viewer.role == "counselor":
        query = query.where(Booking.counselor_id == (scope if scope is not None else -1))
    bookings = list(db.session.scalars(query))
    paid = payments_of(bookings)
    progress = intake_progress([p for b in bookings for p in b.participants])
    rows = [SessionRow(booking=b, starts=b.starts_at.astimezone(tz), ends=b.ends_at.astimezone(tz),
                       clients=tuple(person_name(p) for p in b.participants),
                       status=STATUS_LABELS[b.status], payment=payment_label(b, paid.get(b.id)),
                       intakes=tuple(progress[p.id] for p in b.participants)) for b in bookings]
    audit.record("frontdesk.view_day", record_type="booking", actor=viewer,
                 detail={"view": period.view, "from": period.first.isoformat(), "rows": len(rows)})
    return rows


def person_name(participant: Participant) -> str:
    return participant.client.name or "(record deleted)"


def by_counselor(rows: list[SessionRow]) -> OrderedDict[Counselor, list[SessionRow]]:
    grouped: dict[int, list[SessionRow]] = {}
    for row in rows:
        grouped.setdefault(row.booking.counselor_id, []).append(row)
    ordered = sorted(grouped.values(), key=lambda r: (r[0].booking.counselor.name.lower(), r[0].booking.counselor_id))
    return OrderedDict((r[0].booking.counselor, r) for r in ordered)


def by_day(rows: list[SessionRow], period: Period) -> OrderedDict[date, list[SessionRow]]:
    grouped: OrderedDict[date, list[SessionRow]] = OrderedDict(
        (period.first + timedelta(days=n), []) for n in range(period.days))
    for row in rows:
        grouped.setdefault(row.starts.date(), []).append(row)
    return grouped


# --- the page ---------------------------------------------------------------------------------------------

@bp.get("/staff/today")
@staff("admin", "frontdesk", "counselor")
def today():
    me, now, zone = current_user._get_current_object(), clock.now(), clock.practice_zone().key
    local_today = now.astimezone(ZoneInfo(zone)).date()
    try:
        period = period_asked(request.args.get("date"), request.args.get("view"), today=local_today)
    except PeriodInvalid as exc:
        return render_template("frontdesk/today.html", problem=str(exc), period=None, zone=zone,
                               zone_label=display.zone_label(zone, now), today=local_today,
                               asked_date=(request.args.get("date") or "")[:20], view="day",
                               own_only=me.role == "counselor"), 422
    rows = sessions(period, zone, viewer=me, now=now)
    html = render_template(
        "frontdesk/today.html", problem=None, period=period, zone=zone, zone_label=display.zone_label(zone, now),
        today=local_today, rows=rows, view=period.view, asked_date=period.first.isoformat(),
        groups=by_counselor(rows) if period.view == "day" else by_day(rows, period),
        own_only=me.role == "counselor", long_date=display.long_date, clock_text=display.clock,
    )
    db.session.commit()  # the audit record of this look is saved before the page is sent
    return html
