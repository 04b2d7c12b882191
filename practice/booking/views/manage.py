"""The pages behind each person's link: the manage page (view, reschedule, cancel) and "resend my links".

A link's token travels in the manage URL's query (as emailed) and in POST bodies; nothing here logs a URL.
Opening a page never changes anything (mail scanners open links), so every change is a POST, and the service
checks the link again before it acts.
"""
from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request

from practice import clock
from practice.access import public
from practice.booking import display, service
from practice.booking.forms import CancelForm, RescheduleForm, ResendForm
from practice.booking.models import BookingStatus
from practice.booking.views.common import (DAYS_SHOWN, NOTICES, STATUS_TEXT, bp, booking_url, client_address,
                                           form_for, limited, rate_limit, shown_week, viewer_zone, zone_choices)
from practice.extensions import limiter
from practice.scheduling import service as scheduling

# --- 3. the manage page ---------------------------------------------------------------------------------

@bp.get("/bookings/<booking_id>")
@public
@limited
def manage(booking_id: str):
    now = clock.now()
    token = request.args.get("token")
    try:
        access = service.open_link(booking_id, token, now=now)
    except service.LinkInvalid as exc:
        return link_problem(exc)
    return _manage_page(access, token, now=now, just_booked=request.args.get("booked") == "1",
                        notice=NOTICES.get(request.args.get("notice", "")))


def _manage_page(access: service.LinkAccess, token: str, *, now: datetime, cancel_form: CancelForm | None = None,
                 status: int = 200, just_booked: bool = False, notice: str | None = None, problem: str | None = None):
    booking = access.booking
    zone = booking.client_timezone or booking.counselor.timezone
    hold_ends = booking.hold_expires_at if booking.status == BookingStatus.held else None
    hold_ran_out = hold_ends is not None and hold_ends <= now
    refusal = _change_refusal(access, now=now)
    if cancel_form is None and refusal is None:
        cancel_form = form_for(CancelForm, formdata=None, data={"token": token})
    return render_template(
        "booking/manage.html", b=booking, role=access.participant.role, token=token, zone=zone,
        may_change=refusal is None and not hold_ran_out, refusal=refusal, cancel_form=cancel_form,
        hold_ends=None if hold_ran_out else hold_ends, hold_ran_out=hold_ran_out,
        seconds_left=int((hold_ends - now).total_seconds()) if hold_ends and not hold_ran_out else 0,
        free_until=service.free_change_until(booking),
        free_change=service.within_free_change_window(booking, now=now), just_booked=just_booked,
        status_label="Released: the hold ran out" if hold_ran_out else STATUS_TEXT[booking.status],
        notice=notice, problem=problem, client=booking.participant("client"), partner=booking.participant("partner"),
    ), status


def _change_refusal(access: service.LinkAccess, *, now: datetime) -> tuple[str, int] | None:
    """Why this link can't change the booking now (the service checks again), or None."""
    booking = access.booking
    if not access.may_change:
        return ("Only the person who booked can change it. If something needs to change, ask them, or call "
                "the practice.", 403)
    if booking.status == BookingStatus.cancelled:
        return "This booking was cancelled, so it can't be changed. You're welcome to book again.", 409
    if not booking.is_live:
        return "This session has already taken place.", 409
    if booking.starts_at <= now:
        return "This session has already started, so it can't be changed online.", 409
    return None


LINK_PROBLEMS = {
    "unknown": (404, "This link doesn't open a booking",
                "The link may be incomplete: check that you copied all of it from the email."),
    "revoked_reissued": (410, "This link has been replaced",
                         "A newer link was sent to you by email; please use that one."),
    "revoked_cancelled": (410, "This booking was cancelled",
                          "This booking was cancelled, so its link no longer opens it. You're welcome to book "
                          "again."),
    "expired": (410, "This link has expired",
                "Links work until a day after the session, and this session has passed."),
}


def link_problem(exc: service.LinkInvalid):
    """The page for a manage link that opens nothing (also for the other pages a manage link opens)."""
    status, title, message = LINK_PROBLEMS.get(exc.reason, LINK_PROBLEMS["unknown"])
    return render_template("booking/link_problem.html", reason=exc.reason, title=title, message=message,
                           status=status), status


def _refused(message: str, status: int, *, booking_id=None, token: str | None = None):
    return render_template("booking/refused.html", message=message, status=status, booking_id=booking_id,
                           token=token), status


