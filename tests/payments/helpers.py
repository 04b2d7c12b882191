"""Helpers for payment tests: a paid couple trial, paying at the Stripe stand-in, and signed events."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import datetime

from tests.conftest import STRIPE_TEST_KEYS

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # accepted as a card, declined when charged


def booking_body(start: str, *, couple=True, counselor="ana") -> dict:
    body = {"counselor": counselor, "service": "couple-trial" if couple else "individual-trial", "start": start,
            "timezone": "America/New_York",
            "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"}}
    if couple:
        body["partner"] = {"name": "Sam Partner", "email": "sam@example.org"}
    return body


def pay_at_standin(standin: str, client_secret: str, card: str = GOOD_CARD) -> tuple[int, dict]:
    """What Stripe.js does with the card element: confirm the PaymentIntent with a card, by its client secret."""
    intent = client_secret.split("_secret_")[0]
    data = json.dumps({"key": STRIPE_TEST_KEYS["STRIPE_PUBLISHABLE_KEY"], "client_secret": client_secret,
                       "card": {"number": card, "exp_month": "12", "exp_year": "2030", "cvc": "123"}}).encode()
    request = urllib.request.Request(f"{standin}/_config/practice/confirm_card_payment/{intent}", data=data,
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed(event: dict, *, secret: str = STRIPE_TEST_KEYS["STRIPE_WEBHOOK_SECRET"], at: int | None = None,
           ) -> tuple[bytes, dict]:
    """A Stripe-Signature header for this event's JSON body, as Stripe makes it (t=...,v1=HMAC-SHA256)."""
    payload = json.dumps(event).encode()
    stamp = int(at if at is not None else time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}


def event(kind: str, obj, *, event_id: str, created: datetime | None = None) -> dict:
    """An event as Stripe sends it, around an object read from the stand-in (a PaymentIntent or a charge)."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return {"id": event_id, "object": "event", "type": kind, "api_version": "2026-10-28.endive",
            "created": int((created or datetime.now()).timestamp()), "livemode": False,
            "data": {"object": data}}


def wait_for(check, *, seconds: float = 15.0, every: float = 0.2):
    """Poll `check()` until it returns something truthy (the stand-in sends webhooks a second after the fact)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(every)


def pay_for(standin: str, booking, *, now: datetime, amount: int = 7500):
    """Pay `booking` in full at the stand-in and record it as the webhook would (the payment row, the booking
    confirmed), committed: for tests about what follows a payment, not about the webhook. Returns the Payment."""
    from practice.booking.models import BookingStatus
    from practice.extensions import db
    from practice.payments.models import Payment, PaymentStatus
    from practice.payments.stripe_api import client as stripe_client

    intent = stripe_client().v1.payment_intents.create(params={
        "amount": amount, "currency": "usd", "payment_method_types": ["card"], "capture_method": "automatic",
        "metadata": {"booking_id": str(booking.id)}})
    status, paid = pay_at_standin(standin, intent.client_secret)
    assert status == 200 and paid["status"] == "succeeded"
    payment = Payment(booking_id=booking.id, stripe_payment_intent_id=intent.id, amount=amount, currency="USD",
                      status=PaymentStatus.succeeded, amount_refunded=0, created_at=now, succeeded_at=now)
    booking.status, booking.hold_expires_at, booking.confirmed_at = BookingStatus.confirmed, None, now
    db.session.add(payment)
    db.session.commit()
    return payment
