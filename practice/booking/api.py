"""Bookings over the JSON API: create, read with a link's token, reschedule, cancel."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from practice import clock
from practice.access import public
from practice.booking import service
from practice.booking.models import BookingStatus
from practice.booking.links import manage_url
from practice.booking.schemas import INSURANCE_ANSWERS, BookingIn, CancelIn, RescheduleIn, flatten
from practice.booking.signals import booking_shown
from practice.extensions import limiter

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")


# Made once: a schema holds no state between loads, and making one (with its nested schemas) cost a booking
# request a quarter of a millisecond.
_BOOKING_IN, _RESCHEDULE_IN, _CANCEL_IN = BookingIn(), RescheduleIn(), CancelIn()


def _rate_limit():
    return current_app.config["BOOKING_RATE_LIMIT"]


# The longest IANA zone name is 32 characters; past a file name's length ZoneInfo raises OSError instead of
# saying the zone is unknown, so a longer one is checked as "" (unknown, with the schema's own message).
MAX_ZONE_LENGTH = 64
# A start further than this from now is never offered, and near year 1 or 9999 it cannot even be turned into
# UTC or given a session's length: it is refused as input rather than overflowing.
MAX_START_DISTANCE = timedelta(days=3660)


def _load(schema, data):
    if not isinstance(data, dict):
        raise service.BookingInvalid({"body": ["Send a JSON object."]})
    zone = data.get("timezone")
    if isinstance(zone, str) and len(zone) > MAX_ZONE_LENGTH:
        data = {**data, "timezone": ""}
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise service.BookingInvalid(flatten(exc.messages)) from None
    start = loaded.get("start")
    if start is not None and abs(start - clock.now()) > MAX_START_DISTANCE:
        raise service.BookingInvalid({"start": [
            "Choose a start from the free slots: this one is more than ten years from now."]})
    return loaded


def booking_json(booking, *, role: str | None = None, tokens: dict[str, str] | None = None,
                 intake_urls: dict[str, str] | None = None, may_change: bool | None = None,
                 may_start_payment: bool = False) -> dict:
    """The booking as its client sees it. Only the client's own links: the partner's reach the partner by email
    alone, so the booker can never open the partner's page or private intake. Other domains add their part
    (the payment) through booking_shown; `may_start_payment` lets a POST start the booking's payment."""
    tz = ZoneInfo(booking.client_timezone)
    svc = booking.service
    payment_status = "not_required" if svc.price == 0 else (
        "succeeded" if booking.status == BookingStatus.confirmed else "awaiting")
    tokens = tokens or {}
    body = {
        "id": str(booking.id),
        "status": booking.status.value,
        "counselor": booking.counselor.slug,
        "service": svc.slug,
        "start": booking.starts_at.astimezone(tz).isoformat(),
        "end": booking.ends_at.astimezone(tz).isoformat(),
        "timezone": booking.client_timezone,
        "manage_url": manage_url(booking, tokens["client"]) if "client" in tokens else None,
        "payment": {
            "required": svc.price > 0, "amount": svc.price, "currency": svc.currency, "status": payment_status,
            "hold_expires_at": booking.hold_expires_at.astimezone(tz).isoformat()
            if booking.hold_expires_at and booking.status == BookingStatus.held else None,
        },
        "intake_urls": {"client": intake_urls["client"]} if intake_urls and "client" in intake_urls else {},
        "free_change_until": service.free_change_until(booking).astimezone(tz).isoformat(),
    }
    if role is not None:
        body["role"] = role
    if may_change is not None:
        body["may_change"] = may_change
    for _receiver, extra in booking_shown.send(booking, role=role, now=clock.now(), may_start=may_start_payment,
                                               token=tokens.get("client")):
        body.update(extra or {})
    return body


@bp.post("/bookings")
@public
@limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "")
def create_booking():
    """Book a session.
    ---
    post:
      operationId: createBooking
      tags: [Bookings]
      summary: Book a session
      description: >
        Reserves a start returned by the slots endpoint. A free service is confirmed at once; a paid one is held
        for a few minutes while the client pays. Each person gets a private manage link by email; the client's is
        also returned here.
      requestBody:
        required: true
        content:
          application/json:
            schema: BookingIn
      responses:
        201:
          description: booked (confirmed, or held until paid)
          content:
            application/json:
              schema: BookingOut
          links:
            booking:
              operationId: getBooking
              parameters:
                booking_id: '$response.body#/id'
                token: '$response.body#/manage_url#regex:[?&]token=([^&]+)'
            reschedule:
              operationId: rescheduleBooking
              parameters: {booking_id: '$response.body#/id'}
              requestBody: {token: '$response.body#/manage_url#regex:[?&]token=([^&]+)'}
            cancel:
              operationId: cancelBooking
              parameters: {booking_id: '$response.body#/id'}
              requestBody: {token: '$response.body#/manage_url#regex:[?&]token=([^&]+)'}
            pay:
              operationId: startPayment
              parameters: {booking_id: '$response.body#/id'}
              requestBody: {token: '$response.body#/manage_url#regex:[?&]token=([^&]+)'}
            intake:
              operationId: getIntake
              parameters: {token: '$response.body#/intake_urls/client#regex:/intake/([^/?#]+)'}
        409:
          description: '`{"error": "slot_unavailable"}`: the time was taken or is no longer bookable'
          content:
            application/json:
              schema: Error
        413: PayloadTooLarge
        422:
          description: >
            invalid input, with messages per field (nested fields as "client.email"); when the counselor is not
            licensed in the client's state, `alternatives` names counselors who are
          content:
            application/json:
              schema: BookingValidationError
        429: TooManyRequests
        503: Unavailable
    """
    data = _load(_BOOKING_IN, request.get_json(silent=True))
    req = service.BookingRequest(
        counselor=data["counselor"], service=data["service"], start=data["start"], timezone=data["timezone"],
        client=service.PersonIn(**data["client"]),
        partner=service.PersonIn(**data["partner"]) if data.get("partner") else None,
        uses_insurance=INSURANCE_ANSWERS.get(data["insurance"]), date_of_birth=data["date_of_birth"],
    )
    created = service.book(req, now=clock.now())
    return jsonify(booking_json(created.booking, tokens={"client": created.tokens["client"]},
                                intake_urls=created.intake_urls, may_start_payment=True)), 201


