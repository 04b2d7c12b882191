"""The Stripe webhook: only signed, fresh events count; each is applied once, in any order; a payment that comes
after its hold ran out claims the time if it is still free, and is refunded in full if it is not."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from practice.booking import service as booking_service
from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from practice.payments.models import Payment, PaymentStatus, ProcessedStripeEvent, Refund
from practice.payments.stripe_api import client as stripe_client
from tests.conftest import freeze_clock, stripe_config
from tests.payments.helpers import booking_body, event, pay_at_standin, signed
from tests.scheduling.helpers import add_booking

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = "2026-12-07T10:00:00-05:00"


@pytest.fixture
def app_config(app_config, stripe_standin):
    return {**app_config, **stripe_config(stripe_standin), "MAIL_DELIVERY": "inline"}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def paid(client, counselor, stripe_standin):
    """A held couple booking whose card payment Stripe has taken (its webhook not yet delivered here)."""
    body = client.post("/api/v1/bookings", json=booking_body(MON_10)).get_json()
    status, _ = pay_at_standin(stripe_standin, body["payment"]["client_secret"])
    assert status == 200
    intent = stripe_client().v1.payment_intents.retrieve(body["payment"]["client_secret"].split("_secret_")[0])
    assert intent.status == "succeeded"
    return body, intent


def post(client, evt: dict, **sign):
    payload, headers = signed(evt, **sign)
    return client.post("/stripe/webhook", data=payload, headers=headers)


def booking_status(booking_id: str) -> BookingStatus:
    db.session.expire_all()
    return db.session.get(Booking, uuid.UUID(booking_id)).status


def test_only_a_fresh_signature_over_the_exact_body_is_accepted(client, paid):
    body, intent = paid
    evt = event("payment_intent.succeeded", intent, event_id="evt_sig_1")
    payload, headers = signed(evt)
    tampered = payload.replace(b'"amount": 7500', b'"amount": 1')
    assert tampered != payload
    assert client.post("/stripe/webhook", data=tampered, headers=headers).status_code == 400
    assert post(client, evt, secret="whsec_someone_else").status_code == 400
    assert post(client, evt, at=int(time.time()) - 3600).status_code == 400  # an old, replayed delivery
    assert client.post("/stripe/webhook", data=payload,
                       headers={"Content-Type": "application/json"}).status_code == 400  # unsigned
    assert client.post("/stripe/webhook", data=b"not json", headers=signed(evt)[1]).status_code == 400
    assert booking_status(body["id"]) == BookingStatus.held
    assert db.session.scalar(select(func.count()).select_from(ProcessedStripeEvent)) == 0

    answer = post(client, evt)
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "applied"
    assert booking_status(body["id"]) == BookingStatus.confirmed


def test_a_repeated_event_changes_nothing_the_second_time(client, paid):
    body, intent = paid
    evt = event("payment_intent.succeeded", intent, event_id="evt_twice")
    assert post(client, evt).get_json()["outcome"] == "applied"
    assert post(client, evt).get_json()["outcome"] == "duplicate"
    # A second event for the same payment (Stripe may send more than one) confirms nothing twice either.
    assert post(client, event("payment_intent.succeeded", intent, event_id="evt_other")).status_code == 200
    assert booking_status(body["id"]) == BookingStatus.confirmed
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2  # one confirmation each
    assert db.session.scalar(select(func.count()).select_from(ProcessedStripeEvent)) == 2


def test_events_in_any_order_leave_the_payment_as_stripe_has_it(client, paid):
    body, intent = paid
    client_api = stripe_client()
    client_api.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2500})
    latest = intent.latest_charge  # an id at Stripe; the stand-in gives the charge itself
    charge = client_api.v1.charges.retrieve(latest if isinstance(latest, str) else latest.id)
    # The refund's event arrives before the payment's; then a stale failure from an earlier attempt.
    assert post(client, event("charge.refunded", charge, event_id="evt_r")).get_json()["outcome"] == "applied"
    assert post(client, event("payment_intent.succeeded", intent, event_id="evt_s")).status_code == 200
    failure = {**intent.to_dict(), "status": "requires_payment_method",
               "last_payment_error": {"message": "Your card was declined."}}
    assert post(client, event("payment_intent.payment_failed", failure, event_id="evt_f")).status_code == 200
    db.session.expire_all()
    payment = db.session.scalar(select(Payment))
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.partially_refunded, 2500)
    assert booking_status(body["id"]) == BookingStatus.confirmed


def test_a_payment_after_the_hold_ran_out_claims_the_time_while_it_is_free(client, paid, frozen_clock):
    body, intent = paid
    frozen_clock["now"] = NOW + timedelta(minutes=30)
    assert booking_service.release_expired_holds(now=frozen_clock["now"]) == 1
    assert booking_status(body["id"]) == BookingStatus.cancelled
    assert post(client, event("payment_intent.succeeded", intent, event_id="evt_late")).status_code == 200
    booking = db.session.get(Booking, uuid.UUID(body["id"]))
    assert booking.status == BookingStatus.confirmed and booking.cancelled_at is None
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    assert {m.to_email for m in db.session.scalars(select(OutboxMessage))} == {"robin@example.org",
                                                                             "sam@example.org"}


def test_a_payment_for_a_time_taken_meanwhile_is_refunded_in_full_and_the_client_told(client, paid, counselor,
                                                                                      frozen_clock):
    body, intent = paid
    frozen_clock["now"] = NOW + timedelta(minutes=30)
    booking_service.release_expired_holds(now=frozen_clock["now"])
    couple = next(s for s in counselor.services if s.slug == "couple-trial")
    add_booking(counselor, couple, datetime.fromisoformat(MON_10))  # someone else took the time

    assert post(client, event("payment_intent.succeeded", intent, event_id="evt_taken")).status_code == 200
    assert booking_status(body["id"]) == BookingStatus.cancelled
    payment = db.session.scalar(select(Payment))
    refund = db.session.scalar(select(Refund))
    assert (refund.kind, refund.amount, refund.requested_by) == ("late_payment", 7500, "system")
    assert refund.state.value == "succeeded" and refund.stripe_refund_id.startswith("re_")
    at_stripe = stripe_client().v1.refunds.retrieve(refund.stripe_refund_id)
    assert (at_stripe.amount, at_stripe.status) == (7500, "succeeded")
    assert payment.status == PaymentStatus.refunded
    [message] = db.session.scalars(select(OutboxMessage)).all()
    notice = rendered(message)
    assert message.to_email == "robin@example.org"
    assert "someone else had booked it" in notice.text and "$75" in notice.text


def test_a_late_payment_for_time_the_counselor_has_since_taken_off_is_refunded(client, paid, counselor,
                                                                               frozen_clock):
    from practice.scheduling.models import TimeOff

    body, intent = paid
    frozen_clock["now"] = NOW + timedelta(minutes=30)
    booking_service.release_expired_holds(now=frozen_clock["now"])
    start = datetime.fromisoformat(MON_10)
    db.session.add(TimeOff(counselor_id=counselor.id, starts_at=start - timedelta(hours=1),
                           ends_at=start + timedelta(hours=3)))
    db.session.commit()
    assert post(client, event("payment_intent.succeeded", intent, event_id="evt_off")).status_code == 200
    assert booking_status(body["id"]) == BookingStatus.cancelled
    assert db.session.scalar(select(Refund.kind)) == "late_payment"
