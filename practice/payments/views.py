"""Paying for a held booking (the client's card page), the API's way to the same, and Stripe's webhook.

Opening a page never starts a payment (mail scanners open links): the manage page offers a button that POSTs
here, which makes the PaymentIntent (the same one every time for a booking) and shows the card form. The card
goes from the browser to Stripe, never through this app. Only the webhook, signed by Stripe, confirms.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import stripe
from flask import Blueprint, current_app, g, jsonify, render_template, request

from practice import clock
from practice.access import public
from practice.booking import service as booking_service
from practice.booking.models import BookingStatus
from practice.booking.views.common import page_helpers
from practice.extensions import limiter
from practice.payments import service
from practice.payments.models import Payment, PaymentStatus
from practice.payments.stripe_api import PaymentsUnavailable, configured

bp = Blueprint("payments", __name__)
api_bp = Blueprint("payments_api", __name__, url_prefix="/api/v1")
webhook_bp = Blueprint("stripe_webhook", __name__)


def _rate_limit():
    return current_app.config["BOOKING_RATE_LIMIT"]


limited = limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "")


def allow_stripe_on_page() -> None:
    """This page loads Stripe.js, which frames Stripe's card fields and talks to Stripe's API: let it
    (practice.web.security reads g.csp_sources)."""
    script = _origin(current_app.config["STRIPE_JS_URL"])
    api = _origin(current_app.config.get("STRIPE_API_BASE") or "https://api.stripe.com")
    g.csp_sources = {"script-src": [script], "frame-src": [script, "https://hooks.stripe.com"],
                     "connect-src": [script, api]}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


bp.context_processor(page_helpers)  # pay.html is a booking page


@bp.app_context_processor
def _payment_helpers():
    return {"payment_panel": payment_panel}


def payment_panel(booking, role: str) -> dict | None:
    """What the manage page says about paying (read only), or None for a free session."""
    if booking.service.price == 0:
        return None
    now = clock.now()
    payment = Payment.of_booking(booking.id)
    held = service.awaiting_payment(booking, now)
    return {
        "payment": payment,
        "status": payment.status.value if payment else PaymentStatus.awaiting.value,
        "amount": payment.amount if payment else booking.service.price,
        "currency": payment.currency if payment else booking.service.currency,
        "may_pay": held and role == "client" and configured(),
        "unavailable": held and not configured(),
        # The booker's card is the booker's business: a partner's page never says why it was declined.
        "failure": payment.failure_message if payment and payment.status == PaymentStatus.failed and
        role == "client" else None,
    }


@bp.post("/bookings/<booking_id>/pay")
@public
@limited
def pay(booking_id: str):
    """The card form for a held booking: its PaymentIntent is made (once) before the form is shown."""
    now = clock.now()
    token = request.form.get("token", "")
    try:
        access = booking_service.open_link(booking_id, token, now=now)
    except booking_service.LinkInvalid:
        return _refused("This link doesn't open a booking. Use the link in your email.", 404)
    booking = access.booking
    refusal = _why_not_payable(access, now=now)
    if refusal:
        return _refused(refusal, 409, booking_id=booking.id, token=token)
    try:
        payment = service.start_payment(booking.id, now=now)
    except PaymentsUnavailable:
        return _refused("Online payment isn't available at the moment. Please call the practice to pay, or try "
                        "again later.", 503, booking_id=booking.id, token=token)
    except service.PaymentError:
        return _refused("We couldn't reach the payment service just now. Please try again in a moment: your "
                        "time is still held.", 503, booking_id=booking.id, token=token)
    if payment.status not in (PaymentStatus.awaiting, PaymentStatus.failed):
        return _refused("This booking has already been paid.", 409, booking_id=booking.id, token=token)
    allow_stripe_on_page()
    seconds_left = int((booking.hold_expires_at - now).total_seconds())
    return render_template("payments/pay.html", b=booking, token=token, payment=payment,
                           publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
                           stripe_js=current_app.config["STRIPE_JS_URL"], seconds_left=seconds_left,
                           zone=booking.client_timezone or booking.counselor.timezone)


def _why_not_payable(access, *, now) -> str | None:
    booking = access.booking
    if access.participant.role != "client":
        return "Only the person who made the booking pays for it."
    if booking.service.price == 0:
        return "This session is free: there is nothing to pay."
    if booking.status == BookingStatus.confirmed:
        return "This booking is already paid and confirmed."
    if booking.status != BookingStatus.held:
        return "This booking is no longer waiting for payment."
    if booking.hold_expires_at <= now:
        return ("The hold on this time ran out before it was paid, so the time has been released. You're welcome "
                "to book again.")
    return None


def _refused(message: str, status: int, *, booking_id=None, token: str | None = None):
    return render_template("booking/refused.html", message=message, status=status, booking_id=booking_id,
                           token=token, title="We couldn't start the payment"), status


@api_bp.post("/bookings/<booking_id>/payment")
@public
@limited
def start_payment_api(booking_id: str):
    """Start paying for a held booking.
    ---
    post:
      operationId: startPayment
      tags: [Bookings]
      summary: Start (or resume) paying for a held booking
      description: >
        Makes the booking's PaymentIntent at Stripe, the same one every time, and returns the booking's payment
        object with the client secret and publishable key that Stripe.js needs to confirm it
        (stripe.confirmCardPayment). Only the person who booked may pay. The booking is confirmed when Stripe
        tells the practice the payment succeeded, by its signed webhook.
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [token], properties: {token: {type: string}}}
      responses:
        200:
          description: the booking's payment, with what Stripe.js needs to confirm it
          content:
            application/json:
              schema: PaymentOut
        404:
          description: '`{"error": "not_found"}`: no booking for this id and token, or the link no longer works'
          content:
            application/json:
              schema: Error
        409:
          description: '`{"error": "not_payable", "message": ...}`: a partner''s link, free, already paid, or the
            hold ran out'
          content:
            application/json:
              schema: Error
        413: PayloadTooLarge
        429: TooManyRequests
        503:
          description: '`{"error": "payments_unavailable"}`: Stripe is not configured or did not answer; or
            `{"error": "unavailable", "message": ...}`: the practice''s records cannot be reached (Retry-After)'
          headers:
            Retry-After: {description: Seconds to wait before trying again., schema: {type: integer}}
          content:
            application/json:
              schema: Error
    """
    now = clock.now()
    data = request.get_json(silent=True)
    token = data.get("token") if isinstance(data, dict) else None
    try:
        access = booking_service.open_link(booking_id, token, now=now)
    except booking_service.LinkInvalid:
        return jsonify(error="not_found"), 404
    refusal = _why_not_payable(access, now=now)
    if refusal:
        return jsonify(error="not_payable", message=refusal), 409
    try:
        service.start_payment(access.booking.id, now=now)
    except (PaymentsUnavailable, service.PaymentError):
        return jsonify(error="payments_unavailable"), 503
    return jsonify(service.payment_json(access.booking, role="client", now=now))


@webhook_bp.post("/stripe/webhook")
@public
def stripe_webhook():
    """Stripe's events, verified by signature on the raw body; each applied once."""
    try:
        event = service.verified_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except PaymentsUnavailable:
        return jsonify(error="webhook_not_configured"), 503
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="invalid_signature"), 400
    outcome = service.apply_event(event, now=clock.now())
    return jsonify(received=True, outcome=outcome)
