"""Bookings over the JSON API: create, read with a link's token, reschedule, cancel."""
from __future__ import annotations

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


def _load(schema, data):
    if not isinstance(data, dict):
        raise service.BookingInvalid({"body": ["Send a JSON object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise service.BookingInvalid(flatten(exc.messages)) from None


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
        409:
          description: '{"error": "slot_unavailable"}: the time was taken or is no longer bookable'
          content:
            application/json:
              schema: Error
        422:
          description: invalid input, with messages per field (nested fields as "client.email")
          content:
            application/json:
              schema: ValidationError
        429: {description: too many requests}
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
      summary: Read a booking with a manage link's token
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: string, format: uuid}}
        - {in: query, name: token, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema: BookingOut
        404: {description: 'no booking for this id and token ({"error": "not_found"})'}
        410: {description: 'the link was revoked or has expired ({"error": "link_revoked_cancelled" | ...})'}
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
        403: {description: a partner's link cannot change the booking}
        409: {description: 'slot_unavailable, or the booking can no longer be changed'}
        422: {description: invalid input}
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
          content:
            application/json:
              schema: BookingOut
        403: {description: a partner's link cannot change the booking}
        409: {description: already cancelled or past}
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
