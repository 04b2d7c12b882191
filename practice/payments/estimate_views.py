"""A self-pay client's good-faith estimate, behind their booking link: as a printable page and as a PDF; and the
short panel about it on the manage page (`estimate_of`, a template helper).

    GET /bookings/<id>/estimate?token=       the estimate as a page
    GET /bookings/<id>/estimate.pdf?token=   the same content as a PDF (a download)

The estimate names the client's date of birth, so only the client's own link opens it (a partner's gets 403),
each view is written to the audit log, and neither response is cached or sends its URL on as a referrer.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request

from practice import clock
from practice.access import public
from practice.booking import service as booking_service
from practice.booking.views.common import limited, page_helpers
from practice.booking.views.manage import link_problem
from practice.core.estimate import amount_text, date_text, sections, shown
from practice.payments import estimate as estimates
from practice.payments.estimate_pdf import estimate_pdf

estimate_bp = Blueprint("estimate", __name__)
estimate_bp.context_processor(page_helpers)  # its pages are booking pages (the frame, the embed)


@estimate_bp.app_context_processor
def _estimate_helpers():
    return {"estimate_of": estimate_of}


@estimate_bp.context_processor
def _estimate_text():
    return {"estimate_money": amount_text, "estimate_date": date_text, "estimate_shown": shown}


@estimate_bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def estimate_of(booking) -> dict | None:
    """What the manage page says of a booking's estimate: its totals and date, or None when it has none."""
    if not estimates.needs_estimate(booking):
        return None
    estimate = estimates.estimate_of(booking.id)
    if estimate is None:
        return None
    content = estimate.content
    return {"total": amount_text(content["total"], content["currency"]),
            "trial_total": amount_text(content["trial_total"], content["currency"]),
            "issued_on": date_text(content["issued_on"])}


@estimate_bp.get("/bookings/<booking_id>/estimate")
@public
@limited
def page(booking_id: str):
    opened = _open(booking_id, request.args.get("token"), shown_as="page")
    if isinstance(opened, Response):
        return opened
    booking, content = opened
    return render_template("payments/estimate.html", b=booking, token=request.args.get("token"), c=content,
                           groups=sections(content))


@estimate_bp.get("/bookings/<booking_id>/estimate.pdf")
@public
@limited
def pdf(booking_id: str):
    opened = _open(booking_id, request.args.get("token"), shown_as="pdf")
    if isinstance(opened, Response):
        return opened
    _booking, content = opened
    response = current_app.response_class(estimate_pdf(content), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="good-faith-estimate.pdf"'
    return response


def _open(booking_id: str, token: str | None, *, shown_as: str):
    """(booking, estimate content) for the client's own link, the view audited; else the response saying why
    not."""
    try:
        access = booking_service.open_link(booking_id, token, now=clock.now())
    except booking_service.LinkInvalid as exc:
        return make_response(*link_problem(exc))
    booking = access.booking
    if access.participant.role != "client":
        return _unavailable("This estimate is private to the person who booked, because it names their date of "
                            "birth. If you'd like your own, ask the practice.", 403)
    estimate = estimates.open_estimate(booking.id, shown_as=shown_as)
    if estimate is None:
        return _unavailable("There's no good-faith estimate for this booking. We give one when a paid session is "
                            "booked by someone paying for it themselves. If that's you, ask the practice and "
                            "we'll prepare one.", 404, booking=booking, token=token)
    return booking, estimate.content


def _unavailable(message: str, status: int, *, booking=None, token: str | None = None):
    return make_response(render_template("payments/estimate_unavailable.html", message=message, b=booking,
                                         token=token, status=status), status)
