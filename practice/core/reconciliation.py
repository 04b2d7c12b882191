"""Reconciliation: Stripe's PaymentIntents beside the practice's payment rows, and every way they disagree.

Stripe is the source of truth for money; a difference is something staff must look at:
    missing   Stripe took a payment the practice does not show as paid (no booking, no payment row, or a row
              not marked paid)
    extra     the practice shows a payment as paid that Stripe did not take (not succeeded there, or not found)
    amount    both agree it was paid, not on how much
    refunded  both agree it was paid, not on how much of it was refunded
Pure: no Flask, no database, no Stripe; the caller gathers both sides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

PAID_HERE = ("succeeded", "partially_refunded", "refunded")
KINDS = ("missing", "extra", "amount", "refunded")


@dataclass(frozen=True)
class AtStripe:
    """A PaymentIntent as Stripe has it; amount_refunded from its charge."""
    intent_id: str
    status: str  # Stripe's: succeeded, requires_payment_method, processing, canceled ...
    amount: int
    currency: str
    amount_refunded: int
    booking_id: str | None  # from its metadata; None for a payment this app did not start


@dataclass(frozen=True)
class Here:
    """A payment row of the practice."""
    intent_id: str | None
    booking_id: str
    status: str  # PaymentStatus value
    amount: int
    currency: str
    amount_refunded: int


@dataclass(frozen=True)
class Difference:
    kind: str
    intent_id: str | None
    booking_id: str | None
    detail: str

    def line(self) -> str:
        return f"{self.kind:<8}  {self.intent_id or '-':<28}  booking {self.booking_id or '-'}  {self.detail}"


def _cents(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


def differences(at_stripe: Iterable[AtStripe], here: Iterable[Here]) -> list[Difference]:
    """Every difference, Stripe's side first (in the order given), then rows Stripe has no intent for.

    `at_stripe` holds the intents listed for the period and any the caller looked up for rows paid here;
    `here` holds the rows of the period and any row of an intent or booking that Stripe names."""
    at_stripe, here = list(at_stripe), list(here)
    stripe_ids = {s.intent_id for s in at_stripe}
    rows_by_intent = {r.intent_id: r for r in here if r.intent_id}
    rows_by_booking = {r.booking_id: r for r in here}
    found: list[Difference] = []
    for s in at_stripe:
        row = rows_by_intent.get(s.intent_id)
        if s.status != "succeeded":
            if row is not None and row.status in PAID_HERE:
                found.append(Difference("extra", s.intent_id, row.booking_id,
                                        f"marked {row.status} here, but {s.status} at Stripe"))
            continue
        if row is None:
            found.append(Difference("missing", s.intent_id, s.booking_id,
                                    f"Stripe took {_cents(s.amount, s.currency)}: {_why_no_row(s, rows_by_booking)}"))
            continue
        if row.status not in PAID_HERE:
            found.append(Difference("missing", s.intent_id, row.booking_id,
                                    f"Stripe took {_cents(s.amount, s.currency)}, but here it is {row.status}"))
            continue
        if (row.amount, row.currency.upper()) != (s.amount, s.currency.upper()):
            found.append(Difference("amount", s.intent_id, row.booking_id,
                                    f"{_cents(row.amount, row.currency)} here, {_cents(s.amount, s.currency)} at "
                                    "Stripe"))
        if row.amount_refunded != s.amount_refunded:
            found.append(Difference("refunded", s.intent_id, row.booking_id,
                                    f"{_cents(row.amount_refunded, row.currency)} refunded here, "
                                    f"{_cents(s.amount_refunded, s.currency)} at Stripe"))
    for row in here:
        if row.status in PAID_HERE and row.intent_id not in stripe_ids:
            where = f"its PaymentIntent {row.intent_id}" if row.intent_id else "it has no PaymentIntent, and"
            found.append(Difference("extra", row.intent_id, row.booking_id,
                                    f"marked {row.status} here, but {where} is not found at Stripe"))
    return found


def _why_no_row(s: AtStripe, rows_by_booking: dict[str, Here]) -> str:
    if not s.booking_id:
        return "it names no booking"
    other = rows_by_booking.get(s.booking_id)
    if other is None:
        return "no payment for its booking here"
    return f"the booking's payment here is another one ({other.intent_id or 'none'}, {other.status})"