@bp.post("/bookings/<booking_id>/cancel")
@public
@limited
def cancel(booking_id: str):
    now = clock.now()
    form = form_for(CancelForm)
    token = form.token.data
    try:
        access = service.open_link(booking_id, token, now=now)
    except service.LinkInvalid as exc:
        return link_problem(exc)
    refusal = _change_refusal(access, now=now)
    if refusal is not None:
        return _refused(*refusal, booking_id=access.booking.id, token=token)
    if not form.validate_on_submit():
        return _manage_page(access, token, now=now, cancel_form=form, status=422)
    try:
        cancelled = service.cancel(access.booking.id, token, form.reason.data or "", now=now)
    except service.LinkInvalid as exc:
        return link_problem(exc)
    except service.ActionRefused as exc:
        return _refused(str(exc), exc.status, booking_id=access.booking.id, token=token)
    except service.BookingBusy:
        return _manage_page(access, token, now=now, cancel_form=form, status=503,
                            problem="We couldn't cancel just now because many people are booking. Please try "
                                    "again in a moment.")
    return render_template("booking/cancelled.html", b=cancelled,
                           zone=cancelled.client_timezone or cancelled.counselor.timezone)


@bp.route("/bookings/<booking_id>/reschedule", methods=["GET", "POST"])
@public
@limited
def reschedule(booking_id: str):
    now = clock.now()
    form = form_for(RescheduleForm)
    token = form.token.data if request.method == "POST" else request.args.get("token")
    try:
        access = service.open_link(booking_id, token, now=now)
    except service.LinkInvalid as exc:
        return link_problem(exc)
    booking = access.booking
    refusal = _change_refusal(access, now=now)
    if refusal is not None:
        return _refused(*refusal, booking_id=booking.id, token=token)
    zone, _, _ = viewer_zone(booking.client_timezone or booking.counselor.timezone)
    status, notice = 200, None
    if request.method == "GET":
        form = form_for(RescheduleForm, formdata=None, data={"token": token,
                                                          "expected_start": display.url_start(booking.starts_at)})
    elif form.validate_on_submit():
        new_start = display.parse_start(form.start.data)
        if new_start is None:
            form.start.errors.append("Choose one of the times shown.")
            status = 422
        else:
            try:
                moved = service.reschedule(booking.id, token, new_start, now=now,
                                           expected_start=display.parse_start(form.expected_start.data))
            except service.LinkInvalid as exc:
                return link_problem(exc)
            except service.ActionRefused as exc:
                if exc.status == 409:  # changed meanwhile: show it as it stands now
                    return _manage_page(access, token, now=now, status=409, problem=str(exc))
                return _refused(str(exc), exc.status, booking_id=booking.id, token=token)
            except service.SlotUnavailable:
                notice, status = NOTICES["slot_taken"], 409
            except service.BookingInvalid as exc:
                form.start.errors.extend(m for messages in exc.errors.values() for m in messages)
                status = 422
            except service.BookingBusy:
                notice, status = "Many people are booking right now. Please try again in a moment.", 503
            else:
                return redirect(booking_url("booking.manage", booking_id=moved.booking.id,
                                            token=moved.tokens["client"], notice="moved"))
    else:
        status = 422
    week = shown_week(now, zone)
    # The booking's own time doesn't block its move (e.g. half an hour later, into its old buffer).
    result = scheduling.slots_for(booking.counselor.slug, booking.service.slug, start_day=week.first, end_day=week.last,
                                  zone=zone, now=now, exclude_booking=booking.id)
    starts = [s.start for s in result.slots if s.start != booking.starts_at] if result else []
    return render_template(
        "booking/reschedule.html", b=booking, token=token, form=form, zone=zone, notice=notice,
        days=display.days_with_slots(starts, zone, week.first, DAYS_SHOWN), first_day=week.first,
        last_day=week.last, previous_week=week.previous, next_week=week.next,
        free_change=service.within_free_change_window(booking, now=now),
        zone_choices=zone_choices(zone),
    ), status


# --- 4. resend my links ---------------------------------------------------------------------------------

@bp.route("/bookings/resend", methods=["GET", "POST"])
@public
@limiter.limit(rate_limit, key_func=client_address, methods=["POST"])
def resend():
    form = form_for(ResendForm)
    sent = False
    if form.validate_on_submit():
        # The same answer, after the same work, whether or not the address has bookings: this page must not
        # tell anyone who booked. The links are looked up and sent after the response.
        service.request_links(form.email.data, now=clock.now())
        sent = True
        form = form_for(ResendForm, formdata=None)
    return render_template("booking/resend.html", form=form, sent=sent), 422 if form.errors else 200
