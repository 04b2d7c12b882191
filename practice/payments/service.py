"""Paying for a booking: its PaymentIntent, what the client is shown, and Stripe's word on it (the webhook).

The only writer of payment and processed_stripe_event rows. The flow:
1. A paid booking is held (booking.create). `start_payment` makes its PaymentIntent at Stripe (automatic capture,
   idempotency key from the booking, so a retry or a second tab gets the same one) and a Payment row.
2. The browser confirms it with Stripe.js and the client secret.
3. Only the verified webhook says it succeeded (`apply_event`): the payment is marked, and the booking confirmed
   through booking.confirm_paid, under the calendar lock like every other change of a calendar. Each event is
   applied once: its id is saved in the same transaction as its change.
Stripe is told the booking id and "Session at <practice>", nothing else: no names, conditions or answers.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import stripe
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from practice.audit import service as audit
from practice.auth.models import PracticeSettings
from practice.booking import service as booking_service
from practice.booking.guard import calendar_write, lock_calendar
from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus
from practice.database import begin_write
from practice.extensions import db
from practice.payments import refunds
from practice.payments.models import Payment, PaymentStatus, ProcessedStripeEvent, Refund, RefundState
from practice.payments.policy import practice_policy, snapshot
from practice.payments.signals import late_payment_refused, payment_failed
from practice.payments.stripe_api import PaymentsUnavailable, client, configured

log = logging.getLogger(__name__)

HANDLED_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded")


class PaymentError(RuntimeError):
    """Stripe could not be reached or refused to start a payment: the client is asked to try again soon."""


def awaiting_payment(booking: Booking, now: datetime) -> bool:
    """Still to be paid: held, and the hold has not run out."""
    return booking.status == BookingStatus.held and booking.hold_expires_at is not None and \
        booking.hold_expires_at > now


def start_payment(booking_id: uuid.UUID, *, now: datetime) -> Payment:
    """The booking's payment, its PaymentIntent made at Stripe if it has none yet; committed.

    Raises PaymentsUnavailable without Stripe keys, PaymentError when Stripe fails.
    """
    payment = Payment.of_booking(booking_id)
    if payment is not None and payment.stripe_payment_intent_id:
        return payment
    booking = db.session.get(Booking, booking_id)
    amount, currency = booking.service.price, booking.service.currency
    practice_name = PracticeSettings.current().practice_name
    terms_promised = snapshot(practice_policy())  # as shown on the page the client paid from
    # No transaction stays open while Stripe answers: SQLite would refuse the write after it if anyone else had
    # written meanwhile, and PostgreSQL would keep a connection idle in a transaction.
    db.session.rollback()
    try:
        intent = client().v1.payment_intents.create(
            params={"amount": amount, "currency": currency.lower(), "capture_method": "automatic",
                    "payment_method_types": ["card"], "description": f"Session at {practice_name}",
                    "metadata": {"booking_id": str(booking_id)}},
            # The same booking always gets the same PaymentIntent, however often this runs.
            options={"idempotency_key": f"booking-{booking_id}-payment"},
        )
    except stripe.StripeError as exc:
        log.warning("could not start the payment of booking %s: %s", booking_id, type(exc).__name__)
        raise PaymentError(str(exc.user_message or "The payment service did not answer.")) from None
    begin_write(db.session)
    payment = Payment.of_booking(booking_id) or Payment(
        booking_id=booking_id, amount=amount, currency=currency, status=PaymentStatus.awaiting, amount_refunded=0,
        created_at=now, cancellation_policy=terms_promised)
    if payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id, payment.client_secret = intent.id, intent.client_secret
        payment.updated_at = now
        db.session.add(payment)
    try:
        db.session.commit()
    except IntegrityError:  # a second request for the same booking saved the same PaymentIntent first
        db.session.rollback()
        payment = Payment.of_booking(booking_id)
    return payment


def payment_json(booking: Booking, *, role: str | None, now: datetime, may_start: bool = False) -> dict:
    """The API's `payment` object. For a paid booking still to be paid, the client (never a partner) gets what
    Stripe.js needs to pay: the PaymentIntent's client secret and the publishable key. `may_start` (a POST):
    make the PaymentIntent if the booking has none yet; a GET only shows what there is."""
    svc = booking.service
    body = {"required": svc.price > 0, "amount": svc.price, "currency": svc.currency,
            "status": "not_required" if svc.price == 0 else PaymentStatus.awaiting.value,
            "hold_expires_at": None}
    if svc.price == 0:
        return body
    zone = booking.client_timezone
    if booking.status == BookingStatus.held and booking.hold_expires_at:
        body["hold_expires_at"] = booking.hold_expires_at.astimezone(ZoneInfo(zone)).isoformat()
    payment = Payment.of_booking(booking.id)
    if payment is None and may_start and role in (None, "client") and awaiting_payment(booking, now) and \
            configured():
        try:
            payment = start_payment(booking.id, now=now)
        except PaymentError:
            payment = None  # shown as awaiting with no secret: the client tries again in a moment
    if payment is not None:
        body["status"] = payment.status.value
        body["amount"], body["currency"] = payment.amount, payment.currency
    payable = payment is not None and role in (None, "client") and awaiting_payment(booking, now) and \
        payment.status in (PaymentStatus.awaiting, PaymentStatus.failed)
    body["client_secret"] = payment.client_secret if payable else None
    body["publishable_key"] = current_app.config.get("STRIPE_PUBLISHABLE_KEY") or None if payable else None
    if payment is not None and payment.failure_message and payment.status == PaymentStatus.failed and \
            role in (None, "client"):  # the booker's card is the booker's business, not the partner's
        body["failure_message"] = payment.failure_message
    return body


# --- the webhook ------------------------------------------------------------------------------------------

def verified_event(payload: bytes, signature: str | None) -> stripe.Event:
    """The event Stripe signed, checked on the raw body with the library's tolerance for its age.
    Raises ValueError (not JSON) or stripe.SignatureVerificationError."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise PaymentsUnavailable("STRIPE_WEBHOOK_SECRET is not set")
    return stripe.Webhook.construct_event(payload, signature or "", secret)


