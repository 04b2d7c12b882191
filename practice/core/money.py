"""Amounts as people type them ("75", "$37.50", "1,200") and as the practice keeps them: whole minor units
(cents). Pure: no Flask, no database."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_AMOUNT = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$", re.ASCII)  # without ASCII, \d takes "٣" too
LARGEST = 1_000_000_00  # a million dollars: anything above is a typing slip, not a session's price


class AmountInvalid(ValueError):
    """The text is not an amount of money; the message says what to type instead."""


def parse_amount(text: str | None) -> int:
    """Dollars and cents as typed, in cents. Zero is allowed; callers that need more say so themselves."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise AmountInvalid("Enter an amount in dollars, like 25 or 37.50.")
    if not _AMOUNT.match(cleaned):
        raise AmountInvalid("Enter an amount in dollars and cents, like 25 or 37.50 (no more than two decimals).")
    try:
        cents = int(Decimal(cleaned.lstrip("$").strip().replace(",", "")) * 100)
    except InvalidOperation:  # the pattern admits only numbers; kept so no input can raise anything else
        raise AmountInvalid("Enter an amount in dollars, like 25 or 37.50.") from None
    if cents > LARGEST:
        raise AmountInvalid("That amount is too large.")
    return cents


def as_dollars(cents: int) -> str:
    """Cents as a form shows them back: 3750 -> "37.50", 7500 -> "75"."""
    whole, part = divmod(cents, 100)
    return f"{whole}" if part == 0 else f"{whole}.{part:02d}"
