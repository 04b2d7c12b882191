"""One booking for staff (/staff/bookings/<id>): its people, times, history, money and intake progress, and what
staff do to it: reschedule, cancel with a refund choice, mark attendance, send each person a fresh link.

Front desk and admins see and act on every booking; a counselor sees their own (read-only but for attendance)
and gets a 404 for anyone else's, as for an id that doesn't exist. Intake answers never appear here, only how
far each person is, with a link to the intake page (which has its own rules). Every view is audited.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from practice import clock
from practice.access import staff
from practice.audit import service as audit
from practice.booking import display, staff as staff_changes
from practice.booking.errors import ActionRefused, BookingBusy, BookingInvalid, SlotUnavailable
from practice.booking.models import Booking, BookingStatus, Participant
from practice.core.money import AmountInvalid, parse_amount
from practice.extensions import db
from practice.frontdesk.forms import AttendanceForm, ResendLinksForm, StaffCancelForm, StaffRescheduleForm
from practice.frontdesk.today import STATUS_LABELS, intake_progress, may_see, payment_label, person_name
from practice.payments import refunds
from practice.payments.models import Payment
from practice.scheduling import service as scheduling
from practice.web.filters import money

bp = Blueprint("frontdesk_bookings", __name__)

SLOT_DAYS = 14  # how far ahead the reschedule form offers the counselor's open times
MAX_SLOTS = 400


def _me():
    return current_user._get_current_object()


def _booking(booking_id: str) -> Booking:
    """The booking if this staff member may see it; 404 otherwise, whether or not it exists."""
    try:
        booking_uuid = uuid.UUID(booking_id)
    except ValueError:
        abort(404)
    booking = db.session.scalar(select(Booking).where(Booking.id == booking_uuid).options(
        selectinload(Booking.participants).selectinload(Participant.client)))
    if booking is None or not may_see(_me(), booking):
        abort(404)
    return booking


@dataclass
class Forms:
    reschedule: StaffRescheduleForm
    cancel: StaffCancelForm
    attendance: AttendanceForm
    resend: ResendLinksForm


def _blank_forms(booking: Booking) -> Forms:
    data = {"sequence": booking.ics_sequence}
    return Forms(StaffRescheduleForm(formdata=None, data=data), StaffCancelForm(formdata=None, data=data),
                 AttendanceForm(formdata=None, data=data), ResendLinksForm(formdata=None))


def _open_times(booking: Booking, zone: str, *, now: datetime) -> list[datetime]:
    """The counselor's next open starts for this booking's service (its own time counts as free), in `zone`."""
    first = now.astimezone(ZoneInfo(zone)).date()
    try:
        result = scheduling.slots_for(booking.counselor.slug, booking.service.slug, start_day=first,
                                      end_day=first + timedelta(days=SLOT_DAYS - 1), zone=zone, now=now,
                                      exclude_booking=booking.id)
    except scheduling.ScheduleInvalid:  # the service is no longer offered: nothing to offer
        return []
    if result is None:
        return []
    tz = ZoneInfo(zone)
    return [s.start.astimezone(tz) for s in result.slots if s.start != booking.starts_at][:MAX_SLOTS]


def _page(booking: Booking, *, forms: Forms | None = None, status: int = 200, problem: str | None = None,
          open_form: str | None = None):
    me, now, zone = _me(), clock.now(), clock.practice_zone().key
    if forms is None:
        forms = _blank_forms(booking)
    client_zone = booking.client_timezone or booking.counselor.timezone
    payment = Payment.of_booking(booking.id)
    acts = me.in_office
    move_refusal = staff_changes.move_refusal(booking, now=now)
    cancel_refusal = staff_changes.cancel_refusal(booking)
    attendance_refusal = staff_changes.attendance_refusal(booking, now=now)
    links_refusal = staff_changes.links_refusal(booking, now=now)
    slots = _open_times(booking, zone, now=now) if acts and move_refusal is None else []
    slot_days: dict[str, list[tuple[str, str]]] = {}  # the open times by local day, for the form's list
    for start in slots:
        slot_days.setdefault(display.long_date(start.date()), []).append((display.url_start(start),
                                                                         display.clock(start)))
    policy_amount = refunds.policy_amount(payment, booking, now=now) if payment and payment.refundable else None
    progress = intake_progress(list(booking.participants))
    if booking.status in (BookingStatus.completed, BookingStatus.no_show):
        forms.attendance.outcome.choices = [c for c in forms.attendance.outcome.choices
                                            if c.value != booking.status.value]
    html = render_template(
        "frontdesk/booking.html", b=booking, zone=zone, client_zone=client_zone,
        zone_label=display.zone_label(zone, now), client_zone_label=display.zone_label(client_zone, now),
        span=display.span, when=display.when, status_label=STATUS_LABELS[booking.status],
        people=[(p, person_name(p), progress[p.id]) for p in booking.participants],
        payment=payment, payment_text=payment_label(booking, payment), policy_amount=policy_amount,
        may_act=acts, may_mark=acts or me.role == "counselor",
        move_refusal=move_refusal, cancel_refusal=cancel_refusal, attendance_refusal=attendance_refusal,
        links_refusal=links_refusal,
        forms=forms, problem=problem, slot_days=slot_days, open_form=open_form,
        refund_left=payment.refundable if payment else 0,
        local_day=booking.starts_at.astimezone(ZoneInfo(zone)).date().isoformat(),
    )
    audit.record("frontdesk.view_booking", record_type="booking", record_id=booking.id, actor=me)
    db.session.commit()  # no audit record, no page
    return html, status


@bp.get("/staff/bookings/<booking_id>")
@staff("admin", "frontdesk", "counselor")
def booking_page(booking_id: str):
    return _page(_booking(booking_id))


def _changed(booking_id: uuid.UUID, message: str, status: int = 409):
    """The page as the booking stands now, saying why the action was refused."""
    db.session.rollback()
    return _page(_booking(str(booking_id)), status=status, problem=message)


def _new_start(form: StaffRescheduleForm, zone: str) -> datetime | None:
    """The start asked for: a typed date and time (practice zone) wins over the list, so a person who typed
    one gets what they typed."""
    if form.day.data or form.time.data:
        day = display.parse_day((form.day.data or "").strip())
        if day is None:
            form.day.errors.append("Write the date as year-month-day, for example 2026-12-07.")
        try:
            at = time.fromisoformat((form.time.data or "").strip())
        except ValueError:
            at = None
            form.time.errors.append("Write the time as hours and minutes, for example 14:30.")
        if day is None or at is None:
            return None
        if abs(day.year - clock.now().year) > 5:  # nobody books that far; and year 9999 has no UTC time
            form.day.errors.append("Choose a date within the next few years.")
            return None
        return datetime.combine(day, at.replace(second=0, microsecond=0), tzinfo=ZoneInfo(zone))
    start = display.parse_start(form.slot.data)
    if start is None:
        form.slot.errors.append("Choose one of the open times, or type a date and a time.")
    return start


@bp.post("/staff/bookings/<booking_id>/reschedule")
@staff("admin", "frontdesk")
def reschedule(booking_id: str):
    booking, now, zone = _booking(booking_id), clock.now(), clock.practice_zone().key
    form = StaffRescheduleForm()
    forms = _blank_forms(booking)
    forms.reschedule = form
    if not form.validate_on_submit():
        return _page(booking, forms=forms, status=422, open_form="reschedule")
    new_start = _new_start(form, zone)
    if new_start is None:
        return _page(booking, forms=forms, status=422, open_form="reschedule")
    try:
        moved = staff_changes.reschedule(booking.id, new_start, actor=_me(), now=now,
                                         expected_sequence=form.sequence.data)
    except ActionRefused as exc:
        return _changed(booking.id, str(exc), exc.status)
    except SlotUnavailable:
        db.session.rollback()
        form.slot.errors.append(f"{display.when(new_start, zone)} isn't open for {booking.counselor.name}: it is "
                                "taken, outside their hours, or too soon. Choose one of the open times.")
        return _page(_booking(booking_id), forms=forms, status=409, open_form="reschedule")
    except BookingInvalid as exc:
        db.session.rollback()
        form.slot.errors.extend(m for messages in exc.errors.values() for m in messages)
        return _page(_booking(booking_id), forms=forms, status=422, open_form="reschedule")
    except BookingBusy:
        return _changed(booking.id, "The calendar is busy just now. Please try again in a moment.", 503)
    flash(f"Moved to {display.when(moved.booking.starts_at, zone)}. Everyone on the booking has been emailed "
          "the new time with a new link.", "success")
    return redirect(url_for("frontdesk_bookings.booking_page", booking_id=booking.id), 303)


def _refund_choice(form: StaffCancelForm) -> staff_changes.RefundChoice | None:
    how = form.refund.data
    if how != "amount":
        return staff_changes.RefundChoice(how)
    try:
        amount = parse_amount(form.amount.data)
    except AmountInvalid as exc:
        form.amount.errors.append(str(exc))
        amount = None
    reason = (form.override_reason.data or "").strip()
    if not reason:
        form.override_reason.errors.append("Say why this amount is refunded rather than what the policy gives.")
    if amount is None or not reason:
        return None
    return staff_changes.RefundChoice("amount", amount=amount, reason=reason)


@bp.post("/staff/bookings/<booking_id>/cancel")
@staff("admin", "frontdesk")
def cancel(booking_id: str):
    booking, now = _booking(booking_id), clock.now()
    form = StaffCancelForm()
    forms = _blank_forms(booking)
    forms.cancel = form
    valid = form.validate_on_submit()
    choice = _refund_choice(form) if form.refund.data in ("policy", "full", "amount") else None
    if not valid or choice is None:
        return _page(booking, forms=forms, status=422, open_form="cancel")
    try:
        cancelled = staff_changes.cancel(booking.id, reason=form.reason.data, refund=choice, actor=_me(), now=now,
                                         expected_sequence=form.sequence.data)
    except ActionRefused as exc:
        return _changed(booking.id, str(exc), exc.status)
    except refunds.RefundRefused as exc:
        db.session.rollback()
        form.amount.errors.append(str(exc))
        return _page(_booking(booking_id), forms=forms, status=422, open_form="cancel")
    except BookingInvalid as exc:
        db.session.rollback()
        form.reason.errors.extend(m for messages in exc.errors.values() for m in messages)
        return _page(_booking(booking_id), forms=forms, status=422, open_form="cancel")
    except BookingBusy:
        return _changed(booking.id, "The calendar is busy just now. Please try again in a moment.", 503)
    flash("The booking is cancelled, and everyone on it has been emailed. " + _refund_said(cancelled), "success")
    return redirect(url_for("frontdesk_bookings.booking_page", booking_id=booking.id), 303)


def _refund_said(booking: Booking) -> str:
    payment = Payment.of_booking(booking.id)
    if payment is None:
        return "Nothing had been paid."
    made = [r for r in payment.refunds if r.kind == "cancellation"]
    if not made:
        return "No refund was made."
    return f"A refund of {money(made[-1].amount, payment.currency)} is on its way to Stripe."


@bp.post("/staff/bookings/<booking_id>/attendance")
@staff("admin", "frontdesk", "counselor")
def attendance(booking_id: str):
    booking, now = _booking(booking_id), clock.now()
    form = AttendanceForm()
    forms = _blank_forms(booking)
    forms.attendance = form
    if not form.validate_on_submit():
        return _page(booking, forms=forms, status=422, open_form="attendance")
    try:
        marked = staff_changes.mark_attendance(booking.id, form.outcome.data, actor=_me(), now=now,
                                               expected_sequence=form.sequence.data)
    except ActionRefused as exc:
        return _changed(booking.id, str(exc), exc.status)
    except BookingInvalid as exc:
        db.session.rollback()
        form.outcome.errors.extend(m for messages in exc.errors.values() for m in messages)
        return _page(_booking(booking_id), forms=forms, status=422, open_form="attendance")
    except BookingBusy:
        return _changed(booking.id, "The calendar is busy just now. Please try again in a moment.", 503)
    flash("Marked as completed." if marked.status == BookingStatus.completed else "Marked as a no-show.",
          "success")
    return redirect(url_for("frontdesk_bookings.booking_page", booking_id=booking.id), 303)


@bp.post("/staff/bookings/<booking_id>/resend")
@staff("admin", "frontdesk")
def resend(booking_id: str):
    booking, now = _booking(booking_id), clock.now()
    if not ResendLinksForm().validate_on_submit():
        return _page(booking, status=422, problem="The form had expired. Please try again.")
    try:
        sent = staff_changes.resend_links(booking.id, actor=_me(), now=now)
    except ActionRefused as exc:
        return _changed(booking.id, str(exc), exc.status)
    except BookingBusy:
        return _changed(booking.id, "The calendar is busy just now. Please try again in a moment.", 503)
    flash(f"A fresh link was emailed to {'each of the ' + str(sent) + ' people' if sent > 1 else 'the client'}; "
          "their old links no longer work." if sent else "Nobody on this booking has an email address to send to.",
          "success")
    return redirect(url_for("frontdesk_bookings.booking_page", booking_id=booking.id), 303)
