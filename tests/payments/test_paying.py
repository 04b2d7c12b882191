"""Paying for a held booking against the Stripe stand-in (localstripe, driven by the official stripe library):
the PaymentIntent, the card, the signed webhook that confirms, a declined card, and what Stripe is told."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.auth.models import PracticeSettings
from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from practice.payments.models import Payment, PaymentStatus, ProcessedStripeEvent
from practice.payments.stripe_api import client as stripe_client
from tests.conftest import STRIPE_TEST_KEYS, freeze_clock, send_webhooks_to, serve, stripe_config
from tests.payments.helpers import DECLINED_CARD, booking_body, pay_at_standin, wait_for

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = "2026-12-07T10:00:00-05:00"


@pytest.fixture
def app_config(app_config, stripe_standin):
    return {**app_config, **stripe_config(stripe_standin)}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def webhooks(app, stripe_standin):
    """The app served over HTTP, with the stand-in sending it its signed events."""
    base, stop = serve(app)
    send_webhooks_to(stripe_standin, base, STRIPE_TEST_KEYS["STRIPE_WEBHOOK_SECRET"])
    yield base
    stop()


def status_of(booking_id: str) -> BookingStatus:
    db.session.rollback()  # see what the server's thread committed
    return db.session.get(Booking, uuid.UUID(booking_id)).status


def test_a_paid_booking_gets_its_payment_intent_and_stripe_learns_only_the_booking_id(client, counselor):
    response = client.post("/api/v1/bookings", json=booking_body(MON_10))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    payment = body["payment"]
    assert body["status"] == "held"
    assert payment["required"] is True and payment["status"] == "awaiting"
    assert (payment["amount"], payment["currency"]) == (7500, "USD")
    assert payment["publishable_key"] == STRIPE_TEST_KEYS["STRIPE_PUBLISHABLE_KEY"]
    assert re.fullmatch(r"pi_\w+_secret_\w+", payment["client_secret"])

    intent = stripe_client().v1.payment_intents.retrieve(payment["client_secret"].split("_secret_")[0])
    assert (intent.amount, intent.currency, intent.capture_method) == (7500, "usd", "automatic")
    assert intent.description == f"Session at {PracticeSettings.current().practice_name}"
    assert intent.metadata.to_dict() == {"booking_id": body["id"]}  # no names, no service, no conditions

    # Starting again (a second tab, a retry) gives the same PaymentIntent; a partner's link can't pay.
    token = body["manage_url"].split("token=")[1]
    again = client.post(f"/api/v1/bookings/{body['id']}/payment", json={"token": token})
    assert again.status_code == 200 and again.get_json()["client_secret"] == payment["client_secret"]
    assert db.session.scalar(select(Payment.stripe_payment_intent_id)) == intent.id
    assert client.post(f"/api/v1/bookings/{body['id']}/payment", json={"token": "x" * 32}).status_code == 404


def test_the_signed_webhook_confirms_and_both_partners_get_their_own_links(client, counselor, webhooks,
                                                                           stripe_standin):
    body = client.post("/api/v1/bookings", json=booking_body(MON_10)).get_json()
    assert db.session.scalar(select(OutboxMessage.id)) is None  # nothing is sent for an unpaid hold

    status, paid = pay_at_standin(stripe_standin, body["payment"]["client_secret"])
    assert status == 200 and paid["status"] == "succeeded"
    assert wait_for(lambda: status_of(body["id"]) == BookingStatus.confirmed)

    payment = db.session.scalar(select(Payment))
    assert (payment.status, payment.succeeded_at) == (PaymentStatus.succeeded, NOW)
    assert db.session.scalar(select(ProcessedStripeEvent.type)) == "payment_intent.succeeded"
    messages = {m.to_email: rendered(m) for m in db.session.scalars(select(OutboxMessage))}
    assert set(messages) == {"robin@example.org", "sam@example.org"}
    intake_links = {}
    for address, message in messages.items():
        assert "Your session with Ana Counselor is booked" in message.subject or "couples session" in message.subject
        [link] = re.findall(r"http://practice\.test/intake/[\w-]+", message.text)
        intake_links[address] = link
        assert client.get(link).status_code == 200  # each person's own questionnaire opens
    assert len(set(intake_links.values())) == 2

    shown = client.get(f"/api/v1/bookings/{body['id']}?token={body['manage_url'].split('token=')[1]}").get_json()
    assert shown["status"] == "confirmed"
    assert shown["payment"]["status"] == "succeeded" and shown["payment"]["client_secret"] is None


def test_a_declined_card_tells_the_client_and_keeps_the_hold(client, counselor, webhooks, stripe_standin):
    body = client.post("/api/v1/bookings", json=booking_body(MON_10)).get_json()
    secret = body["payment"]["client_secret"]
    status, answer = pay_at_standin(stripe_standin, secret, card=DECLINED_CARD)
    assert status == 402 and answer["error"]["code"] == "card_declined"

    def failed():
        db.session.rollback()
        payment = db.session.scalar(select(Payment))
        return payment if payment.status == PaymentStatus.failed else None

    payment = wait_for(failed)
    assert payment and payment.failure_message == answer["error"]["message"]
    assert status_of(body["id"]) == BookingStatus.held
    [message] = db.session.scalars(select(OutboxMessage)).all()
    notice = rendered(message)
    assert message.to_email == "robin@example.org"  # the booker; the partner is not told of the booker's card
    assert "didn't go through" in notice.subject and "still holding the time" in notice.text

    # The page shows it, and the client tries again with another card: confirmed.
    page = client.get(body["manage_url"].replace("http://practice.test", "")).get_data(as_text=True)
    assert "Your last payment attempt didn't go through" in page
    status, _ = pay_at_standin(stripe_standin, secret)
    assert status == 200
    assert wait_for(lambda: status_of(body["id"]) == BookingStatus.confirmed)
    assert db.session.scalar(select(Payment.status)) == PaymentStatus.succeeded


def test_the_card_page_starts_the_payment_only_when_asked(client, counselor, stripe_standin):
    from practice.booking import service

    created = service.book(service.BookingRequest(
        counselor="ana", service="couple-trial", start=datetime.fromisoformat(MON_10), timezone="America/New_York",
        client=service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    booking_id, token = created.booking.id, created.tokens["client"]
    page = client.get(f"/bookings/{booking_id}?token={token}").get_data(as_text=True)
    assert "Pay $75 now" in page
    assert db.session.scalar(select(Payment.id)) is None  # opening the page (a mail scanner may) starts nothing

    card_page = client.post(f"/bookings/{booking_id}/pay", data={"token": token})
    assert card_page.status_code == 200
    html = card_page.get_data(as_text=True)
    payment = db.session.scalar(select(Payment))
    assert f'data-client-secret="{payment.client_secret}"' in html and "Card details" in html
    assert f'src="{stripe_standin}/js.stripe.com/v3/practice/"' in html
    csp = card_page.headers["Content-Security-Policy"]
    assert f"script-src 'self' {stripe_standin}" in csp and f"connect-src 'self' {stripe_standin}" in csp
    assert "script-src 'self';" in client.get("/policies").headers["Content-Security-Policy"]  # only that page

    # The partner's link can't pay; a bad link opens nothing.
    partner = client.post(f"/bookings/{booking_id}/pay", data={"token": created.tokens["partner"]})
    assert partner.status_code == 409 and "Only the person who made the booking pays" in partner.get_data(as_text=True)
    assert client.post(f"/bookings/{booking_id}/pay", data={"token": "y" * 32}).status_code == 404


def test_audit_records_the_payment_without_health_information(client, counselor, webhooks, stripe_standin):
    body = client.post("/api/v1/bookings", json=booking_body(MON_10)).get_json()
    pay_at_standin(stripe_standin, body["payment"]["client_secret"])
    assert wait_for(lambda: status_of(body["id"]) == BookingStatus.confirmed)
    events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
    assert events["payment.succeeded"].detail == {"amount": 7500, "currency": "USD", "booking": "confirmed"}
    assert events["booking.confirm"].detail == {"by": "payment", "late": False}


def test_the_openapi_document_describes_paying(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/bookings/{booking_id}/payment"]
    payment = spec["components"]["schemas"]["PaymentOut"]["properties"]
    assert {"required", "status", "amount", "currency", "client_secret", "publishable_key"} <= set(payment)
    for status in ("not_required", "awaiting", "succeeded", "failed", "refunded", "partially_refunded"):
        assert status in payment["status"]["description"]


def test_only_the_booker_pays_and_only_the_booker_hears_why_a_card_was_declined(client, counselor, webhooks,
                                                                                 stripe_standin):
    body = client.post("/api/v1/bookings", json=booking_body(MON_10)).get_json()
    booking_id = uuid.UUID(body["id"])
    from practice.booking.change import issue_link
    from practice.booking.models import Participant

    partner = db.session.scalar(select(Participant).where(Participant.booking_id == booking_id,
                                                          Participant.role == "partner"))
    partner_token = issue_link(partner, now=NOW)
    db.session.commit()
    refused = client.post(f"/api/v1/bookings/{body['id']}/payment", json={"token": partner_token})
    assert refused.status_code == 409 and "Only the person who made the booking pays" in refused.get_json()["message"]
    for odd in (12345, ["x"] * 32, None):  # not a token at all: the link opens nothing, never a 500
        assert client.post(f"/api/v1/bookings/{body['id']}/payment", json={"token": odd}).status_code == 404

    pay_at_standin(stripe_standin, body["payment"]["client_secret"], card=DECLINED_CARD)

    def failed():
        db.session.rollback()
        return db.session.scalar(select(Payment.status)) == PaymentStatus.failed

    assert wait_for(failed)
    as_partner = client.get(f"/api/v1/bookings/{body['id']}?token={partner_token}").get_json()["payment"]
    assert as_partner["status"] == "failed"
    assert "failure_message" not in as_partner and as_partner["client_secret"] is None
    partner_page = client.get(f"/bookings/{body['id']}?token={partner_token}").get_data(as_text=True)
    assert "didn't go through" not in partner_page
    booker = client.get(body["manage_url"].replace("http://practice.test", "")).get_data(as_text=True)
    assert "Your last payment attempt didn't go through" in booker
