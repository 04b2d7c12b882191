"""Reconciliation: every way Stripe's PaymentIntents and the practice's payments can disagree."""
from __future__ import annotations

from practice.core.reconciliation import AtStripe, Here, differences


def at_stripe(intent="pi_1", status="succeeded", amount=7500, refunded=0, booking="b1") -> AtStripe:
    return AtStripe(intent_id=intent, status=status, amount=amount, currency="usd", amount_refunded=refunded,
                    booking_id=booking)


def here(intent="pi_1", status="succeeded", amount=7500, refunded=0, booking="b1") -> Here:
    return Here(intent_id=intent, booking_id=booking, status=status, amount=amount, currency="USD",
                amount_refunded=refunded)


def kinds(found):
    return [(d.kind, d.intent_id, d.booking_id) for d in found]


def test_agreeing_sides_have_no_differences():
    assert differences([at_stripe(), at_stripe("pi_2", status="requires_payment_method", booking="b2")],
                       [here(), here("pi_2", status="awaiting", booking="b2")]) == []
    assert differences([at_stripe(refunded=2500)], [here(status="partially_refunded", refunded=2500)]) == []


def test_a_payment_stripe_took_that_the_practice_does_not_show_is_missing():
    found = differences([at_stripe("pi_1", booking="b1"), at_stripe("pi_2", booking=None),
                         at_stripe("pi_3", booking="b3"), at_stripe("pi_4", booking="b4")],
                        [here("pi_3", status="awaiting", booking="b3"), here("pi_9", status="failed", booking="b4")])
    assert kinds(found) == [("missing", "pi_1", "b1"), ("missing", "pi_2", None), ("missing", "pi_3", "b3"),
                            ("missing", "pi_4", "b4")]
    assert "no payment for its booking here" in found[0].detail
    assert "names no booking" in found[1].detail
    assert "here it is awaiting" in found[2].detail
    assert "another one (pi_9, failed)" in found[3].detail
    assert found[0].line().startswith("missing   pi_1")


def test_a_payment_shown_as_paid_that_stripe_did_not_take_is_extra():
    found = differences([at_stripe("pi_1", status="requires_payment_method")],
                        [here("pi_1"), here("pi_2", booking="b2"), here(None, booking="b3")])
    assert kinds(found) == [("extra", "pi_1", "b1"), ("extra", "pi_2", "b2"), ("extra", None, "b3")]
    assert "but requires_payment_method at Stripe" in found[0].detail
    assert "not found at Stripe" in found[1].detail


def test_amounts_and_refunds_that_disagree():
    found = differences([at_stripe("pi_1", amount=5000), at_stripe("pi_2", refunded=3750, booking="b2")],
                        [here("pi_1"), here("pi_2", booking="b2", status="partially_refunded", refunded=2000)])
    assert kinds(found) == [("amount", "pi_1", "b1"), ("refunded", "pi_2", "b2")]
    assert found[0].detail == "75.00 USD here, 50.00 USD at Stripe"
    assert found[1].detail == "20.00 USD refunded here, 37.50 USD at Stripe"
