"""Each person's invite for their booking, behind their own link.

    GET /bookings/<id>/invite.ics?token=   that person's invite: REQUEST, or CANCEL once the booking is cancelled

The same invite as the one their emails carry (same UID and SEQUENCE), so adding it to a calendar after the
email did updates the event rather than adding a second one. Opening it changes nothing.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from practice import clock
from practice.access import public
from practice.booking import service as booking_service
from practice.booking.views.common import limited, page_helpers
from practice.booking.views.manage import link_problem
from practice.calendar import invites

bp = Blueprint("calendar", __name__)
bp.context_processor(page_helpers)  # its pages (a link that opens nothing) are booking pages


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"  # it names the person, the counselor and the time
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL carries the person's token
    return response


@bp.get("/bookings/<booking_id>/invite.ics")
@public
@limited
def invite(booking_id: str):
    now = clock.now()
    token = request.args.get("token")
    try:
        access = booking_service.open_link(booking_id, token, now=now)
    except booking_service.LinkInvalid as exc:
        # A cancelled booking's links are revoked with it: its CANCEL went to each person by email already.
        return link_problem(exc)
    booking = access.booking
    if not invites.has_invite(booking):
        return render_template(
            "errors/error.html", status=409, title="Not in a calendar yet",
            message="This session isn't confirmed yet, so there's nothing to add to your calendar. Your invite "
                    "comes by email with the confirmation."), 409
    made = invites.invites(booking, now=now)[access.participant.role]
    response = current_app.response_class(made.content, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{invites.FILENAME}"'
    return response
