"""`flask --app app payments reconcile --days N` against a Stripe stand-in of this module's own: the payments
Stripe took beside the bookings' payment rows, every difference printed, and the exit status."""
from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest

from practice import clock
from practice.extensions import db
from practice.payments.models import Payment, PaymentStatus
from practice.payments.stripe_api import client as stripe_client
from tests.conftest import stripe_config
from tests.factories import make_counselor
from tests.payments.helpers import pay_at_standin
from tests.peers import free_port, running, stripe_standin_argv
from tests.scheduling.helpers import add_booking


@pytest.fixture(scope="module")
def own_standin():
    """Reconciliation reads every payment Stripe has, and the session's stand-in also holds other tests'
    payments: this module gets a stand-in of its own, emptied before each test (standin below)."""
    port = free_port()
    with running("the Stripe stand-in", stripe_standin_argv(port), port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def standin(own_standin):
    urllib.request.urlopen(urllib.request.Request(f"{own_standin}/_config/data", method="DELETE"), timeout=5).read()
    return own_standin


@pytest.fixture
def app_config(app_config, own_standin):
    return {**app_config, **stripe_config(own_standin)}


@pytest.fixture
def counselor(app):
    return make_counselor(slug="ana")


def a_booking(counselor, n: int):
    service = counselor.services[1]  # the couple trial, $75
    return add_booking(counselor, service, clock.now() + timedelta(days=3, hours=n))


def intent_for(booking, standin: str, *, pay: bool = True):
    """A PaymentIntent for the booking, as the app makes them, paid with a good card unless told not to."""
    intent = stripe_client().v1.payment_intents.create(params={
        "amount": 7500, "currency": "usd", "payment_method_types": ["card"], "capture_method": "automatic",
        "metadata": {"booking_id": str(booking.id)}})
    if pay:
        status, _ = pay_at_standin(standin, intent.client_secret)
        assert status == 200
    return intent


def payment_row(booking, intent_id: str | None, status: PaymentStatus, refunded: int = 0) -> Payment:
    now = clock.now()
    payment = Payment(booking_id=booking.id, stripe_payment_intent_id=intent_id, amount=7500, currency="USD",
                      status=status, amount_refunded=refunded, created_at=now,
                      succeeded_at=now if status != PaymentStatus.awaiting else None)
    db.session.add(payment)
    db.session.commit()
    return payment


def reconcile(runner, *args):
    return runner.invoke(args=["payments", "reconcile", *args])


def test_it_exits_0_when_stripe_and_the_bookings_agree(runner, counselor, standin):
    paid, unpaid, part_refunded = (a_booking(counselor, n) for n in range(3))
    payment_row(paid, intent_for(paid, standin).id, PaymentStatus.succeeded)
    payment_row(unpaid, intent_for(unpaid, standin, pay=False).id, PaymentStatus.awaiting)
    intent = intent_for(part_refunded, standin)
    stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 2500})
    payment_row(part_refunded, intent.id, PaymentStatus.partially_refunded, refunded=2500)

    result = reconcile(runner, "--days", "3")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No differences since ")
    assert result.output.rstrip().endswith("3 Stripe payments, 3 booking payments agree.")


def test_it_prints_a_missing_and_an_extra_payment_and_exits_1(runner, counselor, standin):
    lost, unpaid, gone, refunded_there, fine = (a_booking(counselor, n) for n in range(5))
    lost_intent = intent_for(lost, standin)  # Stripe took it; the practice never saved it
    unpaid_intent = intent_for(unpaid, standin, pay=False)
    payment_row(unpaid, unpaid_intent.id, PaymentStatus.succeeded)  # marked paid, never paid at Stripe
    payment_row(gone, "pi_nowhereatstripe", PaymentStatus.succeeded)
    refunded_intent = intent_for(refunded_there, standin)
    stripe_client().v1.refunds.create(params={"payment_intent": refunded_intent.id, "amount": 2500})
    payment_row(refunded_there, refunded_intent.id, PaymentStatus.succeeded)
    payment_row(fine, intent_for(fine, standin).id, PaymentStatus.succeeded)

    result = reconcile(runner, "--days", "1")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert sorted(line.split()[0] for line in lines[:-1]) == ["extra", "extra", "missing", "refunded"]
    [missing] = [line for line in lines if line.startswith("missing")]
    assert lost_intent.id in missing and str(lost.id) in missing
    assert "Stripe took 75.00 USD: no payment for its booking here" in missing
    [never_paid] = [line for line in lines if unpaid_intent.id in line]
    assert never_paid.startswith("extra")
    assert "marked succeeded here, but requires_payment_method at Stripe" in never_paid
    [not_found] = [line for line in lines if "pi_nowhereatstripe" in line]
    assert not_found.startswith("extra") and "is not found at Stripe" in not_found and str(gone.id) in not_found
    [refunded] = [line for line in lines if line.startswith("refunded")]
    assert "0.00 USD refunded here, 25.00 USD at Stripe" in refunded
    assert lines[-1].startswith("4 differences (")
    assert "1 missing" in lines[-1] and "2 extra" in lines[-1] and "1 refunded" in lines[-1]


@pytest.mark.parametrize("days", ["0", "-3", "abc", "1.5", ""])
def test_days_must_be_a_whole_positive_number(runner, days):
    result = reconcile(runner, "--days", days)
    assert result.exit_code == 2
    assert "give a whole number of days, 1 or more" in result.output


def test_it_exits_2_when_stripe_is_not_configured_or_not_answering(app, runner):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    result = reconcile(runner, "--days", "7")
    assert result.exit_code == 2 and "could not ask Stripe (APIConnectionError" in result.output

    app.config["STRIPE_SECRET_KEY"] = ""
    app.extensions.pop("stripe_client", None)
    result = reconcile(runner)
    assert result.exit_code == 2 and "Stripe is not configured: set STRIPE_SECRET_KEY." in result.output
