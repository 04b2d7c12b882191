"""The cancellation policy: what a client gets back, either side of the notice, and how it is said."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practice.core.cancellation import (
    KINDS, CancellationPolicy, describe, explain, late_fee, notice_text, refund_on_cancel, terms,
)

START = datetime(2026, 12, 8, 15, 0, tzinfo=timezone.utc)
DAY = timedelta(hours=24)


def dollars(cents: int) -> str:
    return f"${cents / 100:.2f}"


def policy(kind="fee_none", fee=0, percent=0) -> CancellationPolicy:
    return CancellationPolicy(notice=DAY, kind=kind, fee=fee, percent=percent)


@pytest.mark.parametrize("kind", KINDS)
def test_cancelling_before_the_notice_refunds_everything_left_whatever_the_policy(kind):
    rule = policy(kind, fee=2500, percent=50)
    assert refund_on_cancel(7500, 0, starts_at=START, now=START - DAY - timedelta(minutes=1), policy=rule) == 7500
    # exactly at the notice still counts as in time, as the booking's free change window does
    assert refund_on_cancel(7500, 0, starts_at=START, now=START - DAY, policy=rule) == 7500
    assert refund_on_cancel(7500, 1000, starts_at=START, now=START - 2 * DAY, policy=rule) == 6500


@pytest.mark.parametrize("rule, refunded", [
    (policy("fee_none"), 7500),
    (policy("fee_fixed", fee=2500), 5000),
    (policy("fee_fixed", fee=9900), 0),  # a fee above the price keeps the price, no more
    (policy("fee_percent", percent=50), 3750),
    (policy("fee_percent", percent=100), 0),
    (policy("no_refund"), 0),
])
def test_cancelling_late_keeps_the_fee(rule, refunded):
    late = START - timedelta(hours=3)
    assert refund_on_cancel(7500, 0, starts_at=START, now=late, policy=rule) == refunded


def test_a_percentage_is_rounded_half_up_to_the_cent():
    assert late_fee(7525, policy("fee_percent", percent=50)) == 3763  # 3762.5
    assert late_fee(7524, policy("fee_percent", percent=50)) == 3762
    assert late_fee(999, policy("fee_percent", percent=33)) == 330  # 329.67
    assert late_fee(1001, policy("fee_percent", percent=15)) == 150  # 150.15


def test_what_was_refunded_already_counts_towards_what_the_client_gets_back():
    late = START - timedelta(hours=1)
    rule = policy("fee_percent", percent=50)
    # 75 paid, 30 given back by staff: the practice keeps 37.50, so 7.50 more is refunded, not 37.50
    assert refund_on_cancel(7500, 3000, starts_at=START, now=late, policy=rule) == 750
    assert refund_on_cancel(7500, 5000, starts_at=START, now=late, policy=rule) == 0


def test_a_policy_out_of_range_is_refused():
    for bad in (dict(kind="fee_sometimes"), dict(kind="fee_fixed", fee=-1), dict(kind="fee_percent", percent=101)):
        with pytest.raises(ValueError):
            CancellationPolicy(notice=DAY, **bad)


def test_the_terms_of_a_booking_say_the_deadline_and_both_amounts():
    t = terms(7500, 0, starts_at=START, policy=policy("fee_percent", percent=50))
    assert (t.deadline, t.full, t.late, t.kept) == (START - DAY, 7500, 3750, 3750)
    before = explain(t, now=START - 2 * DAY, money=dollars, deadline="Mon, Dec 7, 10:00 AM EST")
    assert before == ("Cancel by Mon, Dec 7, 10:00 AM EST for a full refund of $75.00; after that, $37.50 is kept "
                      "as a late-cancellation fee and $37.50 is refunded.")
    after = explain(t, now=START - timedelta(hours=2), money=dollars, deadline="Mon, Dec 7, 10:00 AM EST")
    assert after == ("The time for a full refund ended Mon, Dec 7, 10:00 AM EST. If you cancel now, $37.50 is kept "
                     "as a late-cancellation fee and $37.50 is refunded.")


def test_the_words_for_each_kind_of_policy():
    def said(rule, paid=7500):
        return explain(terms(paid, 0, starts_at=START, policy=rule), now=START - 2 * DAY, money=dollars,
                       deadline="Dec 7")

    assert said(policy("fee_none")) == "You can cancel at any time before the session for a full refund of $75.00."
    assert said(policy("no_refund")) == "Cancel by Dec 7 for a full refund of $75.00; after that, nothing is refunded."
    assert said(policy("fee_fixed", fee=2000)) == ("Cancel by Dec 7 for a full refund of $75.00; after that, $20.00 "
                                                   "is kept as a late-cancellation fee and $55.00 is refunded.")
    assert said(policy("fee_fixed", fee=2000), paid=0) == ""  # nothing paid, nothing to say


def test_the_policy_in_general():
    assert describe(policy("fee_percent", percent=50), money=dollars) == (
        "Cancel at least 24 hours before a paid session for a full refund. If you cancel later than that, 50% of "
        "what you paid is kept as a late-cancellation fee and the rest is refunded.")
    assert describe(policy("fee_fixed", fee=2500), money=dollars).endswith(
        "$25.00 is kept as a late-cancellation fee (never more than you paid) and the rest is refunded.")
    assert describe(policy("no_refund"), money=dollars).endswith("If you cancel later than that, nothing is refunded.")
    assert describe(policy("fee_none"), money=dollars) == (
        "If you cancel a paid session, you're refunded in full, however late you cancel.")
    assert [notice_text(timedelta(hours=h)) for h in (1, 48)] == ["1 hour", "48 hours"]
    assert notice_text(timedelta(minutes=90)) == "90 minutes"


# --- properties ------------------------------------------------------------------------------------------

policies = st.builds(CancellationPolicy, notice=st.integers(0, 72).map(lambda h: timedelta(hours=h)),
                     kind=st.sampled_from(KINDS), fee=st.integers(0, 50_000), percent=st.integers(0, 100))
moments = st.integers(-5 * 24 * 60, 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))


@st.composite
def payments(draw):
    paid = draw(st.integers(0, 100_000))
    return paid, draw(st.integers(0, paid))


@given(policies, payments(), moments)
def test_a_refund_is_never_negative_nor_more_than_is_left(rule, payment, now):
    paid, already = payment
    refund = refund_on_cancel(paid, already, starts_at=START, now=now, policy=rule)
    assert 0 <= refund <= paid - already


@given(policies, payments(), moments, moments)
def test_cancelling_later_never_gives_back_more(rule, payment, one, other):
    paid, already = payment
    earlier, later = sorted((one, other))
    assert (refund_on_cancel(paid, already, starts_at=START, now=later, policy=rule)
            <= refund_on_cancel(paid, already, starts_at=START, now=earlier, policy=rule))


@given(policies, payments())
def test_the_practice_never_keeps_more_than_its_fee(rule, payment):
    paid, already = payment
    late = refund_on_cancel(paid, already, starts_at=START, now=START, policy=rule)
    assert paid - already - late <= late_fee(paid, rule)
    assert late_fee(paid, rule) <= paid
