"""Refunds against the Stripe stand-in (localstripe, driven by the official stripe library): by the practice's
cancellation policy when a client cancels (in time, with a fixed or a percentage fee, or none at all), by staff
in part and then the rest, and how a refund reaches Stripe once however often it is tried."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import stripe
from sqlalchemy import select, text

from practice.audit.models import AuditEvent
from practice.auth.models import PracticeSettings
from practice.booking import service as booking_service
from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from practice.payments import refunds
from practice.payments.models import Payment, PaymentStatus, Refund, RefundState
from practice.payments.stripe_api import client as stripe_client
from tests.conftest import freeze_clock, stripe_config
from tests.factories import make_counselor, make_user
from tests.payments.helpers import pay_at_standin, pay_for
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = datetime.fromisoformat("2026-12-07T10:00:00-05:00")  # 15:00 UTC; free to cancel until Sun 10:00 EST
LATE = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)  # 5 AM EST: five hours before the session


@pytest.fixture
def app_config(app_config, stripe_standin):
    # inline: a refund goes to Stripe before the commit that saved it returns, so tests see where it ended
    return {**app_config, **stripe_config(stripe_standin), "MAIL_DELIVERY": "inline"}


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", name="Ana Counselor", timezone="America/New_York", licenses=("NY",))
    give_hours(c, {0: [("08:00", "18:00")]})
    return c


def set_policy(kind: str, *, fee: int = 0, percent: int = 0) -> None:
    settings = PracticeSettings.for_update()
    settings.late_cancel_policy, settings.late_cancel_fee, settings.late_cancel_percent = kind, fee, percent
    db.session.commit()


def paid_booking(standin: str, *, start: datetime = MON_10):
    """A couple trial ($75) booked and paid at the stand-in: (booking, the client's manage token, payment).
    The payment row is written here, as the webhook would, so these tests need no webhook. The partner's token
    is kept on the booking, as `partner_token`, for the tests that look at the partner's page."""
    created = booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="couple-trial", start=start, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    booking = created.booking
    payment = pay_for(standin, booking, now=NOW)
    booking.partner_token = created.tokens["partner"]
    return booking, created.tokens["client"], payment


def refunds_at_stripe(payment: Payment) -> list:
    return list(stripe_client().v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id}).auto_paging_iter())


def saved_refunds() -> list[Refund]:
    db.session.rollback()  # see what the sends committed in their own transactions
    return list(db.session.scalars(select(Refund).order_by(Refund.id)))


