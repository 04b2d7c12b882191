"""The practice's cancellation policy: what a client gets back when they cancel a paid session, and how to say so.

A client who cancels at least `notice` before the session is refunded whatever is left of what they paid. Later
than that, the practice's late-cancellation rule applies (PracticeSettings.late_cancel_policy):
    fee_none     refunded in full all the same
    fee_fixed    a fixed fee is kept (never more than was paid), the rest refunded
    fee_percent  a percentage of what was paid is kept (rounded half up to the cent), the rest refunded
    no_refund    nothing is refunded
Amounts are whole minor units (cents). Pure: no Flask, no database; time is passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

KINDS = ("fee_none", "fee_fixed", "fee_percent", "no_refund")
KIND_LABELS = {
    "fee_none": "No fee: refund in full however late",
    "fee_fixed": "Keep a fixed fee",
    "fee_percent": "Keep a percentage of the price",
    "no_refund": "No refund",
}

Money = Callable[[int], str]  # cents -> "$37.50", in the currency of the payment


@dataclass(frozen=True)
class CancellationPolicy:
    notice: timedelta  # a cancellation at least this long before the start is refunded in full
    kind: str = "fee_none"
    fee: int = 0  # kept by fee_fixed, in minor units
    percent: int = 0  # kept by fee_percent, 0-100

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown late-cancellation policy {self.kind!r}")
        if self.fee < 0 or not 0 <= self.percent <= 100 or self.notice < timedelta(0):
            raise ValueError("a fee, percentage or notice out of range")


def late_fee(paid: int, policy: CancellationPolicy) -> int:
    """What the practice keeps of `paid` when a client cancels after the notice."""
    if policy.kind == "fee_fixed":
        return min(policy.fee, paid)
    if policy.kind == "fee_percent":
        return (paid * policy.percent + 50) // 100  # half up, in whole cents, without floats
    if policy.kind == "no_refund":
        return paid
    return 0


def free_until(starts_at: datetime, policy: CancellationPolicy) -> datetime:
    """The last moment a cancellation is refunded in full (inclusive, as booking's free change window)."""
    return starts_at - policy.notice


def refund_on_cancel(paid: int, already_refunded: int, *, starts_at: datetime, now: datetime,
                     policy: CancellationPolicy) -> int:
    """What to refund when the client cancels at `now`: what is left of `paid` before the notice; after it,
    what is left once the late fee is kept. What was refunded already counts towards what the client gets
    back, so the practice keeps the fee and no more, and nothing is ever refunded twice."""
    if paid < 0 or already_refunded < 0:
        raise ValueError("amounts are never negative")
    kept = 0 if now <= free_until(starts_at, policy) else late_fee(paid, policy)
    return max(0, paid - already_refunded - kept)


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling means for one booking's payment, either side of the deadline."""
    kind: str
    deadline: datetime  # cancelling up to this moment refunds `full`
    full: int  # refunded by the deadline: all that is left of the payment
    late: int  # refunded after the deadline

    @property
    def kept(self) -> int:
        """What the practice keeps after the deadline."""
        return self.full - self.late


def terms(paid: int, already_refunded: int, *, starts_at: datetime, policy: CancellationPolicy) -> CancellationTerms:
    deadline = free_until(starts_at, policy)
    return CancellationTerms(
        kind=policy.kind, deadline=deadline,
        full=refund_on_cancel(paid, already_refunded, starts_at=starts_at, now=deadline, policy=policy),
        late=refund_on_cancel(paid, already_refunded, starts_at=starts_at, now=deadline + timedelta(microseconds=1),
                              policy=policy),
    )


def explain(t: CancellationTerms, *, now: datetime, money: Money, deadline: str) -> str:
    """What cancelling this booking gives back, in one or two plain sentences. `deadline` is t.deadline as
    the reader reads times ("Tue, Dec 8, 10:00 AM EST"). Empty when nothing is left to refund."""
    if t.full == 0:
        return ""
    if t.kept == 0:
        return f"You can cancel at any time before the session for a full refund of {money(t.full)}."
    late = (f"{money(t.kept)} is kept as a late-cancellation fee and {money(t.late)} is refunded" if t.late
            else "nothing is refunded")
    if now <= t.deadline:
        return f"Cancel by {deadline} for a full refund of {money(t.full)}; after that, {late}."
    return f"The time for a full refund ended {deadline}. If you cancel now, {late}."


def describe(policy: CancellationPolicy, *, money: Money) -> str:
    """The policy in general, for the policies page and for staff: no particular price."""
    kind, percent = policy.kind, policy.percent
    if kind == "fee_none" or (kind == "fee_percent" and percent == 0) or (kind == "fee_fixed" and policy.fee == 0):
        return "If you cancel a paid session, you're refunded in full, however late you cancel."
    first = f"Cancel at least {notice_text(policy.notice)} before a paid session for a full refund."
    if kind == "no_refund" or (kind == "fee_percent" and percent == 100):
        return f"{first} If you cancel later than that, nothing is refunded."
    if kind == "fee_fixed":
        return (f"{first} If you cancel later than that, {money(policy.fee)} is kept as a late-cancellation fee "
                "(never more than you paid) and the rest is refunded.")
    return (f"{first} If you cancel later than that, {percent}% of what you paid is kept as a late-cancellation "
            "fee and the rest is refunded.")


def notice_text(notice: timedelta) -> str:
    """24 hours, 1 hour, 90 minutes."""
    minutes = int(notice.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"