@bp.get("/bookings/<booking_id>")
@public
@limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "")
def get_booking(booking_id: str):
    """A booking, as the person whose link it is sees it.
    ---
    get:
      operationId: getBooking
      tags: [Bookings]
      summary: Read a booking with a manage link's token
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: string, format: uuid}}
        - {in: query, name: token, required: true, schema: {type: string}}
      responses:
        200:
          description: the booking, as the person whose link it is sees it (`role`, `may_change`)
          content:
            application/json:
              schema: BookingOut
        404: NotFound
        410: LinkGone
        429: TooManyRequests
    """
    access = service.open_link(booking_id, request.args.get("token"), now=clock.now())
    return jsonify(booking_json(access.booking, role=access.participant.role, may_change=access.may_change))


@bp.post("/bookings/<booking_id>/reschedule")
@public
@limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "")
def reschedule_booking(booking_id: str):
    """Move a booking to another free start.
    ---
    post:
      operationId: rescheduleBooking
      tags: [Bookings]
      summary: Reschedule with the client's manage token
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content:
          application/json:
            schema: RescheduleIn
      responses:
        200:
          description: moved; fresh links are emailed and the client's is returned
          content:
            application/json:
              schema: BookingOut
          links:
            booking:
              operationId: getBooking
              parameters:
                booking_id: '$response.body#/id'
                token: '$response.body#/manage_url#regex:[?&]token=([^&]+)'
            cancel:
              operationId: cancelBooking
              parameters: {booking_id: '$response.body#/id'}
              requestBody: {token: '$response.body#/manage_url#regex:[?&]token=([^&]+)'}
        403: PartnerLink
        404: NotFound
        409:
          description: >
            `{"error": "slot_unavailable"}`: the new time is not free; or `{"error": "not_allowed", "message"}`:
            the booking can no longer be changed (cancelled, started, past, or its payment hold ran out)
          content:
            application/json:
              schema: Error
        410: LinkGone
        413: PayloadTooLarge
        422:
          description: invalid input, with messages per field
          content:
            application/json:
              schema: ValidationError
        429: TooManyRequests
        503: Unavailable
    """
    data = _load(_RESCHEDULE_IN, request.get_json(silent=True))
    moved = service.reschedule(booking_id, data["token"], data["start"], now=clock.now())
    return jsonify(booking_json(moved.booking, role="client", tokens={"client": moved.tokens["client"]},
                                may_change=True))


@bp.post("/bookings/<booking_id>/cancel")
@public
@limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "")
def cancel_booking(booking_id: str):
    """Cancel a booking.
    ---
    post:
      operationId: cancelBooking
      tags: [Bookings]
      summary: Cancel with the client's manage token
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content:
          application/json:
            schema: CancelIn
      responses:
        200:
          description: cancelled; `refund` says what is given back under the cancellation policy
          content:
            application/json:
              schema: BookingOut
        403: PartnerLink
        404: NotFound
        409:
          description: >
            `{"error": "not_allowed", "message"}`: already cancelled, started or past, or its payment hold ran out
          content:
            application/json:
              schema: Error
        410: LinkGone
        413: PayloadTooLarge
        422:
          description: invalid input, with messages per field (a missing token, a reason over 500 characters)
          content:
            application/json:
              schema: ValidationError
        429: TooManyRequests
        503: Unavailable
    """
    data = _load(_CANCEL_IN, request.get_json(silent=True))
    cancelled = service.cancel(booking_id, data["token"], data["reason"], now=clock.now())
    return jsonify(booking_json(cancelled, role="client", may_change=False))


def register_error_handlers(app) -> None:
    """Domain errors as JSON on the API, and as pages elsewhere (the web views catch their own)."""

    from flask import render_template

    def api(handler):
        def wrapped(exc):
            if request.path.startswith("/api/"):
                return handler(exc)
            # Web pages catch these themselves; this is only a safety net that still says something useful.
            status = getattr(exc, "status", None) or {service.SlotUnavailable: 409, service.BookingBusy: 503,
                                                       service.LinkInvalid: 404}.get(type(exc), 422)
            return render_template("errors/error.html", status=status, title="We couldn't do that",
                                   message=str(exc) or "That time is no longer available."), status
        return wrapped

    app.register_error_handler(service.BookingInvalid, api(lambda exc: (jsonify(
        errors=exc.errors, **({"alternatives": exc.alternatives} if exc.alternatives else {})), 422)))
    app.register_error_handler(service.SlotUnavailable, api(lambda exc: (jsonify(error="slot_unavailable"), 409)))
    app.register_error_handler(service.BookingBusy, api(lambda exc: (jsonify(
        error="busy", message="Many people are booking right now. Please try again."), 503)))
    app.register_error_handler(service.LinkInvalid, api(lambda exc: (jsonify(
        error="not_found" if exc.reason == "unknown" else f"link_{exc.reason}"),
        404 if exc.reason == "unknown" else 410)))
    app.register_error_handler(service.ActionRefused, api(lambda exc: (jsonify(
        error="not_allowed", message=str(exc)), exc.status)))