def text_of(response) -> str:
    """The page's words as a reader sees them: no tags, one space between words."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).replace(" .", ".")


# --- by the cancellation policy ---------------------------------------------------------------------------

def test_cancelling_in_time_refunds_everything_at_stripe(client, counselor, stripe_standin):
    set_policy("fee_percent", percent=50)
    booking, token, payment = paid_booking(stripe_standin)

    page = client.post(f"/bookings/{booking.id}/cancel", data={"token": token, "confirm": "y"})
    assert page.status_code == 200
    assert "We're refunding $75 to the card you paid with." in text_of(page)

    [refund] = saved_refunds()
    assert (refund.kind, refund.amount, refund.state, refund.requested_by) == (
        "cancellation", 7500, RefundState.succeeded, "client")
    at_stripe = stripe_client().v1.refunds.retrieve(refund.stripe_refund_id)
    assert (at_stripe.amount, at_stripe.payment_intent, at_stripe.status) == (
        7500, payment.stripe_payment_intent_id, "succeeded")
    # Stripe learns which booking and which refund, nothing else (no reason, no names).
    assert at_stripe.metadata.to_dict() == {"booking_id": str(booking.id), "refund_id": str(refund.id)}
    payment = db.session.get(Payment, payment.id)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.refunded, 7500)
    [audited] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.refund"))
    assert audited.detail == {"kind": "cancellation", "refund": refund.id, "amount": 7500, "currency": "USD"}


@pytest.mark.parametrize("kind, fee, percent, refunded, status", [
    ("fee_fixed", 2500, 0, 5000, "partially_refunded"),
    ("fee_percent", 0, 50, 3750, "partially_refunded"),
    ("fee_none", 0, 0, 7500, "refunded"),
])
def test_cancelling_late_keeps_the_practices_fee(client, counselor, stripe_standin, clock, kind, fee, percent,
                                                  refunded, status):
    set_policy(kind, fee=fee, percent=percent)
    booking, token, payment = paid_booking(stripe_standin)
    clock["now"] = LATE

    answer = client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"token": token})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "cancelled"
    assert answer.get_json()["refund"] == {"amount": refunded, "currency": "USD", "status": "succeeded"}

    [refund] = saved_refunds()
    assert refund.amount == refunded and "less than 24 hours ahead" in refund.reason
    assert [r.amount for r in refunds_at_stripe(payment)] == [refunded]
    payment = db.session.get(Payment, payment.id)
    assert (payment.status.value, payment.amount_refunded) == (status, refunded)


def test_cancelling_late_under_a_no_refund_policy_gives_nothing_back(client, counselor, stripe_standin, clock):
    set_policy("no_refund")
    booking, token, payment = paid_booking(stripe_standin)
    clock["now"] = LATE

    page = client.post(f"/bookings/{booking.id}/cancel", data={"token": token, "confirm": "y"})
    assert page.status_code == 200
    assert "under the practice's late-cancellation policy nothing is refunded" in text_of(page)
    assert saved_refunds() == [] and refunds_at_stripe(payment) == []
    assert db.session.get(Payment, payment.id).status == PaymentStatus.succeeded
    assert db.session.get(type(booking), booking.id).status == BookingStatus.cancelled


def test_a_booking_the_practice_cancels_is_refunded_in_full_however_late(app, counselor, stripe_standin, clock):
    set_policy("no_refund")
    booking, _token, payment = paid_booking(stripe_standin)
    clock["now"] = LATE
    booking.status, booking.cancelled_by = BookingStatus.cancelled, "staff"
    refund = refunds.refund_for_cancellation(booking, now=LATE)
    db.session.commit()
    assert refund.amount == 7500 and refund.reason == "Cancelled by the practice: refunded in full."
    assert saved_refunds()[0].state == RefundState.succeeded


def test_the_pages_say_what_the_policy_means_for_this_booking(client, counselor, stripe_standin, clock):
    set_policy("fee_percent", percent=50)
    booking, token, _payment = paid_booking(stripe_standin)
    terms = ("Cancel by Sunday, December 6, 2026 at 10:00 AM EST for a full refund of $75; after that, $37.50 is "
             "kept as a late-cancellation fee and $37.50 is refunded.")

    manage = text_of(client.get(f"/bookings/{booking.id}?token={token}"))
    assert "Changing or cancelling" in manage and terms in manage
    # The partner neither paid nor may cancel: nothing about refunds on their page.
    assert "refund" not in text_of(client.get(f"/bookings/{booking.id}?token={booking.partner_token}"))

    # Before booking, for the time chosen (a week later, so it is free), and on the policies page in general.
    details = text_of(client.get("/book/ana/couple-trial/2026-12-14T15:00Z?tz=America/New_York"))
    assert ("Cancel by Sunday, December 13, 2026 at 10:00 AM EST for a full refund of $75; after that, $37.50 is "
            "kept") in details
    policies = text_of(client.get("/policies"))
    assert ("Cancel at least 24 hours before a paid session for a full refund. If you cancel later than that, 50% "
            "of what you paid is kept as a late-cancellation fee and the rest is refunded.") in policies

    clock["now"] = LATE
    late = text_of(client.get(f"/bookings/{booking.id}?token={token}"))
    assert ("The time for a full refund ended Sunday, December 6, 2026 at 10:00 AM EST. If you cancel now, $37.50 "
            "is kept as a late-cancellation fee and $37.50 is refunded.") in late


def test_a_free_session_says_nothing_about_refunds(client, counselor):
    counselor.services[0].price = 0
    db.session.commit()
    created = booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="individual-trial", start=MON_10, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY")), now=NOW)
    token = created.tokens["client"]
    assert "refund" not in text_of(client.get(f"/bookings/{created.booking.id}?token={token}"))
    answer = client.post(f"/api/v1/bookings/{created.booking.id}/cancel", json={"token": token}).get_json()
    assert "refund" not in answer and saved_refunds() == []


# --- by staff ---------------------------------------------------------------------------------------------

@pytest.fixture
def frontdesk(app, auth):
    user = make_user(role="frontdesk")
    user.name = "Fran Desk"
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    return user


def test_staff_refund_part_then_the_rest(client, counselor, stripe_standin, frontdesk):
    booking, _token, payment = paid_booking(stripe_standin)
    url = f"/staff/bookings/{booking.id}/refund"
    page = text_of(client.get(url))
    assert "Paid $75 " in page and "Refunded so far Nothing" in page and "Left to refund $75 " in page

    part = client.post(url, data={"how_much": "part", "amount": "20.00", "reason": "Session started late"})
    assert part.status_code == 302
    shown = text_of(client.get(url))
    assert "Refund of $20 saved." in shown
    assert "Session started late" in shown and "Fran Desk (" in shown and "Made 2026-12-01 12:00 UTC" in shown
    assert "Refunded so far $20 " in shown and "Left to refund $55 " in shown

    rest = client.post(url, data={"how_much": "all", "amount": "", "reason": "Client moved away"})
    assert rest.status_code == 302
    assert [r.amount for r in saved_refunds()] == [2000, 5500]
    assert all(r.state == RefundState.succeeded and r.kind == "staff" for r in saved_refunds())
    assert sorted(r.amount for r in refunds_at_stripe(payment)) == [2000, 5500]
    payment = db.session.get(Payment, payment.id)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.refunded, 7500)

    audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.refund")
                                 .order_by(AuditEvent.id)).all()
    assert [(a.actor_id, a.record_id, a.detail["amount"], "reason" in a.detail) for a in audited] == [
        (frontdesk.id, str(booking.id), 2000, False),
        (frontdesk.id, str(booking.id), 5500, False)]
    # The reasons are the refunds' own, encrypted in the database.
    assert [r.reason for r in saved_refunds()] == ["Session started late", "Client moved away"]
    raw = db.session.execute(text("SELECT reason FROM refund ORDER BY id")).scalars().all()
    assert all(b"Session" not in bytes(r) and b"Client" not in bytes(r) for r in raw)

    again = client.post(url, data={"how_much": "all", "reason": "Once more"})
    assert again.status_code == 422
    assert "There is nothing left to refund on this payment." in text_of(again)


@pytest.mark.parametrize("form, message", [
    ({"how_much": "part", "amount": "80", "reason": "Goodwill"},
     "You can refund at most $75, what is left of this payment once earlier refunds are taken off."),
    ({"how_much": "part", "amount": "twenty", "reason": "Goodwill"}, "Enter an amount in dollars and cents"),
    ({"how_much": "part", "amount": "", "reason": "Goodwill"}, "Enter an amount in dollars, like 25 or 37.50."),
    ({"how_much": "part", "amount": "0", "reason": "Goodwill"}, "Enter an amount above $0."),
    ({"how_much": "all", "amount": "", "reason": "  "}, "Say why this refund is being made."),
])
def test_staff_refund_refuses_what_it_cannot_do_and_says_why(client, counselor, stripe_standin, frontdesk,
                                                             form, message):
    booking, _token, payment = paid_booking(stripe_standin)
    answer = client.post(f"/staff/bookings/{booking.id}/refund", data=form)
    assert answer.status_code == 422
    assert message in text_of(answer)
    assert saved_refunds() == [] and refunds_at_stripe(payment) == []


def test_only_front_desk_and_admins_refund(client, auth, counselor, stripe_standin):
    booking, _token, _payment = paid_booking(stripe_standin)
    counselor_user = make_user(role="counselor", counselor=counselor)
    assert client.get(f"/staff/bookings/{booking.id}/refund").status_code == 302  # to the sign-in page
    auth.login(counselor_user.email)
    assert client.get(f"/staff/bookings/{booking.id}/refund").status_code == 403
    assert client.post(f"/staff/bookings/{booking.id}/refund",
                       data={"how_much": "all", "reason": "x"}).status_code == 403
    assert saved_refunds() == []


def test_a_booking_without_a_payment_has_nothing_to_refund(client, counselor, frontdesk):
    created = booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="couple-trial", start=MON_10, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    url = f"/staff/bookings/{created.booking.id}/refund"
    assert "This booking has no payment, so there is nothing to refund." in text_of(client.get(url))
    assert client.post(url, data={"how_much": "all", "reason": "x"}).status_code == 409
    assert client.get("/staff/bookings/not-a-booking/refund").status_code == 404


# --- reaching Stripe once -------------------------------------------------------------------------------

def pending_staff_refund(app, booking, amount=2500) -> Refund:
    """A staff refund saved but not yet sent (as when no thread or job is started after the commit)."""
    app.config["MAIL_DELIVERY"] = "none"
    staff_user = make_user(role="admin")
    refund = refunds.staff_refund(booking.id, amount=amount, reason="Goodwill", actor=staff_user, now=NOW)
    assert refund.state == RefundState.pending
    return refund


def test_a_refund_is_asked_for_once_however_often_it_is_sent(app, counselor, stripe_standin):
    booking, _token, payment = paid_booking(stripe_standin)
    refund = pending_staff_refund(app, booking)
    assert refunds.send_refund(refund.id, now=NOW) is True
    assert refunds.send_refund(refund.id, now=NOW) is False  # already made
    assert refunds.send_due_refunds(now=NOW + timedelta(hours=1)) == 0
    assert [r.amount for r in refunds_at_stripe(payment)] == [2500]
    [saved] = saved_refunds()
    assert (saved.state, saved.attempts) == (RefundState.succeeded, 1)


def test_a_refund_whose_answer_was_lost_is_found_at_stripe_not_made_again(app, counselor, stripe_standin,
                                                                          monkeypatch):
    booking, _token, payment = paid_booking(stripe_standin)
    refund = pending_staff_refund(app, booking)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the process died after Stripe answered")

    with monkeypatch.context() as patched:
        patched.setattr(refunds, "_record_success", crash)
        with pytest.raises(RuntimeError):
            refunds.send_refund(refund.id, now=NOW)
    [first] = refunds_at_stripe(payment)
    # Not due again at once (another sender may still be at it), then the worker's round finds Stripe's refund.
    assert refunds.send_due_refunds(now=NOW + timedelta(minutes=1)) == 0
    assert refunds.send_due_refunds(now=NOW + timedelta(minutes=2)) == 1
    assert [r.id for r in refunds_at_stripe(payment)] == [first.id]
    [saved] = saved_refunds()
    assert (saved.state, saved.stripe_refund_id, saved.attempts) == (RefundState.succeeded, first.id, 2)


def test_stripe_out_of_reach_leaves_the_refund_pending_and_the_worker_tries_again_later(app, counselor,
                                                                                         stripe_standin, monkeypatch):
    booking, _token, payment = paid_booking(stripe_standin)
    refund = pending_staff_refund(app, booking)
    http = stripe.new_default_http_client()
    unreachable = stripe.StripeClient("sk_test_practice", base_addresses={"api": "http://127.0.0.1:9"},
                                      max_network_retries=0, http_client=http)
    with monkeypatch.context() as patched:
        patched.setattr(refunds, "client", lambda: unreachable)
        assert refunds.send_refund(refund.id, now=NOW) is False
    http.close()
    [saved] = saved_refunds()
    assert (saved.state, saved.attempts) == (RefundState.pending, 1)
    assert saved.failure.startswith("APIConnectionError")
    assert db.session.get(Payment, payment.id).refundable == 5000  # still counted as being refunded

    assert refunds.send_due_refunds(now=NOW + timedelta(seconds=90)) == 0
    assert refunds.send_due_refunds(now=NOW + timedelta(minutes=2)) == 1
    [saved] = saved_refunds()
    assert (saved.state, saved.failure) == (RefundState.succeeded, None)
    assert [r.amount for r in refunds_at_stripe(payment)] == [2500]


def test_a_refund_stripe_refuses_fails_and_staff_see_why(app, client, counselor, stripe_standin, frontdesk):
    booking, _token, payment = paid_booking(stripe_standin)
    payment.stripe_payment_intent_id = "pi_unknowntostripe"  # Stripe will answer 404: refused for good
    db.session.commit()
    refund = pending_staff_refund(app, booking)
    assert refunds.send_refund(refund.id, now=NOW) is False
    [saved] = saved_refunds()
    assert (saved.state, saved.attempts) == (RefundState.failed, 1)
    assert saved.failure.startswith("InvalidRequestError")
    assert refunds.send_due_refunds(now=NOW + timedelta(days=1)) == 0  # never tried again

    page = text_of(client.get(f"/staff/bookings/{booking.id}/refund"))
    assert "Failed" in page and "InvalidRequestError" in page
    assert "Left to refund $75 " in page  # a failed refund gives nothing back


def test_the_same_staff_form_sent_twice_refunds_once(client, counselor, stripe_standin, frontdesk):
    booking, _token, payment = paid_booking(stripe_standin)
    url = f"/staff/bookings/{booking.id}/refund"
    key = re.search(r'name="request_key"[^>]*value="(\w+)"', client.get(url).get_data(as_text=True)).group(1)
    form = {"how_much": "part", "amount": "20.00", "reason": "Session started late", "request_key": key}
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # a double click
    assert [r.amount for r in saved_refunds()] == [2000]
    assert [r.amount for r in refunds_at_stripe(payment)] == [2000]
    fresh = re.search(r'name="request_key"[^>]*value="(\w+)"', client.get(url).get_data(as_text=True)).group(1)
    assert fresh != key  # the next form is a new request
    assert client.post(url, data={**form, "request_key": fresh}).status_code == 302
    assert [r.amount for r in saved_refunds()] == [2000, 2000]


def test_a_late_cancellation_keeps_to_the_policy_the_client_paid_under(client, counselor, stripe_standin, clock):
    from practice.payments import service as payments

    set_policy("fee_none")  # "cancel late and you're still refunded in full", as shown before paying
    created = booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="couple-trial", start=MON_10, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    booking_id, token = created.booking.id, created.tokens["client"]
    payment = payments.start_payment(booking_id, now=NOW)  # the client chooses to pay
    assert payment.cancellation_policy == {"notice_hours": 24.0, "kind": "fee_none", "fee": 0, "percent": 0}
    assert pay_at_standin(stripe_standin, payment.client_secret)[0] == 200
    booking = db.session.get(Booking, booking_id)
    payment.status, payment.succeeded_at = PaymentStatus.succeeded, NOW  # as the webhook records it
    booking.status, booking.hold_expires_at, booking.confirmed_at = BookingStatus.confirmed, None, NOW
    db.session.commit()
    set_policy("no_refund")  # the practice changes its policy afterwards
    clock["now"] = LATE

    answer = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"token": token})
    assert answer.get_json()["refund"] == {"amount": 7500, "currency": "USD", "status": "succeeded"}
    assert [r.amount for r in refunds_at_stripe(db.session.get(Payment, payment.id))] == [7500]