def apply_event(event: stripe.Event, *, now: datetime) -> str:
    """Apply one verified event, once: "applied", "duplicate" or "ignored" (a type or object this practice
    does not act on). Whatever order events come in, each leaves the payment where Stripe says it is.

    Locks as every change of a booking and its payment does: the counselor's calendar first (lock_calendar),
    then the payment's row, so the webhook and a client's cancellation take turns and never deadlock.
    """
    if event.type not in HANDLED_EVENTS:
        return "ignored"
    obj = event.data.object.to_dict()  # plain dicts all the way down
    if event.type == "charge.refunded":
        intent_id, booking_ref, intent = obj.get("payment_intent"), None, None
    else:
        intent_id, booking_ref, intent = obj.get("id"), (obj.get("metadata") or {}).get("booking_id"), obj

    def work() -> str:
        if db.session.get(ProcessedStripeEvent, event.id) is not None:
            return "duplicate"
        booking_id = _booking_of(intent_id, booking_ref)
        if booking_id is not None:
            lock_calendar(db.session.scalar(select(Booking.counselor_id).where(Booking.id == booking_id)))
        db.session.add(ProcessedStripeEvent(id=event.id, type=event.type, processed_at=now))
        db.session.flush()  # a concurrent copy of this event fails here (its id is taken) and is a duplicate
        payment = _payment_for(booking_id, intent_id, intent=intent)
        if payment is None:
            return "ignored"
        if event.type == "charge.refunded":
            payment.note_refunded(int(obj.get("amount_refunded") or 0), now=now)
        elif event.type == "payment_intent.payment_failed":
            _failed(payment, intent, now=now)
        else:
            _succeeded(payment, now=now)
        return "applied"

    try:
        return calendar_write(work)
    except IntegrityError:  # the same event, applied by a concurrent delivery
        db.session.rollback()
        if db.session.get(ProcessedStripeEvent, event.id) is None:
            raise
        return "duplicate"


def _booking_of(intent_id: str | None, booking_ref: str | None) -> uuid.UUID | None:
    """The booking a PaymentIntent pays for: by its payment row, else (an intent of ours whose row was lost) by
    the booking id Stripe keeps in its metadata."""
    if not intent_id:
        return None
    found = db.session.scalar(select(Payment.booking_id).where(Payment.stripe_payment_intent_id == intent_id))
    if found is not None or not booking_ref:
        return found
    try:
        return db.session.scalar(select(Booking.id).where(Booking.id == uuid.UUID(booking_ref)))
    except ValueError:
        return None


def _payment_for(booking_id: uuid.UUID | None, intent_id: str, *, intent: dict | None) -> Payment | None:
    """The payment of this PaymentIntent, locked; for one of ours with no row (its save was lost), a row made
    from Stripe's own copy of it."""
    if booking_id is None:
        return None
    payment = Payment.of_booking(booking_id, for_update=True)
    if payment is not None:
        # A booking whose row names another PaymentIntent: not this one's to change (reconcile shows it).
        return payment if payment.stripe_payment_intent_id == intent_id else None
    if intent is None:
        return None
    payment = Payment(booking_id=booking_id, stripe_payment_intent_id=intent_id, amount=int(intent["amount"]),
                      currency=str(intent["currency"]).upper(), status=PaymentStatus.awaiting, amount_refunded=0,
                      cancellation_policy=snapshot(practice_policy()))
    db.session.add(payment)
    return payment


def _failed(payment: Payment, intent: dict, *, now: datetime) -> None:
    if payment.status not in (PaymentStatus.awaiting, PaymentStatus.failed):
        return  # it succeeded since (events come in any order): a late failure changes nothing
    error = intent.get("last_payment_error") or {}
    payment.status = PaymentStatus.failed
    payment.failure_message = (error.get("message") or "The payment did not go through.")[:300]
    payment.updated_at = now
    booking = payment.booking
    # The hold stays as it is: the client may try again until it runs out.
    if booking.status in LIVE_STATUSES:
        payment_failed.send(booking, message=payment.failure_message, now=now)


def _succeeded(payment: Payment, *, now: datetime) -> None:
    """Mark it paid and confirm the booking; a payment for a time no longer to be had is refunded in full."""
    if payment.succeeded_at is None:
        payment.succeeded_at = now
    if payment.status in (PaymentStatus.awaiting, PaymentStatus.failed):
        payment.status = PaymentStatus.succeeded
        payment.failure_message = None
    payment.updated_at = now
    outcome = booking_service.confirm_paid(payment.booking_id, now=now)
    audit.record("payment.succeeded", record_type="booking", record_id=payment.booking_id,
                 detail={"amount": payment.amount, "currency": payment.currency, "booking": outcome})
    if outcome not in ("taken", "cancelled") or payment.refundable <= 0:
        return
    refund = Refund(payment=payment, amount=payment.refundable, kind="late_payment", requested_by="system",
                    state=RefundState.pending, attempts=0, created_at=now,
                    reason="The payment arrived after the hold ran out and the time was no longer free."
                    if outcome == "taken" else "The booking was cancelled before the payment arrived.")
    db.session.add(refund)
    db.session.flush()
    refunds.send_after_commit(refund)
    late_payment_refused.send(payment.booking, amount=refund.amount, currency=payment.currency, reason=outcome,
                              now=now)
